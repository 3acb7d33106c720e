"""Small navigation trees written to files, for the tests that load them (no device needed).

``tree_dir`` is a folder of flat-colour stand-in images (home, live, guide, settings, about);
``write_tree`` writes a tree of those nodes with the given edges (``EDGES``: a tree in which
every node is reachable, two ways lead to the guide and ``*`` goes home); ``line_of`` finds
the line an error must name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def tree_dir(tmp_path):
    for name in ("home", "live", "guide", "settings", "about"):
        Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(tmp_path / f"{name}.png")
    return tmp_path


def write_tree(folder, edges: str, nodes=("home", "live", "guide", "settings", "about")):
    text = "".join(f'[nodes.{n}]\nimage = "{n}.png"\n' for n in nodes) + edges
    path = folder / "nav.toml"
    path.write_text(text)
    return path


def line_of(path: Path, needle: str, nth: int = 0) -> int:
    """The 1-based line of the ``nth`` line containing ``needle`` (what errors must name)."""
    hits = [i + 1 for i, line in enumerate(path.read_text().splitlines()) if needle in line]
    return hits[nth]


EDGES = """
[[edges]]
from = "*"
to = "home"
keys = ["KEY_HOME"]
[[edges]]
from = "home"
to = "live"
keys = ["KEY_OK"]
[[edges]]
from = "home"
to = "settings"
keys = ["KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_OK"]
[[edges]]
from = "live"
to = "guide"
keys = ["KEY_EPG"]
[[edges]]
from = "home"
to = "guide"
keys = ["KEY_RIGHT", "KEY_RIGHT", "KEY_OK"]
[[edges]]
from = "settings"
to = "about"
keys = ["KEY_DOWN", "KEY_DOWN", "KEY_DOWN", "KEY_DOWN", "KEY_OK"]
"""

"""Navigation trees: loading, validation and pathfinding (no device needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.navigation import load_tree, shortest_path


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


def test_shortest_path_counts_key_presses(tree_dir):
    tree = load_tree(write_tree(tree_dir, EDGES))
    path = shortest_path(tree, "home", "guide")
    assert [e.keys for e in path] == [("KEY_OK",), ("KEY_EPG",)]  # 2 presses beat 3
    assert [e.target for e in shortest_path(tree, "about", "live")] == ["home", "live"]
    assert shortest_path(tree, "home", "home") == []


def test_unknown_screen_recovers_through_anywhere_edges(tree_dir):
    tree = load_tree(write_tree(tree_dir, EDGES))
    assert [e.target for e in shortest_path(tree, None, "about")] == ["home", "settings", "about"]


def test_unreachable_node_has_no_path(tree_dir):
    one_way = '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["KEY_OK"]\n'
    tree = load_tree(write_tree(tree_dir, one_way))
    assert shortest_path(tree, "live", "home") is None


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ('[[edges]]\nfrom = "home"\nto = "nowhere"\nkeys = ["KEY_OK"]\n', "unknown node 'nowhere'"),
        ('[[edges]]\nfrom = "home"\nkeys = ["KEY_OK"]\n', "lacks 'to'"),
        ('[[edges]]\nfrom = "home"\nto = "live"\nkeys = []\n', "at least one key"),
        ("[[edges]\n", "not valid TOML"),
    ],
)
def test_bad_trees_are_explained(tree_dir, edges, message):
    with pytest.raises(ConfigError, match=message):
        load_tree(write_tree(tree_dir, edges))


def test_missing_image_is_explained(tree_dir):
    (tree_dir / "about.png").unlink()
    with pytest.raises(ConfigError, match="about.png does not exist"):
        load_tree(write_tree(tree_dir, EDGES))

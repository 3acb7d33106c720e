"""Navigation trees: the screens of a device and the keys that move between them.

A tree is a TOML file next to its reference images::

    [nodes.home]
    image = "images/home.png"          # recognises the node (relative to this file)
    region = [0, 0, 1280, 120]         # optional: where to look

    [nodes.settings]
    image = "images/settings.png"

    [[edges]]
    from = "home"
    to = "settings"
    keys = ["KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_OK"]

    [[edges]]
    from = "*"                         # from anywhere, even an unknown screen
    to = "home"
    keys = ["KEY_HOME"]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.vision import Region

ANYWHERE = "*"


@dataclass(frozen=True)
class Node:
    name: str
    image: Path
    region: Region = Region.ALL


@dataclass(frozen=True)
class Edge:
    source: str  # a node name, or ANYWHERE
    target: str
    keys: tuple[str, ...]
    timeout_secs: float = 5.0


@dataclass
class NavigationTree:
    nodes: dict[str, Node]
    edges: list[Edge] = field(default_factory=list)

    def edges_from(self, node: str | None) -> list[Edge]:
        """Edges usable from ``node`` (None: an unrecognised screen)."""
        return [e for e in self.edges if e.source == ANYWHERE or e.source == node]


def load_tree(path: Path) -> NavigationTree:
    """Load and validate a navigation tree; every mistake is a :class:`ConfigError`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"navigation tree {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    nodes = {}
    for name, entry in data.get("nodes", {}).items():
        if "image" not in entry:
            raise ConfigError(f"{path}: node {name!r} needs image = 'reference.png'")
        image = path.parent / entry["image"]
        if not image.exists():
            raise ConfigError(f"{path}: node {name!r}: image {image} does not exist")
        region = Region(*entry["region"]) if "region" in entry else Region.ALL
        nodes[name] = Node(name, image, region)
    if not nodes:
        raise ConfigError(f"{path} defines no [nodes.NAME]")
    edges = []
    for i, entry in enumerate(data.get("edges", [])):
        try:
            src, dst, keys = entry["from"], entry["to"], tuple(entry["keys"])
        except KeyError as e:
            raise ConfigError(f"{path}: edges[{i}] lacks {e.args[0]!r}") from None
        for end in (src, dst):
            if end != ANYWHERE and end not in nodes:
                raise ConfigError(
                    f"{path}: edges[{i}] names unknown node {end!r}; nodes: " + ", ".join(nodes)
                )
        if dst == ANYWHERE or not keys:
            raise ConfigError(f"{path}: edges[{i}] needs a real target and at least one key")
        edges.append(Edge(src, dst, keys, float(entry.get("timeout", 5.0))))
    return NavigationTree(nodes, edges)

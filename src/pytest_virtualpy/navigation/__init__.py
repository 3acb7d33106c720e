"""Navigation trees: model, loading, pathfinding, localisation and recovery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytest_virtualpy.navigation.model import Edge, NavigationTree, Node, load_tree
from pytest_virtualpy.navigation.navigator import Navigator
from pytest_virtualpy.navigation.pathfinding import shortest_path

__all__ = [
    "Edge",
    "NavigationTree",
    "Navigator",
    "Node",
    "load_tree",
    "navigator_factory",
    "shortest_path",
]


def navigator_factory(path: Path) -> Callable[..., Navigator]:
    """Load the tree once; return a function making a Navigator per test."""
    tree = load_tree(path)
    return lambda remote, tv_screen: Navigator(tree, remote, tv_screen)

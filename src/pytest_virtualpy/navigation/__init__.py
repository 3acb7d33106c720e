"""Navigation trees: model, loading, pathfinding, localisation, walking and recovery.

>>> tree = load_tree("examples/navigation.toml")          # doctest: +SKIP
>>> [e.target for e in shortest_path(tree, "about", "guide")]   # doctest: +SKIP
['home', 'guide']
"""

from __future__ import annotations

from pytest_virtualpy.navigation.costs import EdgeCosts, EdgeStats
from pytest_virtualpy.navigation.model import (
    ANYWHERE,
    AllOf,
    AnyOf,
    Edge,
    ImageCheck,
    NavigationTree,
    Node,
    Recogniser,
    Settle,
    TextCheck,
    load_tree,
)
from pytest_virtualpy.navigation.navigator import Navigator
from pytest_virtualpy.navigation.pathfinding import shortest_path
from pytest_virtualpy.navigation.served import SessionNavigation, load_served_tree

__all__ = [
    "ANYWHERE",
    "AllOf",
    "AnyOf",
    "Edge",
    "EdgeCosts",
    "EdgeStats",
    "ImageCheck",
    "NavigationTree",
    "Navigator",
    "Node",
    "Recogniser",
    "SessionNavigation",
    "Settle",
    "TextCheck",
    "load_served_tree",
    "load_tree",
    "shortest_path",
]

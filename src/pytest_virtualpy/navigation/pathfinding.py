"""The cheapest way through a navigation tree, with networkx's Dijkstra.

The tree's graph has ``"*"`` (from any screen) as a node of its own; planning uses a
copy in which every ``"*"`` edge also leaves every node, so a plan may start with
KEY_HOME from anywhere. An unrecognised screen (``start=None``) can only take ``"*"``
edges. Edge weights come from a ``cost(edge)`` function (seconds, see
:mod:`~pytest_virtualpy.navigation.costs`); the default counts key presses.

>>> [e.target for e in shortest_path(tree, "about", "live_tv")]   # doctest: +SKIP
['home', 'live_tv']
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable

import networkx as nx

from pytest_virtualpy.navigation.model import ANYWHERE, Edge, NavigationTree

#: a tiny extra cost per key, so that of two equally priced routes the shorter one wins
KEY_TIE_BREAK = 1e-6

_graphs: weakref.WeakKeyDictionary[NavigationTree, nx.MultiDiGraph] = weakref.WeakKeyDictionary()


def planning_graph(tree: NavigationTree) -> nx.MultiDiGraph:
    """``tree.graph`` with every ``"*"`` edge copied onto every node but its target (and
    but interrupt nodes, which only their own edges leave).

    >>> planning_graph(tree).has_edge("about", "home")   # doctest: +SKIP
    True
    """
    g = _graphs.get(tree)
    if g is None:
        g = tree.graph.copy()
        for edge in tree.edges:
            if edge.source == ANYWHERE:
                for name in tree.nodes:
                    if name != edge.target and not tree.node(name).interrupt:
                        g.add_edge(name, edge.target, edge=edge)
        _graphs[tree] = g
    return g


def key_count(edge: Edge) -> float:
    """The default cost: how many keys the edge presses."""
    return float(len(edge.keys))


def shortest_path(
    tree: NavigationTree,
    start: str | None,
    goal: str,
    cost: Callable[[Edge], float] = key_count,
) -> list[Edge] | None:
    """The cheapest edges from ``start`` (None: an unrecognised screen) to ``goal``.

    Returns ``[]`` if already there and None if ``goal`` cannot be reached.

    >>> [e.keys for e in shortest_path(tree, "home", "guide")]   # doctest: +SKIP
    [('KEY_LEFT', 'KEY_LEFT', 'KEY_LEFT', 'KEY_LEFT', 'KEY_LEFT', 'KEY_RIGHT', 'KEY_OK')]
    """
    if start == goal:
        return []
    g = planning_graph(tree)
    source = ANYWHERE if start is None else start
    if source not in g or goal not in g:
        return None

    def price(edge: Edge) -> float:
        return max(0.0, float(cost(edge))) + KEY_TIE_BREAK * len(edge.keys)

    def weight(u: str, v: str, parallel: dict) -> float:
        return min(price(d["edge"]) for d in parallel.values())

    try:
        nodes = nx.dijkstra_path(g, source, goal, weight=weight)
    except nx.NetworkXNoPath:
        return None
    return [
        min((d["edge"] for d in g[u][v].values()), key=price) for u, v in itertools.pairwise(nodes)
    ]

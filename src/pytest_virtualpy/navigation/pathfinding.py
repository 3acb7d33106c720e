"""Shortest key paths through a navigation tree."""

from __future__ import annotations

import heapq
import itertools

from pytest_virtualpy.navigation.model import Edge, NavigationTree


def shortest_path(tree: NavigationTree, start: str | None, goal: str) -> list[Edge] | None:
    """The path with the fewest key presses from ``start`` (None: unknown screen) to ``goal``.

    Returns ``[]`` if already there and None if ``goal`` is unreachable.
    """
    tie = itertools.count()
    frontier: list[tuple[int, int, str | None, list[Edge]]] = [(0, next(tie), start, [])]
    settled: set[str | None] = set()
    while frontier:
        cost, _, node, path = heapq.heappop(frontier)
        if node == goal:
            return path
        if node in settled:
            continue
        settled.add(node)
        for edge in tree.edges_from(node):
            if edge.target not in settled:
                heapq.heappush(
                    frontier, (cost + len(edge.keys), next(tie), edge.target, [*path, edge])
                )
    return None

"""Drive a device to a navigation node: localise, plan, press, verify, recover."""

from __future__ import annotations

import time

from pytest_virtualpy.errors import MatchTimeout, NavigationError, UnknownNodeError
from pytest_virtualpy.navigation.model import NavigationTree
from pytest_virtualpy.navigation.pathfinding import shortest_path


class Navigator:
    """Moves the device along a :class:`NavigationTree` using the remote and the screen."""

    def __init__(self, tree: NavigationTree, remote, tv_screen, max_hops: int = 12):
        self.tree = tree
        self.remote = remote
        self.screen = tv_screen
        self.max_hops = max_hops

    def current_node(self) -> str | None:
        """The first node whose reference image matches the current screen."""
        for node in self.tree.nodes.values():
            if self.screen.match(node.image, region=node.region):
                return node.name
        return None

    def _wait_for(self, node_name: str, timeout: float) -> bool:
        node = self.tree.nodes[node_name]
        try:
            self.screen.wait_for_match(node.image, timeout=timeout, region=node.region)
            return True
        except MatchTimeout:
            return False

    def navigate_to(self, target: str, timeout: float = 30.0) -> None:
        """Reach ``target`` or raise :class:`NavigationError` saying where it got stuck.

        A ``target`` the tree does not define is the test's mistake: :class:`UnknownNodeError`.
        """
        if target not in self.tree.nodes:
            raise UnknownNodeError(
                f"unknown navigation node {target!r}; the tree defines: "
                f"{', '.join(self.tree.nodes)} (see docs/navigation.md to add one)"
            )
        deadline = time.monotonic() + timeout
        history: list[str] = []
        for _ in range(self.max_hops):
            here = self.current_node()
            if here == target:
                return
            path = shortest_path(self.tree, here, target)
            if not path:
                raise NavigationError(
                    f"no path from {here or 'an unrecognised screen'} to {target!r} in the "
                    "navigation tree; add an edge (a '*' edge to a hub node gives recovery)"
                )
            edge = path[0]
            for key in edge.keys:
                self.remote.press(key)
            history.append(f"{here or '?'} -{'+'.join(edge.keys)}-> {edge.target}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wait_for(edge.target, min(edge.timeout_secs, remaining))
        raise NavigationError(
            f"could not reach {target!r}; steps taken: {'; '.join(history) or 'none'}; "
            f"now on {self.current_node() or 'an unrecognised screen'}"
        )

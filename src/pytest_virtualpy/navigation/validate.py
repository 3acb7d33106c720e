"""``pytest --nav-validate=TREE``: walk every edge of a tree on the device, report each.

New firmware moves a menu item, and a navigation tree silently goes stale. This checks
the whole tree in one run: :func:`covering_walk` orders every edge of the tree into one
walk with few key presses (greedy: from where the walk is, go to the nearest edge not
yet walked, walking any unwalked edge on the way), and each edge of that walk becomes a
pytest item ``nav-validate::test_edge[N:FROM->TO]``. An item goes to its edge's start
(:meth:`Navigator.navigate_to`; normally it is already there, where the walk left it),
presses the edge's keys once (:meth:`Navigator.follow`) and fails, saying what the screen
shows instead (the plugin saves the screenshot), when the target does not appear. The
terminal summary lists the edges that failed and why. Other tests of the run are
deselected: this is a validation run; ``-k`` and ``-m`` pick among the edges' items as
among any tests (the summary counts the edges picked). Items run in walk order on one
device (not with ``-n``).

A ``"*"`` edge (from any screen) is walked from a node other than its target, so that
its keys have something to do.

>>> walk = covering_walk(load_tree("examples/navigation.toml"))   # doctest: +SKIP
>>> [f"{s.start}->{s.edge.target}" for s in walk][:3]             # doctest: +SKIP
['home->live_tv', 'live_tv->guide', 'guide->live_tv']
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import pytest

from pytest_virtualpy.errors import ConfigError, NavigationError
from pytest_virtualpy.navigation.costs import EdgeCosts
from pytest_virtualpy.navigation.model import ANYWHERE, Edge, NavigationTree, load_tree
from pytest_virtualpy.navigation.pathfinding import planning_graph

PLUGIN_NAME = "virtualpy-nav-validate"


@dataclass(frozen=True)
class WalkStep:
    """One edge of the walk, and the node the walk takes it from (``edge.source``, or
    for a ``"*"`` edge the node the walk is on)."""

    edge: Edge
    start: str

    @property
    def name(self) -> str:
        return f"{self.start}->{self.edge.target}"


def _presses(_u, _v, data: dict) -> float:
    """Dijkstra weight on a multigraph: the fewest keys of the parallel edges."""
    return min(len(d["edge"].keys) for d in data.values())


def covering_walk(tree: NavigationTree, start: str | None = None) -> list[WalkStep]:
    """Every edge of ``tree`` once, in an order that needs few key presses in all.

    ``start`` (default: the target of the first ``"*"`` edge, else the first node) is
    where the walk begins. An edge whose start cannot be reached from where the walk is
    still gets its step (its test will say that it cannot be reached).

    >>> [s.name for s in covering_walk(tree, "home")]   # doctest: +SKIP
    ['home->live_tv', 'live_tv->guide', 'guide->live_tv', ...]
    """
    graph = planning_graph(tree)
    anywhere = [e for e in tree.edges if e.source == ANYWHERE]
    here = start or (anywhere[0].target if anywhere else tree.nodes[0])
    todo = list(tree.edges)  # file order breaks ties
    walk: list[WalkStep] = []

    def take(edge: Edge, at: str) -> None:
        walk.append(WalkStep(edge, at))
        todo.remove(edge)

    while todo:
        dist, paths = nx.single_source_dijkstra(graph, here, weight=_presses)
        best: tuple[float, Edge, str] | None = None
        for edge in todo:
            if edge.source != ANYWHERE:
                options = [(dist[edge.source], edge.source)] if edge.source in dist else []
            elif here != edge.target:
                options = [(0.0, here)]
            else:  # step off its target first: to the nearest other node
                other = min(
                    ((d, n) for n, d in dist.items() if n not in (here, ANYWHERE)), default=None
                )
                options = [] if other is None else [other]
            if options and (best is None or options[0][0] < best[0]):
                best = (options[0][0], edge, options[0][1])
        if best is None:  # nothing reachable from here: each remaining edge fails alone
            for edge in list(todo):
                take(edge, edge.source if edge.source != ANYWHERE else here)
            break
        _, edge, at = best
        path = paths[at]
        for u, v in itertools.pairwise(path):  # walk unwalked edges on the way
            hop = min(
                (d["edge"] for d in graph.get_edge_data(u, v).values()),
                key=lambda e: len(e.keys),
            )
            if hop in todo:
                take(hop, u)
        take(edge, at)
        here = edge.target
    return walk


def walk_presses(tree: NavigationTree, walk: list[WalkStep]) -> int:
    """Key presses of the whole walk, the moves between its steps included (a step
    whose start cannot be reached, e.g. an interrupt node's, is not walked)."""
    graph = planning_graph(tree)
    total, here = 0, walk[0].start if walk else None
    for step in walk:
        if here != step.start:
            try:
                total += int(nx.dijkstra_path_length(graph, here, step.start, weight=_presses))
            except nx.NetworkXNoPath:
                continue
        total += len(step.edge.keys)
        here = step.edge.target
    return total


@dataclass
class Outcome:
    """How one step of the walk went: ``reason`` is why it failed (None: it passed)."""

    step: WalkStep
    reason: str | None = None
    skipped: bool = False


@dataclass
class NavValidation:
    """The plugin object of a ``--nav-validate`` run (registered by the plugin)."""

    tree: NavigationTree
    walk: list[WalkStep]
    #: past walks from the results database, per model (set at session start)
    history: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)
    costs: EdgeCosts | None = None  # see costs_for
    outcomes: list[Outcome] = field(default_factory=list)
    #: the steps left to run once collection is done (-k / -m may deselect some)
    selected: list[WalkStep] | None = None

    @classmethod
    def from_option(cls, path: Path) -> NavValidation:
        """The validation of the tree at ``path`` (a ConfigError if it does not load)."""
        tree = load_tree(path)
        return cls(tree, covering_walk(tree))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ):
        """Replace the collected tests by one item per step of the walk, before the other
        hooks (pytest's -k and -m among them) run on them; then put what they left back
        in walk order."""
        from pytest_virtualpy.navigation import validate_edges

        module = pytest.Module.from_parent(
            session, path=Path(validate_edges.__file__), nodeid="nav-validate"
        )
        if items:
            config.hook.pytest_deselected(items=list(items))
        ours = list(session.genitems(module))  # reported as collected, like any test's
        items[:] = ours
        result = yield
        mine, left = {id(item) for item in ours}, {id(item) for item in items}
        if foreign := [item for item in items if id(item) not in mine]:  # a plugin's
            config.hook.pytest_deselected(items=foreign)
        items[:] = [item for item in ours if id(item) in left]
        self.selected = [item.callspec.params["nav_step"] for item in items]
        return result

    def costs_for(self, model: str) -> EdgeCosts:
        """The walk's edge costs: ``model``'s results history, pooled with what this run
        measures (one device walks the whole tree), to plan the way to each step."""
        if self.costs is None:
            self.costs = EdgeCosts.from_history(self.history.get(model, {}))
        return self.costs

    def run(self, step: WalkStep, navigator) -> None:
        """Walk one step; record and raise (a failed test) when it does not arrive."""
        edge = step.edge
        outcome = Outcome(step)
        self.outcomes.append(outcome)
        here = navigator.current_node()
        if here != step.start and self.tree.node(step.start).interrupt:
            outcome.skipped = True
            pytest.skip(
                f"{step.start!r} is an interrupt node (a screen that comes by itself, no edge "
                "leads to it) and is not on screen: its edges are walked when it appears"
            )
        try:
            if here != step.start:
                navigator.navigate_to(step.start)
        except NavigationError as e:
            outcome.reason = f"could not get to {step.start!r} to try it: {e}"
            raise
        if navigator.follow(edge):
            return
        shown = navigator.current_node()
        outcome.reason = (
            f"{'+'.join(edge.keys)} from {step.start!r} did not reach {edge.target!r} within "
            f"{edge.timeout_secs:g} s; the screen shows "
            + (repr(shown) if shown else "a screen the tree does not recognise")
        )
        raise NavigationError(f"{edge.where or self.tree.path}: {outcome.reason}")

    def pytest_terminal_summary(self, terminalreporter) -> None:
        """Which edges failed and why; how many key presses the walk took."""
        tr = terminalreporter
        failed = [o for o in self.outcomes if o.reason]
        skipped = sum(o.skipped for o in self.outcomes)
        passed = len(self.outcomes) - len(failed) - skipped
        steps = self.walk if self.selected is None else self.selected
        not_run = len(steps) - len(self.outcomes)
        edges = f"{len(steps)} edges"
        if len(steps) < len(self.walk):
            edges = f"{len(steps)} of {len(self.walk)} edges (the others deselected)"
        tr.section(f"navigation tree {self.tree.path}", sep="=")
        tr.write_line(
            f"{edges} in a walk of {walk_presses(self.tree, steps)} key presses; "
            f"{passed} passed, {len(failed)} failed"
            + (f", {skipped} skipped" if skipped else "")
            + (f", {not_run} not run" if not_run else "")
        )
        for o in failed:
            tr.write_line(f"FAILED {o.step.name} ({o.step.edge.where}): {o.reason}", red=True)


def configure(config: pytest.Config, value: str) -> None:
    """Register the validation of ``--nav-validate=TREE`` (a usage error if TREE is bad)."""
    if getattr(config.option, "numprocesses", None):
        raise pytest.UsageError(
            "--nav-validate walks the tree's edges in order on one device: run it without -n"
        )
    path = Path(value)
    if not path.is_absolute():
        path = Path(config.invocation_params.dir) / path
    try:
        config.pluginmanager.register(NavValidation.from_option(path), PLUGIN_NAME)
    except ConfigError as e:
        raise pytest.UsageError(f"--nav-validate: {e}") from None

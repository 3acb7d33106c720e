"""``pytest --nav-validate=TREE`` (issue 11, "Validating a tree against new firmware").

The covering walk is checked on its own; then a real pytest run (pytester) validates a
tree with one deliberately wrong edge on a simulated box through the real daemon, and
``-k`` picks edges as it picks any test.
"""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import networkx as nx
import pytest

from pytest_virtualpy.cli import main
from pytest_virtualpy.navigation.model import ANYWHERE, load_tree
from pytest_virtualpy.navigation.pathfinding import planning_graph
from pytest_virtualpy.navigation.validate import covering_walk, walk_presses
from tests.nav_svg import svg_texts
from tests.nav_trees import POPUP_EDGE, POPUP_NODE

EXAMPLE = Path(__file__).parent.parent / "examples" / "navigation.toml"

#: live TV's BACK goes home, not to the about page: this edge is wrong
WRONG_EDGE = """
[[edges]]
from = "live_tv"
to = "about"
keys = ["KEY_BACK"]
timeout = 2
"""


def presses_between(tree, a: str, b: str) -> int:
    return int(
        nx.dijkstra_path_length(
            planning_graph(tree),
            a,
            b,
            weight=lambda u, v, d: min(len(x["edge"].keys) for x in d.values()),
        )
    )


def test_the_walk_takes_every_edge_once_and_each_from_where_it_can_start():
    tree = load_tree(EXAMPLE)
    walk = covering_walk(tree)
    assert sorted(map(id, (s.edge for s in walk))) == sorted(map(id, tree.edges))
    for step in walk:
        if step.edge.source == ANYWHERE:
            assert step.start != step.edge.target  # its keys have something to do
        else:
            assert step.start == step.edge.source


def reachable(tree, walk) -> list:
    """The steps whose start the walk can get to (not an interrupt node's, e.g. a popup)."""
    start = walk[0].start
    nodes = nx.descendants(planning_graph(tree), start) | {start}
    return [s for s in walk if s.start in nodes]


def test_the_walk_needs_fewer_presses_than_visiting_edges_in_file_order():
    tree = load_tree(EXAMPLE)
    walk = covering_walk(tree)
    here, naive = walk[0].start, 0
    for step in sorted(reachable(tree, walk), key=lambda s: tree.edges.index(s.edge)):
        naive += presses_between(tree, here, step.start) if here != step.start else 0
        naive += len(step.edge.keys)
        here = step.edge.target
    own = walk_presses(tree, walk)
    assert own <= naive
    # and far fewer than walking every pair of nodes, which the issue rules out
    nodes = {s.start for s in reachable(tree, walk)}
    pairs = sum(presses_between(tree, a, b) for a, b in itertools.permutations(nodes, 2))
    assert own < pairs / 2


def test_every_step_connects_or_says_how_far_it_moves():
    tree = load_tree(EXAMPLE)
    walk = reachable(tree, covering_walk(tree))
    gaps = [
        presses_between(tree, a.edge.target, b.start)
        for a, b in itertools.pairwise(walk)
        if a.edge.target != b.start
    ]
    assert walk_presses(tree, walk) == sum(len(s.edge.keys) for s in walk) + sum(gaps)
    assert walk_presses(tree, covering_walk(tree)) == walk_presses(tree, walk)


@pytest.fixture
def lab_run(sim_project):
    shutil.copytree(EXAMPLE.parent / "images", sim_project.path / "images")
    return sim_project


@pytest.mark.timeout(300)
def test_nav_validate_reports_the_wrong_edge_and_passes_the_others(lab_run):
    tree_file = lab_run.path / "tree.toml"
    # the simulator's popup as an interrupt node (first, to win over the screen it covers)
    tree_file.write_text(POPUP_NODE + EXAMPLE.read_text() + POPUP_EDGE + WRONG_EDGE)
    lab_run.makepyfile(test_other="def test_not_part_of_it():\n    raise AssertionError\n")
    result = lab_run.runpytest("--lab=bench-a", f"--nav-validate={tree_file}", "-v")
    edges = len(load_tree(tree_file).edges)
    # the popup's edge is skipped: no edge leads to that node, it comes by itself
    result.assert_outcomes(passed=edges - 2, failed=1, skipped=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*nav-validate::test_edge*live_tv->about* FAILED*",
            "*navigation tree*tree.toml*",
            f"{edges} edges in a walk of * key presses; {edges - 2} passed, 1 failed, 1 skipped",
            "FAILED live_tv->about (*tree.toml:*): KEY_BACK from 'live_tv' did not reach "
            "'about' within 2 s; the screen shows 'home'",
        ]
    )
    assert "test_not_part_of_it" not in result.stdout.str()

    # the run's results database now has every walked edge: `nav draw` shows them
    svg = lab_run.path / "tree.svg"
    db = lab_run.path / ".virtualpy" / "results.db"
    assert main(["nav", "draw", str(tree_file), "-o", str(svg), "--results-db", str(db)]) == 0
    texts = svg_texts(svg)
    assert "0% ok (1)" in texts  # the wrong edge: walked once, never arrived
    measured = [t for t in texts if re.fullmatch(r"\d+\.\d\d s, \d+% ok \(\d+\)", t)]
    assert len(measured) >= edges - 3 and all("100% ok" in t for t in measured)


@pytest.mark.timeout(300)
def test_k_runs_only_the_edges_it_selects_and_the_summary_counts_them(lab_run):
    walk = covering_walk(load_tree(EXAMPLE))
    chosen = [f"{i + 1}:{s.name}" for i, s in enumerate(walk) if "about" in s.name]
    assert 0 < len(chosen) < len(walk)
    lab_run.makepyfile(test_about="def test_about():\n    raise AssertionError\n")
    result = lab_run.runpytest("--lab=bench-a", f"--nav-validate={EXAMPLE}", "-v", "-k", "about")
    result.assert_outcomes(passed=len(chosen), deselected=len(walk) - len(chosen) + 1)
    ran = re.findall(r"nav-validate::test_edge\[(.*?)\] PASSED", result.stdout.str())
    assert ran == chosen  # in walk order
    result.stdout.fnmatch_lines(
        [
            f"{len(chosen)} of {len(walk)} edges (the others deselected) in a walk of * key "
            f"presses; {len(chosen)} passed, 0 failed",
        ]
    )
    assert "not run" not in result.stdout.str()


def test_a_tree_that_does_not_load_is_a_usage_error(lab_run):
    bad = lab_run.path / "bad.toml"
    bad.write_text(
        EXAMPLE.read_text() + '\n[[edges]]\nfrom = "home"\nto = "nowhere"\nkeys = ["KEY_OK"]\n'
    )
    result = lab_run.runpytest("--lab=bench-a", f"--nav-validate={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--nav-validate:*bad.toml:*nowhere*"])


def test_a_validation_is_one_walk_on_one_device_not_spread_by_xdist(lab_run):
    result = lab_run.runpytest("--lab=bench-a", f"--nav-validate={EXAMPLE}", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--nav-validate walks the tree's edges in order*without -n*"])

"""The navigation tree model: recognisers, edges and the tree's API (no device needed).

Every recogniser form (image, text, images, all, any) loads to its checks, edges carry
their settle conditions, costs and KPI names, the tree is a networkx graph, and the
example tree loads. (Loader errors: test_navigation_loader_errors.py; subtrees:
test_navigation_subtrees.py; pathfinding and costs: test_navigation_pathfinding.py.)
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from pytest_virtualpy.errors import UnknownNodeError
from pytest_virtualpy.navigation import (
    ANYWHERE,
    AllOf,
    AnyOf,
    ImageCheck,
    TextCheck,
    load_tree,
    shortest_path,
)
from pytest_virtualpy.navigation.model import holds, leaf_checks
from pytest_virtualpy.vision import Region
from tests import nav_tree_files
from tests.nav_tree_files import EDGES, line_of, write_tree

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "navigation.toml"

tree_dir = nav_tree_files.tree_dir  # the fixture: a folder of stand-in images


def test_recogniser_forms(tree_dir):
    nodes = """
[nodes.home]
image = "home.png"
region = [0, 0, 1280, 60]
[nodes.live]
text = "Live TV"
region = [0, 0, 640, 60]
[nodes.guide]
images = ["guide.png", { image = "home.png", region = [10, 10, 20, 20] }]
[nodes.settings]
all = [{ image = "settings.png" }, { text = { text = "Settings", region = [1, 2, 3, 4] } }]
[nodes.about]
any = [{ text = "About" }, { all = [{ image = "about.png" }, { text = "Firmware" }] }]
image = "about.png"
"""
    path = tree_dir / "nav.toml"
    path.write_text(nodes + EDGES)
    tree = load_tree(path)
    title = Region(0, 0, 1280, 60)
    assert tree.node("home").recogniser == ImageCheck(tree_dir / "home.png", title)
    assert tree.node("live").recogniser == TextCheck("Live TV", Region(0, 0, 640, 60))
    assert tree.node("guide").recogniser == AllOf(
        (
            ImageCheck(tree_dir / "guide.png"),
            ImageCheck(tree_dir / "home.png", Region(10, 10, 20, 20)),
        )
    )
    assert tree.node("settings").recogniser == AllOf(
        (ImageCheck(tree_dir / "settings.png"), TextCheck("Settings", Region(1, 2, 3, 4)))
    )
    about = tree.node("about").recogniser  # image and any together: both must hold
    assert isinstance(about, AllOf) and about.checks[0] == ImageCheck(tree_dir / "about.png")
    assert isinstance(about.checks[1], AnyOf)
    assert [c.text for c in leaf_checks(about) if isinstance(c, TextCheck)] == ["About", "Firmware"]
    assert tree.node("about").where == f"{path.parent}/nav.toml:{line_of(path, '[nodes.about]')}"
    on_screen = {"About"}  # holds() composes all/any from the leaves' answers
    answer = lambda c: getattr(c, "text", None) in on_screen  # noqa: E731
    assert holds(about.checks[1], answer) and not holds(about, answer)


def test_edge_settle_and_cost(tree_dir):
    edges = (
        EDGES
        + """
[[edges]]
from = "guide"
to = "live"
keys = ["KEY_OK"]
settle = { stable_secs = 0.5, region = [0, 0, 100, 100], until = { text = "Now" } }
cost = 1.5
timeout = 8
[[edges]]
from = "about"
to = "settings"
keys = "KEY_BACK"
settle = 0.25
"""
    )
    path = write_tree(tree_dir, edges)
    tree = load_tree(path)
    ok, back = tree.edges[-2], tree.edges[-1]
    assert (ok.timeout_secs, ok.cost, ok.settle.stable_secs) == (8.0, 1.5, 0.5)
    assert ok.settle.until == TextCheck("Now") and ok.settle.region == Region(0, 0, 100, 100)
    assert ok.where.endswith(f"nav.toml:{line_of(path, '[[edges]]', nth=-2)}")
    assert back.keys == ("KEY_BACK",) and back.settle.stable_secs == 0.25
    assert back.settle.until is None and back.cost is None
    assert ok.kpi_name == "nav:guide->live" and tree.edges[0].kpi_name == "nav:*->home"


def test_tree_api_and_graph(tree_dir):
    tree = load_tree(write_tree(tree_dir, EDGES))
    assert tree.nodes == ["home", "live", "guide", "settings", "about"]
    assert isinstance(tree.graph, nx.MultiDiGraph)
    assert set(tree.graph.nodes) == {*tree.nodes, ANYWHERE}
    assert tree.graph.number_of_edges() == len(tree.edges)
    assert all(d["edge"].target == v for _, v, d in tree.graph.edges(data=True))
    assert [e.target for e in tree.edges_from("live")] == ["home", "guide"]
    assert [e.target for e in tree.edges_from(None)] == ["home"]
    with pytest.raises(UnknownNodeError, match="unknown navigation node 'nope'.*home, live"):
        tree.node("nope")


def test_the_example_tree_loads():
    tree = load_tree(EXAMPLE)
    assert tree.nodes == ["home", "live_tv", "guide", "settings", "about"]
    assert tree.recovery_keys == ("KEY_BACK",) and not any(
        tree.node(n).interrupt for n in tree.nodes
    )
    assert [e.target for e in shortest_path(tree, None, "about")] == ["home", "settings", "about"]

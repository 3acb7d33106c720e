"""Navigation trees: loading, validation, recognisers, subtrees, costs and pathfinding
(no device needed; the results history is a real SQLite database written by the sink)."""

from __future__ import annotations

import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from PIL import Image

from pytest_virtualpy.errors import ConfigError, UnknownNodeError
from pytest_virtualpy.navigation import (
    ANYWHERE,
    AllOf,
    AnyOf,
    Edge,
    EdgeCosts,
    EdgeStats,
    ImageCheck,
    TextCheck,
    load_tree,
    shortest_path,
)
from pytest_virtualpy.navigation.model import holds, leaf_checks
from pytest_virtualpy.results.db import Database, parse_url
from pytest_virtualpy.results.nav_history import edge_history
from pytest_virtualpy.results.records import RunRecord, TestRecord
from pytest_virtualpy.results.sink import Sink
from pytest_virtualpy.vision import Region

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "navigation.toml"


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


def line_of(path: Path, needle: str, nth: int = 0) -> int:
    """The 1-based line of the ``nth`` line containing ``needle`` (what errors must name)."""
    hits = [i + 1 for i, line in enumerate(path.read_text().splitlines()) if needle in line]
    return hits[nth]


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


# --- pathfinding -------------------------------------------------------------------------


def test_shortest_path_counts_key_presses(tree_dir):
    tree = load_tree(write_tree(tree_dir, EDGES))
    path = shortest_path(tree, "home", "guide")
    assert [e.keys for e in path] == [("KEY_OK",), ("KEY_EPG",)]  # 2 presses beat 3
    assert [e.target for e in shortest_path(tree, "about", "live")] == ["home", "live"]
    assert shortest_path(tree, "home", "home") == []


def test_unknown_screen_recovers_through_anywhere_edges(tree_dir):
    tree = load_tree(write_tree(tree_dir, EDGES))
    assert [e.target for e in shortest_path(tree, None, "about")] == ["home", "settings", "about"]


def test_a_node_with_no_way_back_has_no_path(tree_dir):
    one_way = (
        '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["KEY_OK"]\n'
        '[[edges]]\nfrom = "live"\nto = "home"\nkeys = ["KEY_BACK"]\n'
        '[[edges]]\nfrom = "home"\nto = "guide"\nkeys = ["KEY_EPG"]\n'
    )
    tree = load_tree(write_tree(tree_dir, one_way, nodes=("home", "live", "guide")))
    assert shortest_path(tree, "guide", "home") is None
    assert shortest_path(tree, None, "home") is None  # no "*" edge: lost is lost
    assert [e.target for e in shortest_path(tree, "live", "guide")] == ["home", "guide"]


def test_measured_costs_route_around_a_slow_edge(tree_dir):
    """home->guide directly is 3 keys, via live 2 keys; measured, via live is slow."""
    tree = load_tree(write_tree(tree_dir, EDGES))
    live, epg, direct = (
        next(e for e in tree.edges if (e.source, e.target) == pair)
        for pair in (("home", "live"), ("live", "guide"), ("home", "guide"))
    )
    costs = EdgeCosts()
    for _ in range(3):
        costs.record(live, 2500.0)
        costs.record(epg, 1500.0)
        costs.record(direct, 900.0)
    per_key = costs.secs_per_key(tree.edges)
    path = shortest_path(tree, "home", "guide", lambda e: costs.cost(e, per_key))
    assert path == [direct]
    # with no measurements the key count decides, the other way
    assert shortest_path(tree, "home", "guide", EdgeCosts().cost) == [live, epg]


def test_failure_rate_makes_an_edge_expensive():
    edge = Edge("a", "b", ("KEY_OK",), timeout_secs=5.0)
    costs = EdgeCosts({edge.kpi_name: EdgeStats(mean_ms=1000.0, count=3, failures=1)})
    assert costs.stats(edge).failure_rate == pytest.approx(0.25)
    # 1 s, plus p/(1-p) = 1/3 of (5 s timeout + 1 s)
    assert costs.cost(edge) == pytest.approx(1.0 + (5.0 + 1.0) / 3)
    costs.record(edge, 3000.0)  # this run's measurement is pooled with the history
    assert costs.stats(edge) == EdgeStats(mean_ms=1500.0, count=4, failures=1)


def test_unmeasured_edges_cost_their_declared_cost_else_keys_at_the_measured_rate():
    declared = Edge("a", "b", ("KEY_OK",) * 4, cost=0.25)
    plain = Edge("a", "c", ("KEY_OK",) * 4)
    measured = Edge("c", "a", ("KEY_OK",) * 2)
    costs = EdgeCosts()
    assert costs.cost(declared) == 0.25
    assert costs.cost(plain) == 4.0  # 1 s a key until something is measured
    costs.record(measured, 600.0)
    per_key = costs.secs_per_key([declared, plain, measured])
    assert per_key == pytest.approx(0.3)
    assert costs.cost(plain, per_key) == pytest.approx(1.2)
    assert costs.cost(declared, per_key) == 0.25  # the declaration beats the guess
    costs.record(declared, 2000.0)  # ... and a measurement beats the declaration
    assert costs.cost(declared, per_key) == pytest.approx(2.0)


def test_history_comes_from_the_results_database(tmp_path):
    url = parse_url(str(tmp_path / "results.db"), tmp_path)
    assert edge_history(url) == {}  # no database yet: no history, and none created
    assert not (tmp_path / "results.db").exists()
    db = Database.connect(url)
    now = time.time()
    kpis = [
        {"name": "nav:home->guide", "device": "box-1", "value_ms": 800.0, "time": now},
        {"name": "nav:home->guide", "device": "box-1", "value_ms": 1200.0, "time": now},
        {"name": "nav-miss:home->guide", "device": "box-1", "value_ms": 5000.0, "time": now},
        {"name": "nav:guide->live", "device": "box-1", "value_ms": 300.0, "time": now},
        {"name": "press_and_wait:KEY_OK", "device": "box-1", "value_ms": 50.0, "time": now},
        {"name": "nav:home->guide", "device": "box-1", "value_ms": 9e5, "time": now - 200 * 86400},
    ]
    test = TestRecord("r1", "t.py::test_a", "passed", device="box-1", model="m1", lab="lab")
    test.kpis = kpis
    Sink(db).write(RunRecord("r1", started_at=now), [test])
    db.close()
    history = edge_history(url)
    assert history == {
        "m1": {
            "nav:home->guide": {"mean_ms": 1000.0, "count": 2, "failures": 1},
            "nav:guide->live": {"mean_ms": 300.0, "count": 1, "failures": 0},
        }
    }


# --- the loader's errors: what and where (file:line) ---------------------------------------


def test_unknown_node_names_the_line_of_the_edge(tree_dir):
    path = write_tree(tree_dir, EDGES + '[[edges]]\nfrom = "home"\nto = "nowhere"\nkeys = ["K"]\n')
    with pytest.raises(ConfigError, match="unknown node 'nowhere'") as e:
        load_tree(path)
    assert f"nav.toml:{line_of(path, 'nowhere')}:" in str(e.value)
    assert "home, live, guide" in str(e.value)  # says what it could have been


def test_missing_image_names_the_line_of_the_image(tree_dir):
    (tree_dir / "about.png").unlink()
    path = write_tree(tree_dir, EDGES)
    with pytest.raises(ConfigError, match="about.png does not exist") as e:
        load_tree(path)
    assert f"nav.toml:{line_of(path, 'about.png')}:" in str(e.value)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ('[nodes.guide]\nimage = "guide.png"\n', "[nodes.guide]"),
        ('[nodes]\nguide = { image = "guide.png" }\n', "guide = {"),
    ],
    ids=["table", "inline"],
)
def test_duplicate_name_names_its_second_line(tree_dir, extra, needle):
    path = write_tree(tree_dir, EDGES + extra)
    with pytest.raises(ConfigError, match="duplicate name") as e:
        load_tree(path)
    assert "guide" in str(e.value)
    assert f"nav.toml:{_last(path, needle)}:" in str(e.value)


def _last(path: Path, needle: str) -> int:
    return [i + 1 for i, line in enumerate(path.read_text().splitlines()) if needle in line][-1]


def test_unreachable_nodes_are_each_named_with_their_line(tree_dir):
    edges = '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["KEY_OK"]\n'
    edges += '[[edges]]\nfrom = "live"\nto = "home"\nkeys = ["KEY_BACK"]\n'
    path = write_tree(tree_dir, edges)
    with pytest.raises(ConfigError, match="unreachable") as e:
        load_tree(path)
    message = str(e.value)
    for name in ("guide", "settings", "about"):
        assert (
            f"nav.toml:{line_of(path, f'[nodes.{name}]')}: node {name!r} is unreachable" in message
        )
    assert "'home' is unreachable" not in message and "'live' is unreachable" not in message


def test_an_interrupt_node_needs_no_edge_in(tree_dir):
    edges = EDGES + '[[edges]]\nfrom = "popup"\nto = "home"\nkeys = ["KEY_BACK"]\n'
    path = write_tree(tree_dir, edges)
    path.write_text('[nodes.popup]\nimage = "home.png"\ninterrupt = true\n' + path.read_text())
    tree = load_tree(path)
    assert tree.nodes[0] == "popup" and tree.node("popup").interrupt
    assert not tree.node("home").interrupt


@pytest.mark.parametrize(
    ("edges", "message", "needle"),
    [
        ('[[edges]]\nfrom = "home"\nkeys = ["KEY_OK"]\n', "lacks 'to'", "[[edges]]"),
        ('[[edges]]\nfrom = "home"\nto = "live"\nkeys = []\n', "at least one key", "[[edges]]"),
        ('[[edges]]\nfrom = "home"\nto = "home"\nkeys = ["K"]\n', "to itself", "[[edges]]"),
        (
            '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\nkey = 1\n',
            "unknown key 'key'",
            "key = 1",
        ),
        (
            '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\ntimeout = -1\n',
            "timeout must",
            "[[edges]]",
        ),
        (
            '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\nsettle = "soon"\n',
            "settle must",
            "settle =",
        ),
        ("[[edges]\n", "not valid TOML", "[[edges]"),
    ],
)
def test_bad_edges_are_explained_with_their_line(tree_dir, edges, message, needle):
    path = write_tree(tree_dir, EDGES + edges)
    with pytest.raises(ConfigError, match=message) as e:
        load_tree(path)
    assert f"nav.toml:{_last(path, needle)}:" in str(e.value)


@pytest.mark.parametrize(
    ("node", "message", "needle"),
    [
        ('imgae = "home.png"', "unknown key 'imgae'", "imgae"),
        (
            'image = "home.png"\nregion = [0, 0, 10]',
            r"region must be \[x, y, width, height\]",
            "region",
        ),
        ('image = "home.png"\nregion = [0, 0, -5, 10]', "bad region", "region"),
        ("all = []", "all must be a non-empty list", "[nodes.extra]"),
        ("region = [0, 0, 10, 10]", "has no recogniser", "[nodes.extra]"),
        ('image = "../outside.png"', "outside the tree's folder", "outside"),
        ("interrupt = 1\nimage = 'home.png'", "interrupt must be true or false", "interrupt"),
    ],
)
def test_bad_nodes_are_explained_with_their_line(tree_dir, node, message, needle):
    path = write_tree(tree_dir, EDGES + '[[edges]]\nfrom = "home"\nto = "extra"\nkeys = ["K"]\n')
    path.write_text(path.read_text() + f"[nodes.extra]\n{node}\n")
    with pytest.raises(ConfigError, match=message) as e:
        load_tree(path)
    assert f"nav.toml:{_last(path, needle)}:" in str(e.value)


def test_a_missing_tree_file_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_tree(tmp_path / "nope.toml")


# --- recognisers --------------------------------------------------------------------------


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


# --- subtrees ------------------------------------------------------------------------------


def _subtree_project(tmp_path) -> Path:
    img = Image.fromarray(np.full((8, 8, 3), 9, np.uint8))
    (tmp_path / "settings" / "images").mkdir(parents=True)
    (tmp_path / "settings" / "network").mkdir()
    for name in ("home", "settings"):
        img.save(tmp_path / f"{name}.png")
    for name in ("network", "picture"):
        img.save(tmp_path / "settings" / "images" / f"{name}.png")
    img.save(tmp_path / "settings" / "network" / "wifi.png")
    (tmp_path / "nav.toml").write_text(
        '[nodes.home]\nimage = "home.png"\n'
        '[nodes.settings]\nimage = "settings.png"\n'
        '[subtrees.settings]\nfile = "settings/tree.toml"\n'
        '[[edges]]\nfrom = "*"\nto = "home"\nkeys = ["KEY_HOME"]\n'
        '[[edges]]\nfrom = "home"\nto = "settings"\nkeys = ["KEY_MENU"]\n'
        '[[edges]]\nfrom = "settings"\nto = "settings/network"\nkeys = ["KEY_DOWN", "KEY_OK"]\n'
    )
    (tmp_path / "settings" / "tree.toml").write_text(
        '[nodes.network]\nimage = "images/network.png"\n'
        '[nodes.picture]\nimage = "images/picture.png"\n'
        '[subtrees.network]\nfile = "network/tree.toml"\n'
        '[[edges]]\nfrom = "network"\nto = "picture"\nkeys = ["KEY_UP"]\n'
        '[[edges]]\nfrom = "picture"\nto = "settings"\nkeys = ["KEY_BACK"]\n'  # the parent's
        '[[edges]]\nfrom = "network"\nto = "network/wifi"\nkeys = ["KEY_OK"]\n'
    )
    (tmp_path / "settings" / "network" / "tree.toml").write_text(
        '[nodes.wifi]\nimage = "wifi.png"\n'
        '[[edges]]\nfrom = "wifi"\nto = "/settings/picture"\nkeys = ["KEY_BACK", "KEY_UP"]\n'
    )
    return tmp_path / "nav.toml"


def test_subtrees_address_their_nodes_by_path(tmp_path):
    tree = load_tree(_subtree_project(tmp_path))
    assert tree.nodes == [
        "home",
        "settings",
        "settings/network",
        "settings/picture",
        "settings/network/wifi",
    ]
    assert tree.node("settings/network").recogniser == ImageCheck(
        tmp_path / "settings" / "images" / "network.png"
    )
    assert tree.node("settings/network/wifi").where == (f"{tmp_path}/settings/network/tree.toml:1")
    pairs = [(e.source, e.target) for e in tree.edges]
    assert ("settings/picture", "settings") in pairs  # a subtree reaches its parent's node
    assert ("settings/network/wifi", "settings/picture") in pairs  # "/..." is from the root
    route = shortest_path(tree, "home", "settings/network/wifi")
    assert [e.target for e in route] == ["settings", "settings/network", "settings/network/wifi"]


def test_subtree_mistakes_name_the_subtree_file(tmp_path):
    path = _subtree_project(tmp_path)
    sub = tmp_path / "settings" / "tree.toml"
    sub.write_text(sub.read_text() + '[[edges]]\nfrom = "picture"\nto = "sound"\nkeys = ["K"]\n')
    with pytest.raises(ConfigError, match="unknown node 'sound'") as e:
        load_tree(path)
    assert f"settings/tree.toml:{line_of(sub, 'sound')}:" in str(e.value)
    (tmp_path / "settings" / "network" / "tree.toml").unlink()
    with pytest.raises(ConfigError, match="network/tree.toml does not exist") as e:
        load_tree(path)
    assert f"settings/tree.toml:{line_of(sub, 'network/tree.toml')}:" in str(e.value)


def test_a_subtree_that_includes_itself_is_refused(tmp_path):
    path = _subtree_project(tmp_path)
    sub = tmp_path / "settings" / "tree.toml"
    sub.write_text(sub.read_text().replace("network/tree.toml", "tree.toml"))
    with pytest.raises(ConfigError, match="nested deeper"):
        load_tree(path)


def test_recovery_keys(tree_dir):
    path = write_tree(tree_dir, EDGES)
    assert load_tree(path).recovery_keys == ("KEY_BACK",)  # the default
    path.write_text('[recovery]\nkeys = ["KEY_EXIT", "KEY_BACK"]\n' + path.read_text())
    assert load_tree(path).recovery_keys == ("KEY_EXIT", "KEY_BACK")
    path.write_text(path.read_text().replace('["KEY_EXIT", "KEY_BACK"]', "[]"))
    assert load_tree(path).recovery_keys == ()
    path.write_text(path.read_text().replace("keys = []", 'keys = "KEY_BACK"'))
    with pytest.raises(ConfigError, match=r"nav.toml:1: \[recovery\] takes keys"):
        load_tree(path)
    sub = _subtree_project(tree_dir / "sub")
    (tree_dir / "sub" / "settings" / "tree.toml").write_text(
        '[recovery]\nkeys = []\n[nodes.network]\nimage = "images/network.png"\n'
    )
    with pytest.raises(ConfigError, match="settings/tree.toml:1: unknown section 'recovery'"):
        load_tree(sub)

"""Navigation pathfinding and the costs it plans on (no device needed).

Shortest paths count key presses, recover from an unknown screen through ``*`` edges and
find no way where there is none; measured times, failure rates and declared costs price
the edges; their history comes from the results database (a real SQLite one, written by
the sink).
"""

from __future__ import annotations

import time

import pytest

from pytest_virtualpy.navigation import Edge, EdgeCosts, EdgeStats, load_tree, shortest_path
from pytest_virtualpy.results.db import Database, parse_url
from pytest_virtualpy.results.nav_history import edge_history
from pytest_virtualpy.results.records import RunRecord, TestRecord
from pytest_virtualpy.results.sink import Sink
from tests import nav_tree_files
from tests.nav_tree_files import EDGES, write_tree

tree_dir = nav_tree_files.tree_dir  # the fixture: a folder of stand-in images


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

"""Navigation through the plugin: the lab's tree, stb.navigation, history from the results DB.

A project whose ini names the example tree runs against a lab whose box serves tree B:
the lab's tree wins, and the walk plans on the edge costs past runs left in the results
database (without history, on the costs the tree declares); so does ``--nav-validate``
on its way to each edge it checks.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.monitor_lab import serve_lab
from tests.nav_trees import EXAMPLES, IMAGES, write_b_tree

pytestmark = pytest.mark.timeout(240)

PLUGIN_TEST = """
import os

def test_walk(stb):
    assert stb.navigation.nodes == ["home", "live_tv", "guide", "settings", "settings/about"]
    stb.navigate_to("home")
    before = len(stb.sim.events())
    stb.navigate_to("guide")
    keys = [e["key"] for e in stb.sim.events()[before:]]
    assert ("KEY_EPG" in keys) == (os.environ["EXPECT_ROUTE"] == "via live_tv"), keys
    stb.navigate_to("settings/about")
    assert stb.current_node() == "settings/about"
"""


@pytest.fixture(scope="module")
def plugin_lab(tmp_path_factory):
    """A lab with one box (model nav-hist) serving tree B."""
    root = tmp_path_factory.mktemp("navplugin")
    (root / "b").mkdir()
    tree = write_b_tree(root / "b")
    devices = (
        '[[devices]]\nname = "nav-p"\nkind = "sim"\nfps = 30\nboot_secs = 0.5\n'
        f'model = "nav-hist"\nnavigation = "{tree}"\n'
    )
    lab = serve_lab(root, "navplug", devices, {})
    yield lab
    lab.stop()


def _plugin_project(pytester, lab, monkeypatch) -> None:
    monkeypatch.setenv("NAVPLUG_TOKEN", lab.token)
    pytester.makefile(
        ".toml",
        labs=f'[labs.navplug]\naddress = "{lab.address}"\ntoken_env = "NAVPLUG_TOKEN"\n',
    )
    # the ini's tree is the example's; the lab's tree for this device wins
    shutil.copy(EXAMPLES / "navigation.toml", pytester.path)
    shutil.copytree(IMAGES, pytester.path / "images")
    pytester.makepyfile(test_nav=PLUGIN_TEST)


def _ini(pytester, db: str) -> None:
    pytester.makeini(
        f"[pytest]\nvirtualpy_navigation = navigation.toml\nvirtualpy_results_db = {db}\n"
    )


def test_the_plugin_walks_the_labs_tree_and_plans_on_the_results_history(
    pytester, plugin_lab, monkeypatch
):

    _plugin_project(pytester, plugin_lab, monkeypatch)
    _ini(pytester, "none")
    monkeypatch.setenv("EXPECT_ROUTE", "direct")  # declared cost 0.5 s: the direct edge
    result = pytester.runpytest_subprocess("--lab=navplug", "-p", "no:randomly")
    result.assert_outcomes(passed=1)

    _ini(pytester, str(_slow_direct_edge_history(pytester)))
    monkeypatch.setenv("EXPECT_ROUTE", "via live_tv")
    result = pytester.runpytest_subprocess("--lab=navplug", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def _slow_direct_edge_history(pytester, detour: bool = False) -> Path:
    """A results database in which past runs measured home -> guide at 9 s on model
    nav-hist (five times): a walk there plans via live TV instead. With ``detour``, the
    two edges via live TV were measured too (1.5 s and 0.5 s, five times each)."""
    from pytest_virtualpy.results.db import Database, parse_url
    from pytest_virtualpy.results.records import RunRecord, TestRecord
    from pytest_virtualpy.results.sink import Sink

    db_path = pytester.path / "history.db"
    db = Database.connect(parse_url(str(db_path), pytester.path))
    now = time.time()
    slow = [
        {"name": "nav:home->guide", "device": "old-box", "value_ms": 9000.0, "time": now - i}
        for i in range(5)
    ]
    if detour:
        slow += [
            {"name": name, "device": "old-box", "value_ms": ms, "time": now - i}
            for name, ms in (("nav:home->live_tv", 1500.0), ("nav:live_tv->guide", 500.0))
            for i in range(5)
        ]
    old = TestRecord("old", "t.py::t", "passed", device="old-box", model="nav-hist", lab="x")
    old.kpis = slow
    Sink(db).write(RunRecord("old", started_at=now - 60), [old])
    db.close()
    return db_path


def _kpi_counts(db_path: Path) -> dict[str, int]:
    from pytest_virtualpy.results.db import Database, parse_url

    db = Database.connect(parse_url(str(db_path), db_path.parent))
    try:
        rows = db.query("SELECT name, COUNT(*) AS n FROM kpis GROUP BY name", ())
        return {str(r["name"]): int(r["n"]) for r in rows}
    finally:
        db.close()


def test_nav_validate_plans_its_way_to_each_edge_on_the_results_history(
    pytester, plugin_lab, monkeypatch
):
    _plugin_project(pytester, plugin_lab, monkeypatch)
    validated = write_b_tree(pytester.path / "b")  # the lab's tree, as a local file ...
    # ... with one more edge, out of the guide: to validate it, the walk must get there
    with validated.open("a") as f:
        f.write('[[edges]]\nfrom = "guide"\nto = "live_tv"\nkeys = ["KEY_OK"]\n')
    db_path = _slow_direct_edge_history(pytester, detour=True)
    _ini(pytester, str(db_path))
    result = pytester.runpytest_subprocess(
        "--lab=navplug", f"--nav-validate={validated}", "-k", "guide- and live_tv"
    )
    result.assert_outcomes(passed=1)
    kpis = _kpi_counts(db_path)
    # the history said the direct edge is slow (without it, its declared 0.5 s wins): the
    # way from home to the guide went via live TV (each of its edges one walk more)
    assert kpis["nav:home->live_tv"] == kpis["nav:live_tv->guide"] == 6, kpis
    assert kpis["nav:home->guide"] == 5, kpis  # only the history's
    assert kpis.get("nav:guide->live_tv", 0) == 1, kpis  # the validated edge itself

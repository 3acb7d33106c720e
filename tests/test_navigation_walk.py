"""Walking a navigation tree on the simulated box, through a real daemon over real RPyC.

The daemon serves each device's tree (lab.toml ``navigation = ...``); the navigator
localises, plans on measured costs, walks, records steps and KPIs, and recovers from a
failing edge, dropped keys and popups; when it cannot, NavigationError says where.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import pytest

from pytest_virtualpy.errors import BadArgument, ConfigError, NavigationError, UnknownNodeError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.navigation import (
    EdgeStats,
    Navigator,
    SessionNavigation,
    load_served_tree,
    load_tree,
)
from pytest_virtualpy.remote import Remote
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from tests.monitor_lab import serve_lab

pytestmark = pytest.mark.timeout(240)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IMAGES = EXAMPLES / "images"

# device nav-b's tree: settings/about is a node of a subtree, and two ways lead to the guide
B_TREE = """
[nodes.home]
image = "images/home.png"
region = [0, 0, 1280, 60]
[nodes.live_tv]
image = "images/live_tv.png"
region = [40, 30, 300, 44]
[nodes.guide]
image = "images/guide.png"
region = [0, 0, 1280, 60]
[nodes.settings]
image = "images/settings.png"
region = [0, 0, 1280, 60]
[subtrees.settings]
file = "settings/tree.toml"

[[edges]]
from = "*"
to = "home"
keys = ["KEY_HOME"]
timeout = 6
[[edges]]
from = "home"
to = "settings"
keys = ["KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_LEFT", "KEY_OK"]
[[edges]]
from = "home"
to = "live_tv"
keys = ["KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_OK"]
[[edges]]
from = "live_tv"
to = "guide"
keys = ["KEY_EPG"]
[[edges]]
from = "home"
to = "guide"
keys = ["KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_RIGHT", "KEY_OK"]
cost = 0.5
"""
B_SUBTREE = """
[nodes.about]
image = "../images/about.png"
region = [0, 0, 1280, 60]
[[edges]]
from = "settings"
to = "about"
keys = ["KEY_DOWN", "KEY_DOWN", "KEY_DOWN", "KEY_DOWN", "KEY_OK"]
[[edges]]
from = "about"
to = "settings"
keys = ["KEY_BACK"]
"""


POPUP_NODE = """
[nodes.popup]
image = "images/popup.png"
region = [320, 216, 640, 288]
interrupt = true
"""
POPUP_EDGE = """
[[edges]]
from = "popup"
to = "home"
keys = ["KEY_BACK", "KEY_HOME"]
"""
TO_GUIDE = '["KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_RIGHT", "KEY_OK"]'


def write_b_tree(folder: Path) -> Path:
    shutil.copytree(IMAGES, folder / "images")
    (folder / "settings").mkdir()
    (folder / "tree.toml").write_text(B_TREE)
    (folder / "settings" / "tree.toml").write_text(B_SUBTREE)
    return folder / "tree.toml"


def nav_devices(a_tree: Path, b_tree: Path, model: str = "nav-model") -> str:
    return "".join(
        f'[[devices]]\nname = "{name}"\nkind = "sim"\nfps = 30\nboot_secs = 0.5\n'
        f'model = "{model}"\nnavigation = "{tree}"\n\n'
        for name, tree in (("nav-a", a_tree), ("nav-b", b_tree))
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A daemon from a lab.toml whose two boxes have different trees."""
    root = tmp_path_factory.mktemp("navlab")
    a = root / "a"  # the example tree, with the popup dialog as an interrupt node
    a.mkdir()
    example = (EXAMPLES / "navigation.toml").read_text()
    (a / "navigation.toml").write_text(POPUP_NODE + example + POPUP_EDGE)
    shutil.copytree(IMAGES, a / "images")
    b = root / "b"
    b.mkdir()
    c = root / "c"  # a broken tree: its image is missing
    c.mkdir()
    (c / "tree.toml").write_text('[nodes.home]\nimage = "gone.png"\n')
    broken = f'[[devices]]\nname = "nav-c"\nkind = "sim"\nfps = 5\nnavigation = "{c}/tree.toml"\n'
    plain = '[[devices]]\nname = "nav-d"\nkind = "sim"\nfps = 5\n'  # no tree of its own
    devices = nav_devices(a / "navigation.toml", write_b_tree(b)) + broken + plain
    lab = serve_lab(root, "navlab", devices, {})
    yield lab
    lab.stop()


def _home(dev: DeviceClient) -> DeviceClient:
    dev.sim_clear()
    if not dev.power("status")["on"]:
        dev.power("on")
    end = time.monotonic() + 20
    while dev.sim_state()["screen"] in ("boot", "off"):
        assert time.monotonic() < end, "the simulated box did not boot"
        time.sleep(0.1)
    dev.press("KEY_HOME")
    dev.wait_for_sim_screen("home", 10)
    return dev


@pytest.fixture
def lease(served):
    held: list[DeviceClient] = []

    def take(name: str, home: bool = True) -> DeviceClient:
        client = LabClient.connect(served.address, served.token, client_name="nav-tests")
        dev = DeviceClient(client, client.lease(name, "nav-tests", 60, wait_secs=10))
        held.append(dev)
        return _home(dev) if home else dev

    yield take
    for dev in held:
        with contextlib.suppress(Exception):
            dev.sim_clear()
            dev.client.release(dev.lease_id)
        dev.client.close()


class Walk:
    """A Navigator with its step log, on a real leased box."""

    def __init__(self, dev: DeviceClient, tree, folder: Path, **kw):
        self.dev = dev
        self.log = StepLog()
        self.shots = folder

        def save(name: str, data: bytes) -> Path:
            path = folder / name
            path.write_bytes(data)
            return path

        self.screen = TvScreen(dev, self.log, save)
        self.remote = Remote(dev, self.screen, self.log)
        self.nav = Navigator(tree, self.remote, self.screen, log=self.log, **kw)
        end = time.monotonic() + 5  # the sim says "home" a few frames before it looks it
        while self.nav.current_node() != "home":  # (the lease fixture went home)
            assert time.monotonic() < end, "the box never showed its home screen"

    def hops(self) -> list:
        return [s for s in self.log.steps if s.kind == "nav_hop"]

    def screen_is(self, name: str) -> bool:
        return self.dev.sim_state()["screen"] == name


def test_each_device_gets_its_own_tree_from_the_daemon(lease, tmp_path):
    a, b = lease("nav-a"), lease("nav-b")
    assert a.info["files"] == {"navigation": "navigation.toml"}
    assert b.info["files"] == {"navigation": "tree.toml"}
    tree_a = load_served_tree(a, tmp_path / "a")
    tree_b = load_served_tree(b, tmp_path / "b")
    assert tree_a.nodes == ["popup", *load_tree(EXAMPLES / "navigation.toml").nodes]
    assert tree_a.node("popup").interrupt and tree_a.node("popup").where.endswith("toml:2")
    assert tree_b.nodes == ["home", "live_tv", "guide", "settings", "settings/about"]
    assert tree_b.node("settings/about").where == "<nav-b's navigation tree>/settings/tree.toml:2"
    # the images came over the wire, byte for byte
    fetched = tree_b.node("settings/about").recogniser.image
    assert fetched.read_bytes() == (IMAGES / "about.png").read_bytes()
    assert fetched.is_relative_to(tmp_path / "b")


def test_the_session_keeps_each_devices_tree_and_costs(lease, tmp_path):
    """SessionNavigation: the lab's tree, else the ini's; history by model; errors named."""
    ini = load_tree(EXAMPLES / "navigation.toml")
    history = {"nav-model": {"nav:home->settings": {"mean_ms": 700.0, "count": 4, "failures": 1}}}
    session = SessionNavigation(ini, history=history)
    b = lease("nav-b")
    tree = session.tree_for(b)
    assert tree is session.tree_for(b) and tree.nodes[-1] == "settings/about"  # fetched once
    plain = lease("nav-d", home=False)
    assert plain.info["files"] == {}
    assert session.tree_for(plain) is ini  # no tree from its lab: the ini's
    log, screen = StepLog(), TvScreen(b, StepLog(), lambda n, d: tmp_path / n)
    nav = session.navigator(b, Remote(b, screen, log), screen, log)
    to_settings = next(e for e in tree.edges if e.target == "settings")
    assert nav.costs.stats(to_settings) == EdgeStats(700.0, 4, 1)
    assert session.navigator(b, Remote(b, screen, log), screen, log).costs is nav.costs
    c = lease("nav-c", home=False)
    for _ in range(2):  # remembered, and said again
        with pytest.raises(ConfigError, match=r"gone.png does not exist[\s\S]*device nav-c"):
            session.tree_for(c)
    fetched = session.cache()
    assert any(fetched.rglob("about.png"))
    session.close()
    assert not fetched.exists()  # the fetched trees go with the session


def test_device_files_stay_in_their_folder(lease):
    dev = lease("nav-a")
    assert dev.file("navigation", "images/home.png") == (IMAGES / "home.png").read_bytes()
    assert dev.file("navigation", "images/nope.png") is None
    for bad in ("../b/tree.toml", "/etc/passwd", "images/../../b/tree.toml", ""):
        with pytest.raises(BadArgument, match="path"):
            dev.file("navigation", bad)
    with pytest.raises(BadArgument, match="has no file 'firmware'"):
        dev.file("firmware", "x.bin")


def test_walk_records_hops_as_steps_and_kpis(lease, tmp_path):
    dev = lease("nav-a")
    walk = Walk(dev, load_served_tree(dev, tmp_path / "tree"), tmp_path)
    assert walk.nav.current_node() == "home"
    walk.nav.navigate_to("about")
    assert walk.screen_is("about") and walk.nav.current_node() == "about"
    hops = walk.hops()
    assert [h.name for h in hops] == ["home->settings", "settings->about"]
    assert all(h.ok and h.detail["arrived"] and h.detail["duration_ms"] > 0 for h in hops)
    presses = [s for s in walk.log.steps if s.kind == "press"]
    assert len(presses) == 7 + 5 and all(p.depth == hops[0].depth + 1 for p in presses)
    kpis = [(k.name, k.device) for k in walk.log.kpis]
    assert kpis == [("nav:home->settings", "nav-a"), ("nav:settings->about", "nav-a")]
    assert [k.value_ms for k in walk.log.kpis] == [h.detail["duration_ms"] for h in hops]
    assert walk.nav.costs.stats(walk.nav.tree.edges_from("settings")[-1]).count == 1

    walk.nav.navigate_to("live_tv")  # about -> home is the "*" edge
    assert walk.screen_is("live_tv")
    assert [h.name for h in walk.hops()[2:]] == ["about->home", "home->live_tv"]
    assert [k.name for k in walk.log.kpis[2:]] == ["nav:*->home", "nav:home->live_tv"]
    with pytest.raises(UnknownNodeError, match="'nowhere'.*home, live_tv"):
        walk.nav.navigate_to("nowhere")
    for bad in (0, -1, float("nan"), "10"):
        with pytest.raises(BadArgument, match="timeout must be seconds > 0"):
            walk.nav.navigate_to("home", timeout=bad)
    with pytest.raises(BadArgument, match="max_retries"):
        Navigator(walk.nav.tree, walk.remote, walk.screen, max_retries=-1)


def test_follow_is_one_hop_and_fails_its_step_when_it_does_not_arrive(lease, tmp_path):
    dev = lease("nav-a")
    tree = load_served_tree(dev, tmp_path / "tree")
    walk = Walk(dev, tree, tmp_path)
    to_settings = next(e for e in tree.edges if (e.source, e.target) == ("home", "settings"))
    assert walk.nav.follow(to_settings) is True
    to_live = next(e for e in tree.edges if (e.source, e.target) == ("home", "live_tv"))
    assert walk.nav.follow(to_live) is False  # pressed on settings, not home: no live TV
    first, second = walk.hops()
    assert first.ok and first.detail["arrived"] and walk.log.kpis[0].name == "nav:home->settings"
    assert not second.ok and second.detail["arrived"] is False  # no recovery here
    assert "not at 'live_tv'" in second.error
    assert [k.name for k in walk.log.kpis][1:] == ["nav-miss:home->live_tv"]


def test_subtree_nodes_are_walked_on_the_device_that_has_them(lease, tmp_path):
    dev = lease("nav-b")
    walk = Walk(dev, load_served_tree(dev, tmp_path / "tree"), tmp_path)
    walk.nav.navigate_to("settings/about")
    assert walk.screen_is("about")
    assert [h.name for h in walk.hops()] == ["home->settings", "settings->settings/about"]
    assert [k.name for k in walk.log.kpis][-1] == "nav:settings->settings/about"


def test_a_failing_edge_is_recovered_from_and_then_avoided(lease, tmp_path):
    """The cheap home->settings edge really opens the guide: the walk re-localises there,
    re-plans, arrives by the other edge, and the next plan avoids the failing one."""
    shutil.copytree(IMAGES, tmp_path / "images")
    path = tmp_path / "tree.toml"
    path.write_text(
        '[nodes.home]\nimage = "images/home.png"\nregion = [0, 0, 1280, 60]\n'
        '[nodes.guide]\nimage = "images/guide.png"\nregion = [0, 0, 1280, 60]\n'
        '[nodes.settings]\nimage = "images/settings.png"\nregion = [0, 0, 1280, 60]\n'
        '[[edges]]\nfrom = "*"\nto = "home"\nkeys = ["KEY_HOME"]\n'
        '[[edges]]\nfrom = "home"\nto = "guide"\n'
        f"keys = {TO_GUIDE}\n"
        "# wrong: these keys open the guide\n"
        '[[edges]]\nfrom = "home"\nto = "settings"\ncost = 0.1\ntimeout = 2\n'
        f"keys = {TO_GUIDE}\n"
        '[[edges]]\nfrom = "home"\nto = "settings"\ncost = 5\n'
        'keys = ["KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_LEFT", '
        '"KEY_OK"]\n'
    )
    tree = load_tree(path)
    wrong, right = tree.edges[2], tree.edges[3]
    walk = Walk(lease("nav-a"), tree, tmp_path)
    walk.nav.navigate_to("settings")
    assert walk.screen_is("settings")
    hops = walk.hops()
    assert [h.name for h in hops] == ["home->settings", "guide->home", "home->settings"]
    assert [h.detail["edge"] for h in hops] == [wrong.where, tree.edges[0].where, right.where]
    missed = hops[0]
    assert missed.ok and missed.detail["arrived"] is False and missed.detail["now"] == "guide"
    assert not [s for s in walk.log.steps if not s.ok]  # recovered: no failed step at all
    assert "nav-miss:home->settings" in [k.name for k in walk.log.kpis]
    assert walk.nav.costs.stats(wrong).failures == 1
    walk.nav.navigate_to("home")
    walk.nav.navigate_to("settings")  # learnt: straight by the edge that works
    assert walk.hops()[-1].detail["edge"] == right.where and walk.hops()[-1].detail["arrived"]


def test_navigation_error_says_what_was_planned_taken_and_where_it_got_lost(lease, tmp_path):
    dev = lease("nav-a")
    walk = Walk(dev, load_served_tree(dev, tmp_path / "tree"), tmp_path, max_retries=0)
    dev.sim_inject("drop_keys", {"probability": 1.0})
    with pytest.raises(NavigationError) as e:
        walk.nav.navigate_to("about", timeout=2.5)
    err = e.value
    assert err.target == "about"
    assert err.planned == ["home", "settings", "about"]
    assert err.taken == ["home"] and err.lost_at == "home"
    assert err.screenshot.exists() and err.screenshot.read_bytes()[:4] == b"\x89PNG"
    assert err.screenshot.parent == tmp_path
    assert "planned home -> settings -> about" in str(err) and "lost at home" in str(err)
    (hop,) = walk.hops()
    assert not hop.ok and "not at 'settings'" in hop.error  # no retry left: a failed step


def test_recovers_from_dropped_keys(lease, tmp_path):
    dev = lease("nav-a")
    walk = Walk(dev, load_served_tree(dev, tmp_path / "tree"), tmp_path, max_retries=6)
    dev.sim_inject("drop_keys", {"probability": 0.15})
    targets = ["about", "guide", "settings", "live_tv", "about", "home", "guide", "settings"]
    for target in targets:
        walk.nav.navigate_to(target, timeout=60)
        assert walk.screen_is(target), target
        if any(not h.detail["arrived"] for h in walk.hops()):
            break
    dropped = [e for e in dev.sim_events() if e.get("dropped")]
    assert dropped, "no key was dropped: the test proved nothing"
    assert any(not h.detail["arrived"] for h in walk.hops())
    assert all(h.ok for h in walk.hops())  # every miss was recovered: none is a failed step


def test_recovers_from_a_popup_over_the_start_screen(lease, tmp_path):
    dev = lease("nav-a")
    walk = Walk(dev, load_served_tree(dev, tmp_path / "tree"), tmp_path)
    dev.sim_inject("popup", {})
    end = time.monotonic() + 3  # drawn on the next frames
    while walk.nav.current_node() != "popup":
        assert time.monotonic() < end, "the popup was never recognised"
    walk.nav.navigate_to("guide")
    assert walk.screen_is("guide") and not dev.sim_state()["popup"]
    hops = walk.hops()  # then home -> guide, directly or through live TV (same key count)
    assert hops[0].name == "popup->home" and hops[-1].name.endswith("->guide")
    assert all(h.ok and h.detail["arrived"] for h in hops)


def test_recovers_from_popups_that_open_during_the_walk(lease, tmp_path):
    dev = lease("nav-a")
    walk = Walk(dev, load_served_tree(dev, tmp_path / "tree"), tmp_path, max_retries=6)
    dev.sim_inject("popup", {"probability": 0.1})
    for target in ["about", "guide", "settings", "live_tv", "about", "guide", "home"]:
        walk.nav.navigate_to(target, timeout=60)
        assert walk.screen_is(target), target
        if any(h.detail.get("now") == "popup" for h in walk.hops()):
            break
    seen = [h for h in walk.hops() if h.detail.get("now") == "popup"]
    assert seen, "no popup opened during a hop: the test proved nothing"
    assert all(h.ok for h in walk.hops())
    assert "popup->home" in [h.name for h in walk.hops()]


# --- through the plugin: the lab's tree, stb.navigation, history from the results DB ---------

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
    from pytest_virtualpy.results.db import Database, parse_url
    from pytest_virtualpy.results.records import RunRecord, TestRecord
    from pytest_virtualpy.results.sink import Sink

    _plugin_project(pytester, plugin_lab, monkeypatch)
    _ini(pytester, "none")
    monkeypatch.setenv("EXPECT_ROUTE", "direct")  # declared cost 0.5 s: the direct edge
    result = pytester.runpytest_subprocess("--lab=navplug", "-p", "no:randomly")
    result.assert_outcomes(passed=1)

    # past runs measured the direct edge at 9 s on this model: go via live TV instead
    db_path = pytester.path / "history.db"
    db = Database.connect(parse_url(str(db_path), pytester.path))
    now = time.time()
    slow = [
        {"name": "nav:home->guide", "device": "old-box", "value_ms": 9000.0, "time": now - i}
        for i in range(5)
    ]
    old = TestRecord("old", "t.py::t", "passed", device="old-box", model="nav-hist", lab="x")
    old.kpis = slow
    Sink(db).write(RunRecord("old", started_at=now - 60), [old])
    db.close()
    _ini(pytester, str(db_path))
    monkeypatch.setenv("EXPECT_ROUTE", "via live_tv")
    result = pytester.runpytest_subprocess("--lab=navplug", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_lab_toml_navigation_must_be_a_tree_file(tmp_path):
    from lab_daemon.config import load_config

    lab = tmp_path / "lab.toml"
    for value, message in (("nope.toml", "does not exist"), (".", "is not a file")):
        lab.write_text(f'[[devices]]\nname = "b"\nkind = "sim"\nnavigation = "{value}"\n')
        with pytest.raises(ConfigError, match=rf"device 'b'.*navigation.*{message}"):
            load_config(lab)
    (tmp_path / "tree.toml").write_text("")
    lab.write_text('[[devices]]\nname = "b"\nkind = "sim"\nnavigation = "tree.toml"\n')
    assert load_config(lab).devices[0].navigation == str(tmp_path / "tree.toml")


def test_text_recognisers_and_settle_conditions_on_the_device(lease, tmp_path):
    """Nodes recognised by OCR'd text (alone and with an image), an edge that waits for
    the screen to be still and for a check to hold, and one whose check never holds."""
    shutil.copytree(IMAGES, tmp_path / "images")
    path = tmp_path / "tree.toml"
    path.write_text(
        '[nodes.home]\nimage = "images/home.png"\nregion = [0, 0, 1280, 60]\n'
        '[nodes.settings]\ntext = "Settings"\nregion = [480, 0, 320, 60]\n'
        '[nodes.about]\nall = [{ image = "images/about.png", region = [0, 0, 1280, 60] },\n'
        '       { text = { text = "About", region = [480, 0, 320, 60] } }]\n'
        '[[edges]]\nfrom = "*"\nto = "home"\nkeys = ["KEY_HOME"]\n'
        '[[edges]]\nfrom = "home"\nto = "settings"\n'
        'keys = ["KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_LEFT", '
        '"KEY_OK"]\n'
        "settle = { stable_secs = 0.3, region = [0, 0, 1280, 60], "
        'until = { image = "images/settings.png", region = [0, 0, 1280, 60] } }\n'
        '[[edges]]\nfrom = "settings"\nto = "about"\ntimeout = 2\n'
        'keys = ["KEY_DOWN", "KEY_DOWN", "KEY_DOWN", "KEY_DOWN", "KEY_OK"]\n'
        'settle = { until = { image = "images/live_tv.png", region = [40, 30, 300, 44] } }\n'
    )
    walk = Walk(lease("nav-a"), load_tree(path), tmp_path, max_retries=0)
    walk.nav.navigate_to("settings")
    assert walk.screen_is("settings") and walk.nav.current_node() == "settings"
    (hop,) = walk.hops()
    assert hop.ok and hop.detail["arrived"]
    with pytest.raises(NavigationError, match="settings -> about did not arrive"):
        walk.nav.navigate_to("about")  # on About, but live TV never shows: not arrived
    assert walk.screen_is("about") and walk.nav.current_node() == "about"
    assert walk.hops()[-1].detail["now"] == "about" and not walk.hops()[-1].ok


def test_a_popup_the_tree_does_not_know_is_closed_by_the_recovery_keys(lease, tmp_path):
    """Tree B has no popup node: the dimmed screen is unrecognised and swallows KEY_HOME;
    after that miss the navigator presses the tree's recovery keys (KEY_BACK)."""
    dev = lease("nav-b")
    walk = Walk(dev, load_served_tree(dev, tmp_path / "tree"), tmp_path)
    assert walk.nav.tree.recovery_keys == ("KEY_BACK",)
    dev.sim_inject("popup", {})
    end = time.monotonic() + 3
    while walk.nav.current_node() is not None:
        assert time.monotonic() < end, "the popup never covered the screen"
    walk.nav.navigate_to("guide")
    assert walk.screen_is("guide") and not dev.sim_state()["popup"]
    kinds = [(s.kind, s.name) for s in walk.log.steps if s.kind in ("nav_hop", "nav_recover")]
    assert kinds[:2] == [("nav_hop", "?->home"), ("nav_recover", "KEY_BACK")]
    assert all(s.ok for s in walk.log.steps)


def test_the_example_tree_gets_past_popups_with_its_recovery_keys(lease, tmp_path):
    """examples/navigation.toml has no popup node: popups during the walk leave it on an
    unrecognised screen, and KEY_BACK (the default recovery key) gets it going again."""
    dev = lease("nav-a")
    walk = Walk(dev, load_tree(EXAMPLES / "navigation.toml"), tmp_path, max_retries=6)
    dev.sim_inject("popup", {"probability": 0.1})
    for target in ["about", "guide", "settings", "live_tv", "about", "guide", "home"]:
        walk.nav.navigate_to(target, timeout=60)
        assert walk.screen_is(target) and not dev.sim_state()["popup"], target
        if any(s.kind == "nav_recover" for s in walk.log.steps):
            break
    assert [s for s in walk.log.steps if s.kind == "nav_recover"], "no popup: proved nothing"
    assert all(s.ok for s in walk.log.steps)

"""Walking a navigation tree on the simulated box, through a real daemon over real RPyC.

The navigator localises, plans on measured costs, walks, records hops as steps and KPIs,
settles on the edges' conditions and recovers from a failing edge; when it cannot,
NavigationError says where. (Served trees: test_navigation_served.py; dropped keys and
popups: test_navigation_recovery.py; through the plugin: test_navigation_plugin.py.)
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from pytest_virtualpy.errors import BadArgument, NavigationError, UnknownNodeError
from pytest_virtualpy.navigation import Navigator, load_served_tree, load_tree
from tests import nav_lab
from tests.nav_lab import Walk
from tests.nav_trees import IMAGES

pytestmark = pytest.mark.timeout(240)

served, lease = nav_lab.served, nav_lab.lease  # this module's daemon, and leases on it

TO_GUIDE = '["KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_RIGHT", "KEY_OK"]'


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
    unsettled = "'about' is on screen but the settle condition of settings -> about"
    with pytest.raises(NavigationError, match=unsettled):
        walk.nav.navigate_to("about")  # on About, but live TV never shows: not arrived
    assert walk.screen_is("about") and walk.nav.current_node() == "about"
    assert walk.hops()[-1].detail["now"] == "about" and not walk.hops()[-1].ok

    # with retries, it waits again (no keys: they would leave About), then gives up
    retrying = Walk(walk.dev, load_tree(path), tmp_path, max_retries=2, home=False)
    retrying.nav.navigate_to("settings")
    before = len(retrying.log.steps)
    with pytest.raises(NavigationError, match=unsettled + r".*after 2 retries") as e:
        retrying.nav.navigate_to("about", timeout=20)
    assert e.value.lost_at == "about" and walk.screen_is("about")
    steps = retrying.log.steps[before:]
    assert [s.detail["arrived"] for s in steps if s.kind == "nav_settle"] == [False, False]
    assert len([s for s in steps if s.kind == "press"]) == 5  # the edge's keys, once

    # a stillness to wait for that cannot end within the walk's time is not waited for
    path.write_text(path.read_text().replace("stable_secs = 0.3", "stable_secs = 4"))
    slow = Walk(walk.dev, load_tree(path), tmp_path, max_retries=0, home=False)
    started = time.monotonic()
    with pytest.raises(NavigationError, match="settle condition of"):
        slow.nav.navigate_to("settings", timeout=2)
    assert time.monotonic() - started < 3.5


def test_an_arrival_shows_the_reference_that_proved_it_also_after_a_settle_check(lease, tmp_path):
    """The hop's ``match`` steps come from the frame that recognised the target, not from
    the edge's ``until`` check that came after it."""
    shutil.copytree(IMAGES, tmp_path / "images")
    path = tmp_path / "tree.toml"
    path.write_text(
        '[nodes.home]\nimage = "images/home.png"\nregion = [0, 0, 1280, 60]\n'
        '[nodes.guide]\nimage = "images/guide.png"\nregion = [0, 0, 1280, 60]\n'
        '[[edges]]\nfrom = "*"\nto = "home"\nkeys = ["KEY_HOME"]\n'
        '[[edges]]\nfrom = "home"\nto = "guide"\nkeys = ["KEY_EPG"]\n'
        'settle = { until = { image = "images/guide.png", region = [0, 0, 1280, 120] } }\n'
    )
    walk = Walk(lease("nav-a"), load_tree(path), tmp_path)
    walk.nav.navigate_to("guide")
    (hop,) = walk.hops()
    inside = walk.log.steps[walk.log.steps.index(hop) + 1 :]
    matches = [s for s in inside if s.kind == "match"]
    assert [Path(s.name).name for s in matches] == ["guide.png"]
    assert matches[0].detail["matched"] and matches[0].detail["score"] > 0.9

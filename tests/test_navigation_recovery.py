"""Navigation recovering on the simulated box, through a real daemon over real RPyC.

Keys the box drops and popups over the start screen or during the walk are recovered
from (through the tree's popup node, else by the tree's recovery keys), each miss a hop
that arrived elsewhere and none a failed step.
"""

from __future__ import annotations

import dataclasses
import shutil
import time

import pytest

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.navigation import load_served_tree, load_tree
from tests import nav_lab
from tests.nav_lab import Walk
from tests.nav_trees import EXAMPLES

pytestmark = pytest.mark.timeout(240)

served, lease = nav_lab.served, nav_lab.lease  # this module's daemon, and leases on it


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


def test_a_popup_the_tree_does_not_know_is_closed_by_the_recovery_keys(lease, tmp_path):
    """Tree B has no popup node: the dimmed screen is unrecognised and swallows KEY_HOME;
    after that miss the navigator presses the tree's recovery keys (KEY_BACK)."""
    dev = lease("nav-b")
    walk = Walk(dev, load_served_tree(dev, tmp_path / "tree"), tmp_path)
    assert walk.nav.tree.recovery_keys == ("KEY_BACK",)
    walk.open_popup()
    walk.nav.navigate_to("guide")
    assert walk.screen_is("guide") and not dev.sim_state()["popup"]
    kinds = [(s.kind, s.name) for s in walk.log.steps if s.kind in ("nav_hop", "nav_recover")]
    assert kinds[:2] == [("nav_hop", "?->home"), ("nav_recover", "KEY_BACK")]
    assert all(s.ok for s in walk.log.steps)


def test_a_typo_in_the_recovery_keys_is_a_config_error_not_skipped(lease, tmp_path):
    dev = lease("nav-b")
    tree = load_served_tree(dev, tmp_path / "tree")
    tree = dataclasses.replace(tree, recovery_keys=("KEY_BAKC",))
    walk = Walk(dev, tree, tmp_path, max_retries=1)
    walk.open_popup()
    with pytest.raises(ConfigError, match=r"\[recovery\] keys: unknown key 'KEY_BAKC'\. "
                       "Did you mean KEY_BACK"):  # fmt: skip
        walk.nav.navigate_to("guide")


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


def test_an_unknown_screen_in_a_tree_without_star_edges_tries_the_recovery_keys(lease, tmp_path):
    """No "*" edge leads anywhere from an unrecognised screen (the popup): before giving
    up, the navigator presses the recovery keys, which close it."""
    shutil.copytree(EXAMPLES / "images", tmp_path / "images")
    path = tmp_path / "tree.toml"
    path.write_text(
        '[nodes.home]\nimage = "images/home.png"\nregion = [0, 0, 1280, 60]\n'
        '[nodes.settings]\nimage = "images/settings.png"\nregion = [0, 0, 1280, 60]\n'
        '[[edges]]\nfrom = "home"\nto = "settings"\nkeys = ["KEY_MENU"]\n'
        '[[edges]]\nfrom = "settings"\nto = "home"\nkeys = ["KEY_BACK"]\n'
    )
    dev = lease("nav-b")
    walk = Walk(dev, load_tree(path), tmp_path)
    walk.open_popup()
    walk.nav.navigate_to("settings")
    assert walk.screen_is("settings") and not dev.sim_state()["popup"]
    assert [s.kind for s in walk.log.steps if s.kind.startswith("nav_")] == [
        "nav_recover",
        "nav_hop",
    ]

"""Each box's navigation tree, served by the daemon (lab.toml ``navigation = ...``).

A device's tree and its images come over real RPyC from a real daemon; the session keeps
each device's tree (else the ini's) and its measured costs by model, and names a broken
tree's device; device files stay inside their folder; lab.toml's ``navigation`` must be
a tree file.
"""

from __future__ import annotations

import pytest

from pytest_virtualpy.errors import BadArgument, ConfigError
from pytest_virtualpy.navigation import EdgeStats, SessionNavigation, load_served_tree, load_tree
from pytest_virtualpy.remote import Remote
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from tests import nav_lab
from tests.nav_trees import EXAMPLES, IMAGES

pytestmark = pytest.mark.timeout(240)

served, lease = nav_lab.served, nav_lab.lease  # this module's daemon, and leases on it


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

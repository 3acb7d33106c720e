"""Localisation in one daemon call (issue 11, "Going places"): the real daemon, a real box.

Each screen the simulated box can show is checked against the box's own ground truth
(``sim_state``); text checks are OCRed here on crops of the frame the images were
matched on, and ``all`` / ``any`` are composed client side.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.navigation import localise as localise_module
from pytest_virtualpy.navigation.localise import Localiser
from pytest_virtualpy.navigation.model import (
    AllOf,
    AnyOf,
    ImageCheck,
    NavigationTree,
    Node,
    TextCheck,
    load_tree,
)
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from pytest_virtualpy.vision import Region
from tests.conftest import wait_until
from tests.sim_frames import wait_for_home_frame

EXAMPLE = Path(__file__).parent.parent / "examples" / "navigation.toml"
IMAGES = EXAMPLE.parent / "images"
TITLE = Region(0, 0, 1280, 60)

#: keys from home to each screen of the box, and what the example tree calls it
SCREENS = {
    "home": ([], "home"),
    "live_tv": (["KEY_LEFT"] * 5 + ["KEY_OK"], "live_tv"),
    "guide": (["KEY_EPG"], "guide"),
    "settings": (["KEY_MENU"], "settings"),
    "about": (["KEY_MENU"] + ["KEY_DOWN"] * 4 + ["KEY_OK"], "about"),
    "recordings": (["KEY_LEFT"] * 5 + ["KEY_RIGHT"] * 2 + ["KEY_OK"], None),  # not in the tree
}


class CountingDevice(DeviceClient):
    """The real client, counting the daemon calls it makes."""

    calls: list[str]

    def _call(self, method, *args, **kw):
        self.calls.append(method)
        return super()._call(method, *args, **kw)

    def _call_bytes(self, method, *args, **kw):
        self.calls.append(method)
        return super()._call_bytes(method, *args, **kw)


@pytest.fixture
def counted(device):
    wait_for_home_frame(device)
    dev = CountingDevice(device.client, {**device.info, "lease_id": device.lease_id})
    dev.calls = []
    return dev


def screen_of(dev: DeviceClient) -> TvScreen:
    return TvScreen(dev, StepLog(), lambda name, data: Path(name))


def go(dev: DeviceClient, screen: str) -> None:
    dev.press("KEY_HOME")
    wait_until(lambda: dev.sim_state()["screen"] == "home")
    for key in SCREENS[screen][0]:
        dev.press(key)
    wait_until(lambda: dev.sim_state()["screen"] == screen)


@pytest.mark.parametrize("screen", SCREENS)
def test_locate_names_the_screen_the_box_shows(counted, screen):
    localiser = Localiser(load_tree(EXAMPLE), screen_of(counted))
    go(counted, screen)
    expected = SCREENS[screen][1]
    # the UI may still be animating the last key: the answer settles within a second
    wait_until(lambda: localiser.locate() == expected, timeout=3)
    assert localiser.locate() == expected
    assert localiser.last_time is not None


def test_one_round_trip_once_the_daemon_holds_the_references(counted):
    localiser = Localiser(load_tree(EXAMPLE), screen_of(counted))
    localiser.locate()  # may upload (a fresh daemon lacks the references)
    counted.calls.clear()
    for _ in range(5):
        assert localiser.locate() == "home"
    assert counted.calls == ["match_many"] * 5


def tree_of(path: Path, **recognisers) -> NavigationTree:
    return NavigationTree(path, {n: Node(n, r) for n, r in recognisers.items()}, [])


def test_text_checks_and_all_any_are_composed_on_the_same_frame(counted, tmp_path):
    home_image = ImageCheck(IMAGES / "home.png", TITLE)
    tree = tree_of(
        tmp_path / "t.toml",
        # the image is there but the text is not: all() is false
        wrong_text=AllOf((home_image, TextCheck("Settings", TITLE))),
        # neither image matches: any() is false
        neither=AnyOf((ImageCheck(IMAGES / "guide.png", TITLE), ImageCheck(IMAGES / "about.png"))),
        home_by_text=AllOf((TextCheck("Home", TITLE), AnyOf((home_image, TextCheck("zzz"))))),
        home=home_image,
    )
    screen = screen_of(counted)
    localiser = Localiser(tree, screen)
    assert localiser.locate() == "home_by_text"
    assert localiser.holds(tree.node("home").recogniser)
    assert not localiser.holds(tree.node("wrong_text").recogniser)
    go(counted, "settings")
    wait_until(lambda: localiser.locate() is None, timeout=3)
    assert localiser.holds(AllOf((TextCheck("Settings", TITLE), TextCheck("Picture"))))


def test_holds_takes_recognisers_the_tree_does_not_name(counted):
    localiser = Localiser(load_tree(EXAMPLE), screen_of(counted))
    settings_image = ImageCheck(IMAGES / "settings.png", Region(0, 0, 1280, 120))  # not in it
    assert not localiser.holds(settings_image)
    go(counted, "settings")
    wait_until(lambda: localiser.holds(settings_image), timeout=3)
    assert localiser.holds(AnyOf((ImageCheck(IMAGES / "home.png", TITLE), settings_image)))


def test_a_region_off_the_frame_names_its_node_and_tree(counted, tmp_path):
    tree = tree_of(
        tmp_path / "t.toml",
        home=ImageCheck(IMAGES / "home.png", TITLE),
        guide=ImageCheck(IMAGES / "guide.png", Region(2000, 0, 100, 60)),
        banner=TextCheck("News", Region(0, 900, 100, 40)),
    )
    localiser = Localiser(tree, screen_of(counted))
    with pytest.raises(ConfigError) as e:
        localiser.locate()
    assert str(e.value).startswith(f"{tmp_path / 't.toml'}: node 'guide': its image guide.png's")
    assert "(2000, 0, 100, 60) lies outside the 1280x720 frame" in str(e.value)
    only_text = tree_of(tmp_path / "u.toml", banner=TextCheck("News", Region(0, 900, 100, 40)))
    with pytest.raises(ConfigError, match="node 'banner': its text check's region"):
        Localiser(only_text, screen_of(counted)).locate()


def test_references_too_big_for_the_daemons_store_are_a_config_error(counted, tmp_path):
    """25 whole 1080p screenshots as references: 155 MB decoded, more than the daemon
    keeps (REFERENCE_STORE_BYTES), so it would drop some as soon as they arrived."""
    nodes = {}
    for i in range(25):
        path = tmp_path / f"screen{i}.png"
        cv2.imwrite(str(path), np.full((1080, 1920, 3), (i * 9, 50, 90), np.uint8))
        nodes[f"screen{i}"] = ImageCheck(path)
    with pytest.raises(ConfigError, match=r"t\.toml: its reference images take 148 MB .*cut"):
        Localiser(tree_of(tmp_path / "t.toml", **nodes), screen_of(counted))


def test_references_are_encoded_once_per_version_of_their_file(tmp_path):
    path = tmp_path / "logo.png"
    cv2.imwrite(str(path), np.full((40, 120, 3), 90, np.uint8))
    tree = tree_of(tmp_path / "t.toml", logo=ImageCheck(path))
    first = Localiser(tree, None)  # each test's navigator builds one
    hits = localise_module._reference.cache_info().hits
    assert Localiser(tree, None)._refs == first._refs
    assert localise_module._reference.cache_info().hits == hits + 1
    cv2.imwrite(str(path), np.full((40, 120, 3), 200, np.uint8))  # the file changed
    os.utime(path, ns=(time.time_ns() + 10**9,) * 2)
    assert Localiser(tree, None)._refs.keys() != first._refs.keys()

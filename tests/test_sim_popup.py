"""The simulated box's "popup" fault: a modal dialog that only KEY_BACK closes (issue 11).

On the box with a fake clock (tests/sim_box.py), then through the real daemon.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from lab_daemon.sim import SimulatedBox
from pytest_virtualpy.errors import BadArgument
from pytest_virtualpy.navigation.localise import Localiser
from pytest_virtualpy.navigation.model import ImageCheck, load_tree
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from pytest_virtualpy.vision import Region
from tests import sim_box
from tests.conftest import wait_until
from tests.nav_trees import POPUP_EDGE, POPUP_NODE
from tests.sim_box import PANEL_BGR, L, crop, idle, panel_fraction, press

EXAMPLE = Path(__file__).parent.parent / "examples" / "navigation.toml"

clock, box = sim_box.clock, sim_box.box  # a fake clock, and a box booted to home on it


def test_a_popup_covers_the_screen_and_swallows_keys_until_back(box, clock):
    before = idle(box, clock, 0.1).copy()
    box.inject("popup")
    assert box.popup and box.faults() == {}  # shown now: nothing stands
    shown = idle(box, clock, 0.1)
    assert panel_fraction(shown, L.popup) > 0.5  # the dialog's panel
    outside = (0, L.title_bar[3], L.width, L.popup[1])  # between title bar and dialog
    assert crop(shown, outside).mean() < 0.5 * crop(before, outside).mean()  # dimmed
    assert not np.any(np.all(crop(shown, L.title_bar) == PANEL_BGR, axis=2))

    swallowed = len(box.events())
    press(box, clock, "KEY_MENU", "KEY_HOME", "KEY_RIGHT", "KEY_OK")
    assert box.screen == "home" and box.popup
    assert all(e["effect"] is None for e in box.events()[swallowed:])  # no effect at all

    press(box, clock, "KEY_BACK")
    assert not box.popup and box.screen == "home"
    tiles = (0, L.home_tiles[0][1], L.width, L.home_tiles[0][3])  # focus still on the first
    assert np.array_equal(crop(idle(box, clock, 0.1), tiles), crop(before, tiles))
    press(box, clock, "KEY_MENU")
    assert box.screen == "settings"


def test_a_standing_popup_opens_after_key_presses_with_its_probability(box, clock):
    box.inject("popup", probability=1.0)
    assert box.faults() == {"popup": {"probability": 1.0}}
    press(box, clock, "KEY_RIGHT")
    assert box.popup
    press(box, clock, "KEY_BACK")  # the key that closes a dialog opens no other
    assert not box.popup
    press(box, clock, "KEY_MENU")
    assert box.screen == "settings" and box.popup
    box.clear()
    assert not box.popup and box.faults() == {}

    box.inject("popup", probability=0.25)
    opened = 0
    for _ in range(80):
        press(box, clock, "KEY_DOWN", gap=0.05)
        if box.popup:
            opened += 1
            press(box, clock, "KEY_BACK", gap=0.05)
    assert 8 < opened < 40


def test_popups_are_reproducible_for_a_seed(clock):
    def opened_at() -> list[int]:
        b = SimulatedBox(clock=clock, boot_secs=0, seed=7)
        b.start()
        try:
            b.inject("popup", probability=0.3)
            out = []
            for i in range(30):
                press(b, clock, "KEY_VOLUMEUP", gap=0.05)
                if b.popup:
                    out.append(i)
                    press(b, clock, "KEY_BACK", gap=0.05)
            return out
        finally:
            b.stop()

    first = opened_at()
    assert first and first == opened_at()


def test_popup_mistakes_are_clear(box, clock):
    with pytest.raises(ValueError, match=r"probability must be 0\.\.1"):
        box.inject("popup", probability=1.5)
    with pytest.raises(ValueError, match="valid: probability"):
        box.inject("popup", chance=0.5)
    box.power_off()
    with pytest.raises(ValueError, match="opens over a UI screen; the box shows 'off'"):
        box.inject("popup")


def test_a_popup_through_the_daemon_hides_the_node_until_back(device, tmp_path):
    shutil.copytree(EXAMPLE.parent / "images", tmp_path / "images")
    tree = tmp_path / "tree.toml"
    tree.write_text(POPUP_NODE + EXAMPLE.read_text() + POPUP_EDGE)
    localiser = Localiser(load_tree(tree), TvScreen(device, StepLog(), lambda n, d: Path(n)))
    wait_until(lambda: localiser.locate() == "home", timeout=3)
    device.sim_inject("popup", {})
    assert device.sim_state() == {"screen": "home", "powered": True, "popup": True}
    # the tree knows the dialog (its first node); home is hidden under it
    wait_until(lambda: localiser.locate() == "popup", timeout=3)
    home = ImageCheck(EXAMPLE.parent / "images" / "home.png", Region(0, 0, 1280, 60))
    assert not localiser.holds(home)
    device.press("KEY_HOME")
    device.press("KEY_MENU")
    time.sleep(0.3)
    assert localiser.locate() == "popup" and device.sim_state()["screen"] == "home"
    device.press("KEY_BACK")
    wait_until(lambda: localiser.locate() == "home", timeout=3)
    assert device.sim_state()["popup"] is False
    with pytest.raises(BadArgument, match="probability"):
        device.sim_inject("popup", {"probability": -1})

"""The differ's ``threshold`` and ``min_size`` cross the wire to the real daemon (simulated box).

The colour-only focus change through ``remote.press_and_wait`` is in
tests/hardware/test_differ_video.py (a video file as the capture).
"""

from __future__ import annotations

import re
import time

import pytest

from pytest_virtualpy.errors import BadArgument
from tests.conftest import wait_until

HOME_TILES = (64, 446, 1152, 144)


def _live_tv(device) -> None:
    """Live TV with the zap's black frames over: from black to video is a change as
    big as the whole frame, which no min_size can hide."""
    device.press("KEY_HOME")  # from wherever an earlier test left the box
    wait_until(lambda: device.sim_state()["screen"] == "home")
    for key in ["KEY_LEFT"] * 5 + ["KEY_OK"]:  # the first tile is live TV
        device.press(key)
    wait_until(lambda: device.sim_state()["screen"] == "live_tv")
    wait_until(lambda: not device.is_black(None, None, 20)["black"])


def test_min_size_and_threshold_reach_wait_for_motion(device):
    _live_tv(device)
    assert not device.wait_for_motion(None, None, 5.0, "5/10", None)["timed_out"]
    assert not device.wait_for_motion(None, None, 5.0, "5/10", None, (20, 20))["timed_out"]
    # no change is 255 colour levels strong (min_size on motion whose size is known
    # exactly: tests/hardware/test_min_size_video.py)
    assert device.wait_for_motion(None, None, 1.0, "5/10", 255, None)["timed_out"]


def test_press_and_wait_default_and_min_size(device):
    for _ in range(5):  # focus on the first tile, so KEY_RIGHT surely moves it
        device.press("KEY_LEFT")
    time.sleep(0.5)  # let the focus animations finish
    t = device.press_and_wait("KEY_RIGHT", HOME_TILES, None, 5.0, 0.3, None)
    assert t["status"] == "complete"
    # the focus moves within the tile row: a change as big as the row never comes
    t = device.press_and_wait("KEY_RIGHT", HOME_TILES, None, 1.0, 0.3, None, (1152, 144))
    assert t["status"] == "start_timeout"


@pytest.mark.parametrize(
    "min_size, message",
    [
        ((10,), "min_size must be (width, height) in whole pixels"),
        ((10, -1), "from 0 to 16384"),
        ((1.5, 2), "whole pixels"),
        ("ab", "got 'ab'"),
        ((True, 2), "got (True, 2)"),
    ],
)
def test_bad_min_size_is_a_bad_argument_from_every_method(device, min_size, message):
    message = re.escape(message)
    calls = [
        lambda: device.press_and_wait("KEY_LEFT", None, None, 1.0, 0.1, None, min_size),
        lambda: device.wait_for_motion(None, None, 1.0, 1, None, min_size),
        lambda: device.detect_motion(None, None, None, None, 1, min_size),
        lambda: device.is_frozen(None, None, 0.1, None, min_size),
    ]
    for call in calls:
        with pytest.raises(BadArgument, match=message):
            call()


def test_bad_threshold_is_a_bad_argument(device):
    with pytest.raises(BadArgument, match="threshold must be between 0 and 255"):
        device.wait_for_motion(None, None, 1.0, 1, 256, None)
    with pytest.raises(BadArgument, match="threshold must be between 0 and 255"):
        device.press_and_wait("KEY_LEFT", None, None, 1.0, 0.1, -1, None)

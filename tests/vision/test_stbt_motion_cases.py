"""stb-tester's own motion, transition and diff cases, run against our API.

Ported from stb-tester's tests/test_motion.py, tests/test_transition.py and
tests/test_diff.py (commit 4c19dd64 of github.com/stb-tester/stb-tester), on the
same frames and images (copied into ``stbt_cases/``). Where a case uses API only
stb-tester has (its fake device and clock, ``~Region``, ``differ=``), the *inputs*
are adapted; the expected answers are stb-tester's. Cases left out, and why:

- ``test_motionresult_repr``: the exact text of stbt's repr.
- ``GrayscaleDiff`` variants, ``differ=``, ``retries=``: stbt-only parameters.
- ``press_and_wait(region=..., mask=...)`` raising: stbt deprecated ``region`` as a
  synonym of ``mask``; here they are two separate arguments that may be combined.
- ``transition.frame`` checks: our `Transition` crosses the wire without a frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import cv2
import numpy as np
import pytest

from pytest_virtualpy.errors import BadArgument, MotionTimeout
from pytest_virtualpy.vision import (
    Frame,
    Region,
    Transition,
    detect_motion,
    load_image,
    wait_for_motion,
    wait_for_transition,
)

CASES = Path(__file__).parent / "stbt_cases"
KEYBOARD_1 = CASES / "xfinity-search-keyboard-1.png"
KEYBOARD_2 = CASES / "xfinity-search-keyboard-2.png"
MASK_OUT_LEFT_HALF = CASES / "mask-out-left-half-720p.png"

# --- test_motion.py ---------------------------------------------------------------------


def fake_frames() -> Iterator[Frame]:
    """stbt's fake_frames: 2x2 frames, one a second (stbt sleeps on a mocked clock)."""
    a = np.zeros((2, 2, 3), dtype=np.uint8)
    b = np.full((2, 2, 3), 255, dtype=np.uint8)
    # Motion:               v     v     v     v     v     v     v     v     v
    data = [a, a, a, a, a, a, b, b, a, a, b, b, a, a, b, b, a, a, b, b, a, a, b]
    for n, x in enumerate(data):
        yield Frame(x, time=1466084600.0 + n)


def wipe() -> Iterator[Frame]:
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    for x in range(0, 720, 2):
        frame[x : x + 2, :, :] = 255
        yield Frame(frame.copy(), time=x / 30.0)


def clamp(x, bottom, top):
    return min(top, max(bottom, x))


def gradient_wipe(min_=100, max_=200, swipe_height=40) -> Iterator[Frame]:
    """stbt's gradient_wipe: inter-frame differences always under 25."""
    frame = min_ * np.ones((720 + swipe_height * 4, 1280, 3), dtype=np.uint8)
    diff = max_ - min_
    speed = 24 * swipe_height / diff
    edge = np.ones((swipe_height * 3, 1280, 3), dtype=np.uint8) * min_
    for n in range(swipe_height * 3):
        edge[n, :, :] = clamp(max_ - (n - swipe_height) * diff / swipe_height, min_, max_)
    for x in range(0, frame.shape[0] - swipe_height * 3, int(speed)):
        frame[x : x + swipe_height * 3, :, :] = edge
        yield Frame(frame[swipe_height * 2 : swipe_height * 2 + 720].copy(), time=x / 30.0)


@pytest.mark.parametrize("consecutive, timeout", [("2/4", 10), ("2/3", 10), ("4/10", 20)])
def test_wait_for_motion_half_motion(consecutive, timeout) -> None:
    res = wait_for_motion(fake_frames(), consecutive_frames=consecutive, timeout_secs=timeout)
    assert res.time == 1466084606.0


@pytest.mark.parametrize("consecutive", ["3/4", 2])
def test_wait_for_motion_half_motion_times_out(consecutive) -> None:
    with pytest.raises(MotionTimeout):
        wait_for_motion(fake_frames(), consecutive_frames=consecutive)


def test_that_wait_for_motion_detects_a_wipe() -> None:
    assert wait_for_motion(wipe(), consecutive_frames="10/30")
    assert wait_for_motion(gradient_wipe())


def test_detect_motion_region_and_mask() -> None:
    def dm(**kwargs):
        return next(detect_motion(wipe(), **kwargs))

    r = Region(0, 0, 640, 1280)  # stbt: Region(0, 0, right=640, bottom=1280)
    # stbt checks only that these raise nothing; the first wipe frame adds 2 rows.
    for kwargs in (
        {},
        {"mask": str(MASK_OUT_LEFT_HALF)},
        {"mask": np.full((720, 1280), 255, dtype=np.uint8)},
        {"region": r},
        {"mask": r},
    ):
        assert dm(**kwargs).time == pytest.approx(2 / 30)
    with pytest.raises(BadArgument, match="mask doesn't overlap"):
        dm(mask=np.zeros((720, 1280), dtype=np.uint8))


# --- test_diff.py -------------------------------------------------------------------------


def test_bgrdiff() -> None:
    """The "?123" key changes colour but hardly its gray level."""
    frame1, frame2 = load_image(KEYBOARD_1), load_image(KEYBOARD_2)
    result = next(detect_motion([frame1, frame2]))
    assert result
    assert result.region == Region(87, 145, 129 - 87, 161 - 145)  # x=87 right=129 bottom=161


# --- test_transition.py ----------------------------------------------------------------------


def F(state: str, t: float) -> np.ndarray:
    if state == "black":
        return np.zeros((720, 1280, 3), dtype=np.uint8)
    if state == "white":
        return np.full((720, 1280, 3), 255, dtype=np.uint8)
    if state in ("fade-to-black", "fade-to-white"):
        return np.full((720, 1280, 3), 127, dtype=np.uint8)
    if state == "ball":
        # black background, a white ball that moves by 1 pixel every 10 ms
        array = np.zeros((720, 1280, 3), dtype=np.uint8)
        cv2.circle(array, (int(t * 100) % 625, 360), 15, (255, 255, 255), -1)
        return array
    return load_image(CASES / state)


class FakeDeviceUnderTest:
    """stbt's fake device at 25 fps; `press_and_wait` runs our `wait_for_transition`."""

    def __init__(self, frames: list[str] | None = None) -> None:
        self.state = "black"
        self._frames = frames
        self._t = 0.0
        self._stream = self._generate()

    def _generate(self) -> Iterator[Frame]:
        if self._frames is not None:
            state = None
            for state in self._frames:
                self._t += 0.04
                yield Frame(F(state, self._t), time=self._t)
            while True:
                self._t += 0.04
                yield Frame(F(state, self._t), time=self._t)
        while True:
            self._t += 0.04
            array = F(self.state, self._t)
            if self.state == "fade-to-black":
                self.state = "black"
            elif self.state == "fade-to-white":
                self.state = "white"
            yield Frame(array, time=self._t)

    def press_and_wait(self, key: str, **kwargs) -> Transition:
        frame_before = next(self._stream)
        if self._frames is None:
            self.state = key
        press_time = self._t
        frames = chain([frame_before], self._stream)  # read as needed, like a capture
        return wait_for_transition(frames, press_time, key=key, **kwargs)


@pytest.mark.parametrize("min_size", [None, (20, 20)])
def test_press_and_wait(min_size) -> None:
    dut = FakeDeviceUnderTest()
    transition = dut.press_and_wait("white", min_size=min_size, stable_secs=0.1)
    assert transition
    assert transition.status == "complete"
    assert transition.press_time < transition.start_time
    assert transition.start_time == transition.end_time
    assert transition.duration == pytest.approx(0.04)  # excludes the stable period

    transition = dut.press_and_wait("fade-to-black", min_size=min_size, stable_secs=0.1)
    assert transition
    assert transition.status == "complete"
    assert transition.start_time < transition.end_time


@pytest.mark.parametrize("min_size", [None, (20, 20)])
def test_press_and_wait_start_timeout(min_size) -> None:
    transition = FakeDeviceUnderTest().press_and_wait(
        "black", min_size=min_size, timeout_secs=0.2, stable_secs=0.1
    )
    assert not transition
    assert transition.status == "start_timeout"


@pytest.mark.parametrize("min_size", [None, (20, 20)])
def test_press_and_wait_stable_timeout(min_size) -> None:
    transition = FakeDeviceUnderTest().press_and_wait(
        "ball", min_size=min_size, timeout_secs=0.2, stable_secs=0.1
    )
    assert not transition
    assert transition.status == "stable_timeout"

    transition = FakeDeviceUnderTest().press_and_wait("ball", stable_secs=0)
    assert transition
    assert transition.status == "complete"


def _mask_out(r: Region) -> np.ndarray:
    """stbt's ``~Region``: everything but ``r`` is considered."""
    mask = np.full((720, 1280), 255, dtype=np.uint8)
    mask[r.to_slice()] = 0
    return mask


@pytest.mark.parametrize(
    "where, min_size, expected",
    [
        ({}, None, "stable_timeout"),
        ({"mask": str(MASK_OUT_LEFT_HALF)}, None, "start_timeout"),
        ({"mask": np.full((720, 1280), 255, dtype=np.uint8)}, None, "stable_timeout"),
        ({"region": Region(640, 0, 640, 720)}, None, "start_timeout"),
        ({"mask": Region(640, 0, 640, 720)}, None, "start_timeout"),
        ({"region": Region(0, 0, 1280, 360)}, None, "stable_timeout"),
        ({}, (0, 32), "start_timeout"),
        ({}, (0, 10), "stable_timeout"),
        # ~Region(x=10, y=340, right=640, bottom=380): a 10 px strip of the ball is left
        ({"mask": _mask_out(Region(10, 340, 630, 40))}, None, "stable_timeout"),
    ],
)
def test_press_and_wait_with_mask_or_region(where, min_size, expected) -> None:
    transition = FakeDeviceUnderTest().press_and_wait(
        "ball", min_size=min_size, timeout_secs=0.2, stable_secs=0.1, **where
    )
    assert transition.status == expected


def test_press_and_wait_region_parameter() -> None:
    transition = FakeDeviceUnderTest().press_and_wait(
        "ball", region=Region(640, 0, 640, 720), timeout_secs=0.2, stable_secs=0.1
    )
    assert transition.status == "start_timeout"


def test_press_and_wait_sees_a_colour_only_change() -> None:
    """stbt's test_press_and_wait_differ_parameter, with its default (BGR) differ."""
    dut = FakeDeviceUnderTest(frames=[KEYBOARD_1.name, KEYBOARD_2.name])
    assert dut.press_and_wait("KEY_RIGHT")


def test_press_and_wait_threshold_parameter() -> None:
    def dut():
        return FakeDeviceUnderTest(frames=[KEYBOARD_1.name, KEYBOARD_2.name])

    # Just the letters of the keyboard; exclude the focus bars above & below.
    r = Region(0, 100, 1280, 100)
    assert dut().press_and_wait("KEY_RIGHT", region=r)
    assert not dut().press_and_wait("KEY_RIGHT", region=r, threshold=90)


def test_wait_for_transition_to_end() -> None:
    """stbt's wait_for_transition_to_end on the moving ball: it never settles."""
    dut = FakeDeviceUnderTest()
    transition = dut.press_and_wait("ball", timeout_secs=0.2, stable_secs=0.1)
    assert not transition
    assert transition.status == "stable_timeout"


def test_press_and_wait_timestamps() -> None:
    dut = FakeDeviceUnderTest(["black"] * 10 + ["fade-to-white"] * 2 + ["white"])
    transition = dut.press_and_wait("fade-to-white")
    assert transition
    assert transition.start_time == pytest.approx(transition.press_time + 0.40)
    assert transition.duration == pytest.approx(0.48)
    assert transition.end_time == pytest.approx(transition.start_time + 0.08)


@pytest.mark.parametrize(
    "status, started, complete, stable",
    [
        ("start_timeout", False, False, True),
        ("stable_timeout", True, False, False),
        ("complete", True, True, True),
    ],
)
def test_transition_properties(status, started, complete, stable) -> None:
    t = Transition(key="KEY_OK", press_time=0, start_time=0, end_time=0, status=status)
    assert t.started == started
    assert t.complete == complete
    assert t.stable == stable

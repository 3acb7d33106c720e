"""A focus that only changes colour, seen by ``remote.press_and_wait`` through the real daemon.

The capture is a looping video file (made here with PyAV): a row of on-screen keyboard
keys whose focus moves every second, the focused key differing from the others only in
hue, at the same gray level. The remote is the command driver. A pytester run asks for
``remote`` and ``tv_screen``, as a user's test would.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from tests.hardware.video_files import write_lossless

FPS = 25
UNFOCUSED = (120, 80, 60)  # BGR slate blue
FOCUSED = (60, 75, 95)  # BGR brown: the same gray level


def _keyboard(focus: int) -> np.ndarray:
    frame = np.full((360, 640, 3), 30, np.uint8)
    for i in range(8):
        x = 60 + i * 66
        colour = FOCUSED if i == focus else UNFOCUSED
        cv2.rectangle(frame, (x, 200), (x + 56, 240), colour, -1)
    return frame


def _focus_video(path: Path) -> None:
    """2 s, looped by the daemon: key 3 focused for a second, then key 4."""
    write_lossless(path, (_keyboard(3 if i < FPS else 4) for i in range(2 * FPS)), FPS)


def _decoded_gray_difference(path: Path) -> int:
    with av.open(str(path)) as inp:
        frames = [f.to_ndarray(format="bgr24") for f in inp.decode(video=0)]
    a, b = (cv2.cvtColor(frames[i], cv2.COLOR_BGR2GRAY) for i in (0, FPS))
    return int(cv2.absdiff(a, b).max())


def test_press_and_wait_sees_a_colour_only_focus_change(pytester, tmp_path, served_lab):
    media = tmp_path / "keyboard.mp4"
    _focus_video(media)
    # what the daemon will capture differs in gray by less than any gray threshold sees
    assert _decoded_gray_difference(media) < 10
    presses = tmp_path / "presses.log"
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        f"""
[lab]
name = "bench"
port = 0

[[devices]]
name = "keyboard"
model = "colour-focus"
video = {{ source = "{media}", loop = true }}
remote = {{ kind = "command", command = "echo {{key}} >> {presses}", keys = ["KEY_RIGHT"] }}
"""
    )
    served_lab(lab_toml)
    pytester.makepyfile(
        """
        import pytest
        from pytest_virtualpy.errors import BadArgument, MotionTimeout

        def test_colour_focus(remote, tv_screen):
            t = remote.press_and_wait("KEY_RIGHT", timeout=3, stable_secs=0.3)
            assert t.status == "complete", t
            assert 0 < t.start_time - t.press_time <= 1.2
            # the change is about 123x41 px: a min_size above that never sees it
            t = remote.press_and_wait("KEY_RIGHT", timeout=2.5, stable_secs=0.3,
                                      min_size=(200, 50))
            assert t.status == "start_timeout", t
            # the two colours are 40 apart: a threshold of 30 sees that, 50 does not
            assert tv_screen.wait_for_motion(timeout=2.5, consecutive=1, threshold=30)
            with pytest.raises(MotionTimeout):
                tv_screen.wait_for_motion(timeout=2.5, consecutive=1, threshold=50)
            with pytest.raises(BadArgument, match="min_size must be"):
                remote.press_and_wait("KEY_RIGHT", timeout=1, min_size=(10, -1))
        """
    )
    result = pytester.runpytest_subprocess("--lab=bench", "--results-db=none")
    result.assert_outcomes(passed=1)
    assert presses.read_text().split() == ["KEY_RIGHT"] * 2  # the bad call sent nothing

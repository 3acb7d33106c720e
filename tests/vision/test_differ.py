"""The differ sees what stb-tester's BGR differ sees, and no more than a person would.

Each side of the line has a test: colour-only focus changes, small moving objects
and slow wipes are seen; compression noise and a blinking text cursor are not; and
``threshold`` / ``min_size`` move the line where a test asks.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import re

import av
import cv2
import numpy as np
import pytest
from vision_synth import menu, noisy

from pytest_virtualpy.errors import BadArgument, UsageError
from pytest_virtualpy.vision import (
    BlackResult,
    Frame,
    FreezeResult,
    MotionResult,
    Region,
    Transition,
    detect_motion,
    is_black,
    is_frozen,
    wait_for_motion,
    wait_for_transition,
)

FPS = 25.0
KEY_W, KEY_H, KEY_Y = 80, 60, 400
UNFOCUSED = (120, 80, 60)  # BGR: slate blue
FOCUSED = (60, 75, 95)  # BGR: brown, the same gray level as UNFOCUSED


def seq(arrays, t0: float = 0.0, fps: float = FPS) -> list[Frame]:
    return [Frame(a, time=t0 + i / fps) for i, a in enumerate(arrays)]


def gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def keyboard(focus: int) -> np.ndarray:
    """A row of on-screen keyboard keys; the focused one differs only in hue."""
    frame = np.full((720, 1280, 3), 30, np.uint8)
    for i, letter in enumerate("ABCDEFGHIJ"):
        x = 100 + i * (KEY_W + 10)
        colour = FOCUSED if i == focus else UNFOCUSED
        cv2.rectangle(frame, (x, KEY_Y), (x + KEY_W, KEY_Y + KEY_H), colour, -1)
        cv2.putText(
            frame, letter, (x + 28, KEY_Y + 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (230,) * 3, 2
        )
    return frame


def jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def h264(frames: list[np.ndarray], crf: int) -> list[np.ndarray]:
    """``frames`` through a real H.264 encoder and decoder (a GOP of 12, as broadcast)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = (
            frames[0].shape[1],
            frames[0].shape[0],
            "yuv420p",
        )
        stream.options = {"crf": str(crf), "g": "12", "preset": "veryfast"}
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="bgr24")))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        return [f.to_ndarray(format="bgr24") for f in inp.decode(video=0)]


def blinking_cursor(width: int, n: int = 40) -> list[np.ndarray]:
    """A search box whose ``width`` x 24 px text cursor blinks every 10 frames."""
    base, _ = menu()
    cv2.rectangle(base, (280, 490), (700, 534), (20, 20, 20), -1)
    frames = []
    for i in range(n):
        f = base.copy()
        if (i // 10) % 2 == 0:
            f[500:524, 300 : 300 + width] = 255
        frames.append(f)
    return frames


def moving_square(size: int = 10, step: int = 3, n: int = 30) -> list[np.ndarray]:
    """A ``size`` px square crossing a noisy menu ``step`` px a frame."""
    base, _ = menu()
    frames = []
    for i in range(n):
        f = base.copy()
        x = 600 + i * step
        f[80 : 80 + size, x : x + size] = (40, 220, 250)
        frames.append(noisy(f, sigma=3.0, seed=i))
    return frames


def gradient_wipe(levels_per_frame: int = 20, n: int = 36) -> list[np.ndarray]:
    """A soft-edged wipe from gray 60 to 160 down the screen: no pixel changes by more
    than ``levels_per_frame`` from one frame to the next, and every frame changes."""
    ramp_rows = 100  # 1 gray level a row
    step = levels_per_frame  # rows the edge moves a frame
    rows = np.arange(720 + ramp_rows * 2)
    frames = []
    for i in range(n):
        edge = i * step - ramp_rows
        level = np.clip(160 - (rows[:720] - edge), 60, 160).astype(np.uint8)
        frames.append(np.repeat(level[:, None, None], 1280, axis=1).repeat(3, axis=2))
    diffs = [int(cv2.absdiff(a, b).max()) for a, b in itertools.pairwise(frames)]
    assert min(diffs) > 0 and max(diffs) <= levels_per_frame
    return frames


# --- what must be seen ------------------------------------------------------------------


def test_colour_only_focus_change_is_motion_and_a_transition() -> None:
    before, after = keyboard(focus=3), keyboard(focus=4)
    assert int(cv2.absdiff(gray(before), gray(after)).max()) <= 1, "same gray: hue only"

    result = next(detect_motion(seq([before, after])))
    assert result, "a focus that only changes colour is motion"
    x3, x4 = 100 + 3 * (KEY_W + 10), 100 + 4 * (KEY_W + 10)
    assert result.region == Region(x3, KEY_Y, x4 + KEY_W + 1 - x3, KEY_H + 1)

    frames = [Frame(before, time=1.0), *seq([before] * 3 + [after] * 40, t0=1.0 + 1 / FPS)]
    t = wait_for_transition(frames, press_time=1.0, key="KEY_RIGHT", stable_secs=0.5)
    assert t.status == "complete"
    assert t.start_time == pytest.approx(1.0 + 4 / FPS)
    assert t.end_time == pytest.approx(1.0 + 4 / FPS)


def test_colour_only_change_survives_compression() -> None:
    before, after = jpeg(keyboard(focus=3), 75), jpeg(keyboard(focus=4), 75)
    assert next(detect_motion(seq([before, after])))


def test_a_small_moving_object_is_motion() -> None:
    result = wait_for_motion(seq(moving_square(size=10)), consecutive_frames=5)
    assert result.time == pytest.approx(1 / FPS)
    assert result.region.width == 10 + 3 and result.region.height == 10
    assert Region(600, 80, 200, 10).contains(result.region)


def test_a_ten_px_strip_of_a_moving_ball_is_motion() -> None:
    """Only a 10 px wide strip of the ball is unmasked (stbt's masked-ball case)."""
    frames = []
    for i in range(25):
        f = np.zeros((720, 1280, 3), np.uint8)
        cv2.circle(f, (4 + 4 * i, 360), 15, (255, 255, 255), -1)
        frames.append(f)
    mask = np.zeros((720, 1280), np.uint8)
    mask[:, :10] = 255
    result = wait_for_motion(seq(frames), mask=mask, consecutive_frames="3/5")
    assert Region(0, 340, 10, 40).contains(result.region)
    strip = Region(0, 300, 10, 120)
    widths = [m.region.width for m in detect_motion(seq(frames), region=strip) if m]
    assert widths and max(widths) <= 10


def test_a_slow_gradient_wipe_is_motion() -> None:
    frames = seq(gradient_wipe(levels_per_frame=20))
    results = list(detect_motion(frames))
    # Each frame differs from the one before by at most 20 levels; the differences add
    # up against the last frame that moved, so every other frame is motion.
    assert sum(map(bool, results)) >= len(results) // 2
    assert wait_for_motion(frames, consecutive_frames="10/20")
    t = wait_for_transition(frames, press_time=0.0, timeout_secs=2.0, stable_secs=0.5)
    assert t.status == "stable_timeout" and t.start_time == pytest.approx(2 / FPS)


# --- what must not be seen ---------------------------------------------------------------


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_jpeg_noise_is_not_motion(quality: int) -> None:
    base, _ = menu()
    frames = seq([jpeg(noisy(base, sigma=3.0, seed=i), quality) for i in range(30)])
    assert not any(detect_motion(frames))
    t = wait_for_transition(frames, press_time=0.0, timeout_secs=1.0)
    assert t.status == "start_timeout"


def test_h264_noise_is_not_motion() -> None:
    base, _ = menu()
    frames = seq(h264([noisy(base, sigma=3.0, seed=i) for i in range(50)], crf=28))
    assert len(frames) == 50
    assert not any(detect_motion(frames))
    assert is_frozen(frames, freeze_secs=1.5)


@pytest.mark.parametrize("width", [2, 3])
def test_a_blinking_cursor_is_not_motion(width: int) -> None:
    clean = blinking_cursor(width)
    for frames in (clean, [jpeg(noisy(f, 3.0, i), 75) for i, f in enumerate(clean)]):
        assert not any(detect_motion(seq(frames)))
        t = wait_for_transition(seq(frames), press_time=0.0, timeout_secs=1.5)
        assert t.status == "start_timeout"


def test_min_size_is_what_ignores_a_cursor() -> None:
    """With no minimum size the cursor's thin lines count: it turns off, on, off again."""
    for width in (2, 3):
        seen = [bool(r) for r in detect_motion(seq(blinking_cursor(width)), min_size=(0, 0))]
        assert sum(seen) == 3


def test_thin_slivers_of_a_moving_highlight_are_kept() -> None:
    """The last frame of an eased focus move shifts a 4 px outline by 1 px: two 1 px
    lines as tall as the tile. They are the end of the transition, not noise."""
    base, tiles = menu(selected=None)
    x, y, w, h = tiles[1]
    a, b = base.copy(), base.copy()
    cv2.rectangle(a, (x - 4, y - 4), (x + w + 4, y + h + 4), (0, 140, 255), 4)
    cv2.rectangle(b, (x - 3, y - 4), (x + w + 5, y + h + 4), (0, 140, 255), 4)
    result = next(detect_motion(seq([a, b])))
    assert result and result.region.width >= w and result.region.height >= h


# --- the knobs ----------------------------------------------------------------------------


def _block_change(w: int, h: int, colour=(0, 0, 90)) -> list[Frame]:
    a = np.full((720, 1280, 3), 50, np.uint8)
    b = a.copy()
    b[200 : 200 + h, 300 : 300 + w] = colour
    return seq([a, b])


def test_min_size_is_the_smallest_box_that_counts() -> None:
    assert next(detect_motion(_block_change(30, 12)))
    assert next(detect_motion(_block_change(30, 12), min_size=(30, 12)))
    assert not next(detect_motion(_block_change(30, 12), min_size=(31, 12)))
    assert not next(detect_motion(_block_change(30, 12), min_size=(30, 13)))
    frames = _block_change(30, 12)
    assert wait_for_transition(frames, 0.0, timeout_secs=0.1, min_size=(20, 20)).status == (
        "start_timeout"
    )
    assert is_frozen(
        seq([frames[0].copy(), frames[1].copy()] * 10), freeze_secs=0.5, min_size=(40, 40)
    )
    assert not is_frozen(seq([frames[0].copy(), frames[1].copy()] * 10), freeze_secs=0.5)


def test_threshold_is_a_colour_distance() -> None:
    # (0, 0, 90) on gray 50: sqrt((50² + 50² + 40²) / 3) = 46.9
    frames = _block_change(30, 30)
    assert next(detect_motion(frames, threshold=46))
    assert not next(detect_motion(frames, threshold=47))
    assert not next(detect_motion(frames, noise_threshold=47)), "the older name still works"
    # A gray change of exactly 25 levels counts at the default threshold, 24 doesn't.
    a = np.full((100, 100, 3), 100, np.uint8)
    assert next(detect_motion(seq([a, a + 25])))
    assert not next(detect_motion(seq([a, a + 24])))
    # Gray frames are compared the same way.
    assert next(detect_motion(seq([a[:, :, 0], a[:, :, 0] + 25])))
    assert not next(detect_motion(seq([a[:, :, 0], a[:, :, 0] + 24])))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"threshold": -1}, "threshold must be a colour distance from 0 to 255"),
        ({"threshold": 256}, "threshold must be a colour distance from 0 to 255"),
        ({"threshold": "25"}, "got '25'"),
        ({"threshold": True}, "got True"),
        ({"threshold": 20, "noise_threshold": 20}, "pass only threshold"),
        ({"min_size": (10,)}, "min_size must be (width, height)"),
        ({"min_size": (10, -1)}, "from 0 to 16384"),
        ({"min_size": (10.5, 3)}, "whole pixels"),
        ({"min_size": 10}, "e.g. min_size=(20, 20); got 10"),
        ({"min_size": (10, 100000)}, "got (10, 100000)"),
    ],
)
def test_bad_threshold_or_min_size_is_a_usage_error(kwargs, message) -> None:
    frames = _block_change(10, 10)
    message = re.escape(message)
    with pytest.raises(BadArgument, match=message) as info:
        detect_motion(frames, **kwargs)
    assert isinstance(info.value, UsageError) and isinstance(info.value, ValueError)
    with pytest.raises(BadArgument, match=message):
        wait_for_motion(frames, **kwargs)
    with pytest.raises(BadArgument, match=message):
        wait_for_transition(frames, 0.0, **kwargs)
    with pytest.raises(BadArgument, match=message):
        is_frozen(frames, **kwargs)


# --- the results ----------------------------------------------------------------------------


def test_results_are_frozen_and_each_can_be_false() -> None:
    a, b = _block_change(30, 30)
    moved, still = next(detect_motion([a, b])), next(detect_motion([a, a.copy()]))
    assert moved and not still and still.region is None
    assert MotionResult.from_dict(moved.to_dict()) == moved
    assert MotionResult.from_dict(still.to_dict()) == still

    ok = Transition("KEY_OK", 1.0, 1.1, 1.2, "complete")
    for status in ("start_timeout", "stable_timeout"):
        assert not dataclasses.replace(ok, status=status)
    assert ok and Transition.from_dict(ok.to_dict()) == ok

    frozen = is_frozen(seq([a] * 30), freeze_secs=0.5)
    assert frozen and not is_frozen(seq([a, b] * 15), freeze_secs=0.5)
    assert isinstance(frozen, FreezeResult)

    black = is_black(np.zeros((720, 1280, 3), np.uint8))
    assert black and not is_black(a) and isinstance(black, BlackResult)

    for result, name in ((moved, "motion"), (ok, "status"), (frozen, "frozen"), (black, "black")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, name, False)


def test_a_region_as_mask_narrows_the_region() -> None:
    """stb-tester passes a Region as ``mask``; it means that region."""
    frames = _block_change(30, 30)  # the change is at (300, 200)
    assert next(detect_motion(frames, mask=Region(250, 150, 100, 100)))
    assert not next(detect_motion(frames, mask=Region(0, 0, 100, 100)))
    with pytest.raises(BadArgument, match="doesn't overlap"):
        detect_motion(frames, region=Region(0, 0, 10, 10), mask=Region(100, 100, 10, 10))

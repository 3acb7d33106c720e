"""Motion, black, freeze, transition and no-signal detection on synthetic sequences."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from vision_synth import draw_highlight, limited_range, menu, noisy

from pytest_virtualpy.errors import BlackTimeout, FreezeTimeout, MotionTimeout
from pytest_virtualpy.vision import (
    Frame,
    Region,
    Transition,
    detect_motion,
    is_black,
    is_frozen,
    is_no_signal,
    wait_for_black,
    wait_for_freeze,
    wait_for_motion,
    wait_for_transition,
)

FPS = 60.0
VIDEO = Region(700, 100, 480, 270)


def seq(arrays, t0: float = 0.0, fps: float = FPS):
    return [Frame(a, time=t0 + i / fps) for i, a in enumerate(arrays)]


def _base() -> np.ndarray:
    frame, _ = menu()
    return frame


def video_frames(n: int, moving: bool = True, seed: int = 0) -> list[np.ndarray]:
    """A UI with a "video window" whose picture pans (or is still), plus capture noise."""
    base = _base()
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (50, 250, 3), dtype=np.uint8)
    texture = cv2.resize(blocks, (2000, 400), interpolation=cv2.INTER_NEAREST)
    texture = cv2.GaussianBlur(texture, (0, 0), 1.5)
    out = []
    for i in range(n):
        f = base.copy()
        dx = 4 * i if moving else 0
        f[VIDEO.to_slice()] = texture[50 : 50 + VIDEO.height, dx : dx + VIDEO.width]
        out.append(noisy(f, sigma=2.0, seed=i))
    return out


def cursor_frames(n: int) -> list[np.ndarray]:
    """A static screen with a blinking 2x24 px text cursor and compression-like noise."""
    base = _base()
    out = []
    for i in range(n):
        f = base.copy()
        if (i // 15) % 2 == 0:
            f[500:524, 300:302] = 255
        out.append(noisy(f, sigma=3.0, seed=i))
    return out


# --- motion ------------------------------------------------------------------------


def test_moving_video_is_motion() -> None:
    results = list(detect_motion(seq(video_frames(10))))
    assert len(results) == 9
    assert all(results)
    r = results[0]
    assert VIDEO.intersect(r.region) is not None
    assert VIDEO.contains(r.region)
    assert r.time == pytest.approx(1 / FPS)
    assert json.loads(json.dumps(r.to_dict()))["motion"] is True


def test_still_video_noise_and_cursor_are_not_motion() -> None:
    assert not any(detect_motion(seq(video_frames(10, moving=False))))
    assert not any(detect_motion(seq(cursor_frames(60))))


def test_motion_mask_and_region() -> None:
    frames = seq(video_frames(5))
    outside = Region(0, 0, 600, 720)
    assert not any(detect_motion(frames, region=outside))
    mask = np.zeros((720, 1280), np.uint8)
    mask[VIDEO.to_slice()] = 255
    assert all(detect_motion(frames, mask=mask))
    assert not any(detect_motion(frames, mask=255 - mask))


def test_wait_for_motion() -> None:
    still = video_frames(30, moving=False)
    moving = video_frames(30)
    # moving[0] shows the same picture as the still frames; motion starts at moving[1].
    result = wait_for_motion(seq(still + moving), consecutive_frames="10/20")
    assert result and result.time == pytest.approx(31 / FPS)
    result = wait_for_motion(seq(still + moving), consecutive_frames=5)
    assert result.time == pytest.approx(31 / FPS)


def test_wait_for_motion_timeout() -> None:
    with pytest.raises(MotionTimeout) as info:
        wait_for_motion(seq(cursor_frames(200)), timeout_secs=2)
    assert info.value.timeout_secs == 2
    assert info.value.frame.time <= 2.0
    with pytest.raises(ValueError):
        wait_for_motion(seq(cursor_frames(3)), consecutive_frames="20/10")


# --- black ---------------------------------------------------------------------------


def test_is_black() -> None:
    black = np.zeros((720, 1280, 3), np.uint8)
    assert is_black(black)
    assert is_black(noisy(black + 3, sigma=1.5))
    assert is_black(limited_range(black)), "limited-range black (16) is black"
    assert not is_black(_base())
    logo = black.copy()
    logo[650:700, 1150:1250] = 200
    assert not is_black(logo)
    assert is_black(logo, region=Region(0, 0, 1000, 720))
    mask = np.full((720, 1280), 255, np.uint8)
    mask[640:, 1100:] = 0
    assert is_black(logo, mask=mask)
    r = is_black(Frame(black, time=5.0))
    assert r.time == 5.0 and r.to_dict()["black"] is True


def test_wait_for_black() -> None:
    base = _base()
    black = np.zeros_like(base)
    assert wait_for_black(seq([base] * 10 + [black] * 3)).time == pytest.approx(10 / FPS)
    with pytest.raises(BlackTimeout):
        wait_for_black(seq([base] * 200), timeout_secs=1)


# --- freeze --------------------------------------------------------------------------


def test_is_frozen() -> None:
    still = video_frames(150, moving=False)  # 2.5 s of still video with noise
    r = is_frozen(seq(still), freeze_secs=2.0)
    assert r and r.duration >= 2.0 and r.start_time == 0.0
    assert not is_frozen(seq(video_frames(150)), freeze_secs=2.0)
    assert not is_frozen(seq(still[:30]), freeze_secs=2.0), "ran out of frames"
    assert is_frozen(seq(video_frames(150)), freeze_secs=2.0, region=Region(0, 0, 600, 720))


def test_wait_for_freeze() -> None:
    moving = video_frames(60)
    still = [moving[-1]] * 100
    r = wait_for_freeze(seq(moving + still), freeze_secs=1.0, region=VIDEO)
    assert r and r.start_time == pytest.approx(59 / FPS)
    with pytest.raises(FreezeTimeout):
        wait_for_freeze(seq(video_frames(120)), freeze_secs=1.0, timeout_secs=1.5)


# --- transition ------------------------------------------------------------------------


def _menu_transition(delay_frames: int, anim_frames: int, settle_frames: int) -> list:
    """Press at t=1.0; after a delay the focus highlight slides from tile 2 to tile 3."""
    plain, tiles = menu(selected=None)
    (x2, y, w, h), (x3, _, _, _) = tiles[2], tiles[3]
    before = plain.copy()
    draw_highlight(before, x2, y, w, h)
    frames = [before] * delay_frames
    for i in range(1, anim_frames + 1):
        f = plain.copy()
        draw_highlight(f, x2 + (x3 - x2) * i // anim_frames, y, w, h)
        frames.append(f)
    frames += [frames[-1]] * settle_frames
    return [Frame(before, time=1.0), *seq(frames, t0=1.0 + 1 / FPS)]


def test_transition_complete() -> None:
    frames = _menu_transition(delay_frames=6, anim_frames=12, settle_frames=90)
    t = wait_for_transition(iter(frames), press_time=1.0, key="KEY_RIGHT", stable_secs=1.0)
    assert t and t.status == "complete" and t.key == "KEY_RIGHT"
    assert t.start_time == pytest.approx(1.0 + 7 / FPS)
    # The last animation frame is the first frame of the final stable period.
    assert t.end_time == pytest.approx(1.0 + 18 / FPS)
    assert t.duration == pytest.approx(18 / FPS)
    d = t.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert Transition.from_dict(d) == t


def test_transition_start_timeout_and_stable_timeout() -> None:
    before, _ = menu()
    t = wait_for_transition(seq([before] * 200, t0=1.0), press_time=1.0, timeout_secs=2.0)
    assert not t and t.status == "start_timeout"
    assert t.start_time is None and t.end_time is None and t.duration is None
    frames = seq([before] * 3 + video_frames(200), t0=1.0)
    t = wait_for_transition(frames, press_time=1.0, timeout_secs=2.0)
    assert t.status == "stable_timeout" and t.start_time is not None and t.end_time is None


def test_transition_ignores_noise_and_cursor() -> None:
    frames = seq(cursor_frames(120), t0=0.0)
    assert wait_for_transition(frames, press_time=0.0, timeout_secs=1.5).status == "start_timeout"


def test_transition_reference_is_last_pre_press_frame() -> None:
    a, _ = menu(selected=1)
    b, _ = menu(selected=2)
    # Frames before the press already show b: pressing changed nothing new.
    frames = [Frame(a, time=0.5), Frame(b, time=0.9), *seq([b] * 120, t0=1.0)]
    t = wait_for_transition(frames, press_time=1.0, timeout_secs=1.5)
    assert t.status == "start_timeout"


# --- no signal -------------------------------------------------------------------------


def test_is_no_signal() -> None:
    assert is_no_signal(np.zeros((720, 1280, 3), np.uint8))
    blue = np.zeros((720, 1280, 3), np.uint8)
    blue[:] = (160, 40, 20)
    cv2.putText(blue, "No signal", (520, 370), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    assert is_no_signal(noisy(blue))
    assert not is_no_signal(_base())
    assert not is_no_signal(video_frames(1)[0])

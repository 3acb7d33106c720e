"""`MatchParameters(scales=...)`: references taken at another resolution; frozen results.

The screens are the simulated box's own (rendered at 1080p by the same code
the daemon runs); the 720p capture is that screen as a 720p capture card
delivers it: scaled down and with a little noise.
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import cv2
import numpy as np
import pytest

from lab_daemon.sim.channels import Schedule
from lab_daemon.sim.layout import Layout
from lab_daemon.sim.screens import Screens
from pytest_virtualpy.vision import (
    MatchParameters,
    MatchResult,
    Region,
    match,
    match_all,
    wait_for_match,
)
from pytest_virtualpy.vision.match import MatchParameters as FromMatchModule

DOWN = 720 / 1080
FROM_1080P = MatchParameters(scales=(1.0, DOWN))


def _screens(w: int, h: int) -> Screens:
    return Screens(
        Layout(w, h), Schedule(1), firmware_version="1.0", model="SIM", serial_number="S1", name="s"
    )


@pytest.fixture(scope="module")
def shots():
    """(1080p screens, their 720p captures, the 1080p layout)."""
    s = _screens(1920, 1080)
    full = {"home": s.home(0, 0, "20:00"), "settings": s.settings("20:00")}
    rng = np.random.default_rng(3)
    small = {}
    for name, f in full.items():
        down = cv2.resize(f, (1280, 720), interpolation=cv2.INTER_AREA).astype(np.float32)
        small[name] = np.clip(down + rng.normal(0, 2.0, down.shape), 0, 255).astype(np.uint8)
    return full, small, s.L


def _cut(frame: np.ndarray, rect) -> np.ndarray:
    x0, y0, x1, y1 = rect
    return frame[y0:y1, x0:x1].copy()


def _where(rect, factor: float) -> tuple[int, int]:
    return round(rect[0] * factor), round(rect[1] * factor)


def _near(result, xy: tuple[int, int], tol: int = 2) -> bool:
    return abs(result.region.x - xy[0]) <= tol and abs(result.region.y - xy[1]) <= tol


@pytest.mark.parametrize(
    "screen, rects",
    [("home", "home_tiles"), ("settings", "settings_items")],
)
def test_1080p_reference_is_found_on_a_720p_capture(shots, screen, rects) -> None:
    full, small, layout = shots
    for rect in getattr(layout, rects):
        ref = _cut(full[screen], rect)
        result = match(ref, small[screen], params=FROM_1080P)
        assert result, (rect, result)
        assert _near(result, _where(rect, DOWN)), (rect, result)
        assert result.scale == pytest.approx(DOWN)
        # the region is in frame coordinates, the size of the scaled reference
        assert (result.region.width, result.region.height) == (
            round(ref.shape[1] * DOWN),
            round(ref.shape[0] * DOWN),
        )


def test_without_scales_the_1080p_reference_is_not_found(shots) -> None:
    full, small, layout = shots
    ref = _cut(full["settings"], layout.settings_items[1])
    assert not match(ref, small["settings"])
    assert not match(ref, small["settings"], params=MatchParameters(scales=(1.0,)))


def test_the_best_scale_wins_and_a_same_size_reference_reports_1(shots) -> None:
    _, small, layout = shots
    rect = tuple(round(v * DOWN) for v in layout.home_tiles[2])
    ref = _cut(small["home"], rect)
    result = match(ref, small["home"], params=MatchParameters(scales=(1.5, 1.0, 0.8)))
    assert result and result.scale == 1.0 and _near(result, rect[:2], tol=0)
    assert result == match(ref, small["home"])  # same answer as the default at scale 1


def test_a_720p_reference_is_found_on_a_1080p_capture_by_enlarging_it(shots) -> None:
    full, small, layout = shots
    rect = tuple(round(v * DOWN) for v in layout.settings_items[0])
    ref = _cut(small["settings"], rect)
    result = match(ref, full["settings"], params=MatchParameters(scales=(1.5,)))
    assert result and result.scale == 1.5
    assert _near(result, layout.settings_items[0][:2], tol=3), result


def test_match_all_and_wait_for_match_take_scales(shots) -> None:
    full, small, layout = shots
    # every settings row has the same left edge: a strip of it matches on each row
    x0, y0, _, y1 = layout.settings_items[0]
    strip = full["settings"][y0:y1, x0 : x0 + 60].copy()
    found = list(match_all(strip, small["settings"], params=FROM_1080P))
    assert found and all(r.scale == pytest.approx(DOWN) for r in found)
    ys = sorted(r.region.y for r in found)
    assert all(b - a >= 20 for a, b in itertools.pairwise(ys)), ys  # no overlaps
    ref = _cut(full["home"], layout.home_tiles[0])
    frames = [small["settings"]] * 3 + [small["home"]] * 3
    result = wait_for_match(ref, frames, params=FROM_1080P)
    assert result.scale == pytest.approx(DOWN) and _near(result, _where(layout.home_tiles[0], DOWN))


def test_scales_too_small_for_the_reference_are_a_defined_miss() -> None:
    frame = np.zeros((100, 100, 3), np.uint8)
    result = match(
        np.full((10, 10, 3), 255, np.uint8), frame, params=MatchParameters(scales=(0.15,))
    )
    assert not result and result.first_pass_result == 0.0


@pytest.mark.parametrize(
    "scales, message",
    [
        ((), "empty"),
        (tuple([1.0] * 17), "at most 16"),
        ((0.0,), "from 0.125 to 8"),
        ((20,), "from 0.125 to 8"),
        ((float("nan"),), "from 0.125 to 8"),
        ((True,), "numbers"),
        (("1.0",), "numbers"),
        ("1.0", "sequence of size factors"),
        (0.5, "sequence of size factors"),
    ],
)
def test_bad_scales_say_what_is_wrong(scales, message) -> None:
    with pytest.raises(ValueError, match=message):
        MatchParameters(scales=scales)


def test_parameters_cross_the_wire_and_stay_frozen() -> None:
    assert "scales" not in MatchParameters().to_dict()  # old daemons accept the defaults
    p = MatchParameters(match_threshold=0.9, scales=[1, 0.5, 0.5])
    assert p.scales == (1.0, 0.5)
    wire = json.loads(json.dumps(p.to_dict()))
    assert MatchParameters.from_dict(wire) == p
    with pytest.raises(ValueError, match="unknown match parameter.*scale\\b"):
        MatchParameters.from_dict({"scale": [1.0]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.scales = (2.0,)  # type: ignore[misc]
    assert FromMatchModule is MatchParameters  # the old import path still works
    assert hash(p) == hash(MatchParameters.from_dict(wire))


def test_results_are_frozen_falsy_on_a_miss_and_round_trip() -> None:
    frame = np.zeros((50, 50, 3), np.uint8)
    frame[10:20, 10:20] = 255
    frame[12:14, 12:18] = 0
    ref = frame[8:22, 8:22].copy()
    hit = match(ref, frame)
    miss = match(255 - ref, frame)
    assert hit and not miss
    assert hit.position == (8, 8) and hit.scale == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.match = False  # type: ignore[misc]
    back = MatchResult.from_dict(json.loads(json.dumps(hit.to_dict())))
    assert back == hit and bool(back)
    assert not MatchResult.from_dict(miss.to_dict())
    moved = dataclasses.replace(hit, region=Region(0, 0, 14, 14))
    assert moved.position == (0, 0) and hit.position == (8, 8)
    assert MatchResult.from_dict({"match": True, "region": [1, 2, 3, 4]}).scale == 1.0

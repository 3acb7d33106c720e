"""match / match_all / wait_for_match: edge cases, hard negatives, capture conditions."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest
from vision_synth import crop, limited_range, menu, noisy

from pytest_virtualpy.errors import ImageError, MatchTimeout
from pytest_virtualpy.vision import (
    Frame,
    MatchParameters,
    MatchResult,
    Region,
    load_image,
    match,
    match_all,
    wait_for_match,
)


@pytest.fixture(scope="module")
def ui() -> tuple[np.ndarray, list]:
    return menu()


def _selected_tile(frame: np.ndarray, tiles: list, i: int = 2) -> np.ndarray:
    x, y, w, h = tiles[i]
    return crop(frame, x - 8, y - 8, w + 16, h + 16)


def test_finds_selected_tile(ui) -> None:
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)
    result = match(ref, frame)
    assert result
    assert result.match is True
    assert result.region == Region(tiles[2][0] - 8, tiles[2][1] - 8, ref.shape[1], ref.shape[0])
    assert result.first_pass_result > 0.999


def test_finds_small_icon_and_text(ui) -> None:
    frame, tiles = ui
    x, y, _, _ = tiles[0]
    ref = crop(frame, x + 15, y + 70, 85, 40)  # the word "Home"
    assert match(ref, frame).position == (x + 15, y + 70)


def test_rejects_same_tile_with_other_highlight_colour(ui) -> None:
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)
    other, _ = menu(highlight=(255, 0, 0))  # blue instead of orange
    assert not match(ref, other)


def test_rejects_same_tile_with_other_text() -> None:
    frame, tiles = menu(selected=2)
    ref = _selected_tile(frame, tiles)
    labels = ["Home", "TV Guide", "Mavies", "Series", "Sport", "Kids", "Music", "Settings"]
    other, _ = menu(selected=2, labels=labels)
    assert not match(ref, other)


def test_unselected_tile_finds_the_right_one(ui) -> None:
    frame, tiles = ui
    x, y, w, h = tiles[5]
    assert match(crop(frame, x, y, w, h), frame).position == (x, y)


def test_survives_noise_and_limited_range(ui) -> None:
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)
    expected = (tiles[2][0] - 8, tiles[2][1] - 8)
    assert match(ref, noisy(frame)).position == expected
    assert match(ref, limited_range(frame)).position == expected
    assert match(ref, noisy(limited_range(frame), sigma=3)).position == expected


def test_1080p(ui) -> None:
    frame, tiles = menu(1920, 1080)
    ref = _selected_tile(frame, tiles)
    result = match(ref, frame)
    assert result.position == (tiles[2][0] - 8, tiles[2][1] - 8)


def test_photo_like_content_negative_and_positive() -> None:
    rng = np.random.default_rng(3)
    base = cv2.resize(rng.integers(0, 256, (45, 80, 3), dtype=np.uint8), (1280, 720))
    photo = cv2.GaussianBlur(base, (0, 0), 3)
    ref = crop(photo, 500, 300, 120, 90)
    assert match(ref, photo).position == (500, 300)
    shifted = np.roll(photo, 7, axis=1)
    assert match(ref, shifted).position == (507, 300)
    other = cv2.GaussianBlur(
        cv2.resize(rng.integers(0, 256, (45, 80, 3), np.uint8), (1280, 720)), (0, 0), 3
    )
    assert not match(ref, other)


# --- edge cases -------------------------------------------------------------------


def test_template_larger_than_frame_is_no_match() -> None:
    frame = np.zeros((50, 50, 3), np.uint8)
    result = match(np.zeros((60, 40, 3), np.uint8), frame)
    assert not result
    assert result.first_pass_result == 0.0
    assert list(match_all(np.zeros((60, 40, 3), np.uint8), frame)) == []


def test_template_larger_than_region_is_no_match(ui) -> None:
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)
    assert not match(ref, frame, region=Region(0, 0, 100, 100))


def test_region_outside_frame_is_no_match(ui) -> None:
    frame, _ = ui
    assert not match(np.zeros((10, 10, 3), np.uint8), frame, region=Region(2000, 2000, 50, 50))


def test_region_partly_outside_frame_is_clipped(ui) -> None:
    frame, tiles = ui
    x, y, w, h = tiles[7]
    ref = crop(frame, x, y, w, h)
    result = match(ref, frame, region=Region(x - 20, y - 20, 5000, 5000))
    assert result.position == (x, y)


def test_completely_transparent_reference_matches_everywhere() -> None:
    frame = np.full((100, 200, 3), 80, np.uint8)
    ref = np.zeros((50, 50, 4), np.uint8)  # alpha 0 everywhere
    result = match(ref, frame)
    assert result and result.first_pass_result == 1.0 and result.position == (0, 0)
    assert len(list(match_all(ref, frame))) == 8  # 4 x 2 non-overlapping tiles


def test_transparent_pixels_are_ignored(ui) -> None:
    frame, tiles = ui
    ref = cv2.cvtColor(_selected_tile(frame, tiles), cv2.COLOR_BGR2BGRA)
    ref[20:-20, 20:-20] = (0, 255, 0, 0)  # garbage, but transparent: only the highlight counts
    other, _ = menu(selected=2, labels=["Home", "TV Guide", "Films", "Series"] * 2)
    assert match(ref, other).position == (tiles[2][0] - 8, tiles[2][1] - 8)
    ref[:, :, 3] = 255
    assert not match(ref, other)  # opaque: the text differs


def test_grayscale_and_colour_combinations(ui) -> None:
    frame, tiles = ui
    x, y, w, h = tiles[3]
    ref = crop(frame, x, y, w, h)
    gray_ref = cv2.cvtColor(ref, cv2.COLOR_BGR2GRAY)
    gray_frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert match(gray_ref, frame).position == (x, y)
    assert match(ref, gray_frame).position == (x, y)
    assert match(gray_ref, gray_frame).position == (x, y)
    assert match(ref[:, :, None][:, :, :, 0], frame).position == (x, y)


def test_non_uint8_arrays_raise_image_error(ui) -> None:
    frame, _ = ui
    with pytest.raises(ImageError, match="uint8"):
        match(np.zeros((10, 10, 3), np.float32), frame)
    with pytest.raises(ImageError, match="uint8"):
        match(np.zeros((10, 10, 3), np.uint8), frame.astype(np.uint16))


def test_bad_shapes_raise_image_error() -> None:
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ImageError, match="empty"):
        load_image(np.zeros((0, 10, 3), np.uint8))


def test_unreadable_paths_raise_image_error(tmp_path, ui) -> None:
    frame, _ = ui
    with pytest.raises(ImageError, match="does not exist"):
        match(str(tmp_path / "nope.png"), frame)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ImageError, match="decode"):
        match(bad, frame)
    with pytest.raises(ImageError):
        load_image(tmp_path)


def test_path_reference_and_result_serialisation(tmp_path, ui) -> None:
    frame, tiles = ui
    x, y, w, h = tiles[4]
    path = tmp_path / "sport.png"
    cv2.imwrite(str(path), crop(frame, x, y, w, h))
    result = match(str(path), Frame(frame, time=12.5))
    assert result and result.time == 12.5 and result.image == str(path)
    d = result.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["region"] == [x, y, w, h]
    again = MatchResult.from_dict(d, frame=frame)
    assert again.region == result.region and again.match and again.frame is frame
    assert "MatchResult(" in repr(result)


def test_match_parameters_validation() -> None:
    p = MatchParameters(match_method="sqdiff-normed", confirm_method="none")
    assert p.match_method == "sqdiff-normed"
    with pytest.raises(ValueError):
        MatchParameters(match_method="nonsense")
    with pytest.raises(ValueError):
        MatchParameters(match_threshold=1.5)


def test_match_all_finds_repeated_tiles() -> None:
    frame, tiles = menu(selected=0, labels=["A"] * 8)
    x, y, w, h = tiles[5]
    results = list(match_all(crop(frame, x, y, w, h), frame))
    assert sorted(r.position for r in results) == sorted((t[0], t[1]) for t in tiles)


# --- wait_for_match ------------------------------------------------------------------


def _frames(arrays, fps=60.0, t0=100.0):
    for i, a in enumerate(arrays):
        yield Frame(a, time=t0 + i / fps)


def test_wait_for_match_consecutive(ui) -> None:
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)
    blank = np.zeros_like(frame)
    frames = [blank] * 5 + [frame] * 5
    result = wait_for_match(ref, _frames(frames), consecutive_matches=3)
    assert result and result.time == pytest.approx(100 + 7 / 60)


def test_wait_for_match_timeout_on_frame_time(ui) -> None:
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)
    blank = np.zeros_like(frame)
    with pytest.raises(MatchTimeout) as info:
        wait_for_match(ref, _frames([blank] * 40 + [frame] * 5, fps=10), timeout_secs=2)
    err = info.value
    assert err.timeout_secs == 2 and err.image is ref
    assert err.frame.time <= 100 + 2
    assert isinstance(err.best, MatchResult) and not err.best
    assert isinstance(err, AssertionError)


def test_match_speed_720p(ui) -> None:
    """Loose guard against pathological slowness (the real figure is ~1-2 ms)."""
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)
    match(ref, frame)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        match(ref, frame)
        times.append(time.perf_counter() - t)
    assert sorted(times)[10] < 0.05


def test_random_crops_are_found() -> None:
    """Regression guard for the coarse-to-fine search: no false negatives.

    Random crops (>= 24 px) with some distinctive content, of random sizes, from random
    menus with a video window, searched in the clean, noisy or limited-range
    frame. A different position is accepted only if it looks the same there.
    """
    rng = np.random.default_rng(7)
    words = ["Home", "Guide", "Movies", "Series", "Sport", "Kids", "Music", "Settings", "Apps"]
    video = cv2.GaussianBlur(
        cv2.resize(rng.integers(0, 256, (90, 160, 3), np.uint8), (480, 270)), (0, 0), 1.5
    )
    checked = 0
    for trial in range(80):
        width, height = [(1280, 720), (1920, 1080)][trial % 2]
        labels = list(rng.choice(words, 8, replace=False))
        frame, _ = menu(width, height, selected=int(rng.integers(0, 8)), labels=labels)
        vx, vy = int(width * 0.55), int(height * 0.05)
        frame[vy : vy + 270, vx : vx + 480] = video
        w, h = int(rng.integers(24, 320)), int(rng.integers(24, 200))
        x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        ref = crop(frame, x, y, w, h)
        gray = cv2.cvtColor(ref, cv2.COLOR_BGR2GRAY)
        if (gray > 200).sum() < 60 and cv2.Laplacian(gray, cv2.CV_32F).var() < 50:
            continue  # featureless: ambiguous by nature
        searched = [frame, noisy(frame, 3, trial), limited_range(frame)][trial % 3]
        result = match(ref, searched)
        assert result, (trial, (x, y, w, h), result)
        if abs(result.region.x - x) > 2 or abs(result.region.y - y) > 2:
            there = frame[result.region.to_slice()].astype(np.int16)
            assert np.abs(there - ref).mean() < 3, (trial, (x, y, w, h), result)
        checked += 1
    assert checked > 30


# --- hard negatives: rejected, cheaply; look-alike positives still found -------------


def test_hard_negative_focus_on_another_tile_is_rejected(ui) -> None:
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)  # tile 2 focused
    moved, _ = menu(selected=3)
    assert not match(ref, noisy(moved))


def test_hard_negatives_are_rejected(ui) -> None:
    """The same tile with another highlight colour, with the focus elsewhere, or
    with other text is not a match (bench/match_vs_stbt.py measures their cost)."""
    frame, tiles = ui
    ref = _selected_tile(frame, tiles)
    negatives = [
        menu(highlight=(255, 0, 0))[0],
        menu(selected=3)[0],
        menu(labels=["Home", "TV Guide", "Mavies", "Series", "Sport", "Kids", "Music", "Z"])[0],
    ]
    for other in negatives:
        assert not match(ref, other)


def test_colour_look_alikes_find_the_right_colour() -> None:
    """Tiles differing only by a colour of the same brightness: gray can't tell
    them apart, the exact colour score must pick the right one."""
    frame, tiles = menu(selected=None, labels=["A"] * 8)
    colours = [(0, 140, 255), (255, 110, 0), (0, 200, 60), (200, 0, 200)] * 2
    for (x, y, w, h), c in zip(tiles, colours, strict=True):
        cv2.rectangle(frame, (x - 4, y - 4), (x + w + 4, y + h + 4), c, 4)
    for i in (1, 6):
        x, y, w, h = tiles[i]
        ref = crop(frame, x - 8, y - 8, w + 16, h + 16)
        result = match(ref, noisy(frame))
        assert result and result.position in {
            (tiles[j][0] - 8, tiles[j][1] - 8) for j in (i % 4, i % 4 + 4)
        }


def test_small_text_on_busy_background_is_found() -> None:
    """A small reference (a channel number) whose shrunk version ranks behind
    dozens of dark, busy places in the coarse pass must still be found."""
    rng = np.random.default_rng(11)
    video = cv2.GaussianBlur(
        cv2.resize(rng.integers(0, 256, (45, 80, 3), np.uint8), (1280, 720)), (0, 0), 2
    )
    frame = (video * 0.5).astype(np.uint8)
    for i, number in enumerate(["101", "102", "103", "104"]):
        x = 100 + i * 280
        cv2.rectangle(frame, (x, 400), (x + 200, 460), (40, 30, 25), -1)
        cv2.putText(
            frame, number, (x + 130, 440), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1,
            cv2.LINE_AA,
        )  # fmt: skip
    ref = crop(frame, 100 + 280 + 125, 420, 50, 28)  # "102"
    assert match(ref, noisy(frame, 2)).position == (505, 420)
    other = frame.copy()
    cv2.rectangle(other, (380, 400), (580, 460), (40, 30, 25), -1)
    cv2.putText(
        other, "888", (510, 440), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA
    )
    assert not match(ref, noisy(other, 2))

"""Small (36 px) textured icons cut from video content: found where they are, nowhere else.

A patch of moving video is the hardest small reference for a coarse-to-fine
search: shrunk by 4 its texture averages out and the right place ranks
behind thousands of flat ones, and on smooth content the score is nearly flat
for a few pixels around it. These cases are cut from video-like frames
(several octaves of coloured noise down to 2 px detail, with hard-edged
objects, as a camera picture has), searched with light capture noise:

- in the frame they were cut from: found, within 2 px;
- in the next frame of the same video, where the scene panned: found where
  it moved to;
- in the same frame with the search region excluding them, and on a menu
  screen: not found.

The truth is by construction: an icon is where it was cut (and where the pan
moved it) and nowhere else. A first pass alone cannot tell: a textured patch
scores about 0.995 against any textured place of similar colour, so these
cases also exercise the confirm step and its stopping rule. Icons have a gray
standard deviation of at least 30: lower-contrast video texture (20-30) is
sometimes confirmed in another scene by stb-tester's defaults too (2 of 40
such patches, where both engines agree), so it is no icon. Another scene of
the same kind of video is no negative either: at the default thresholds both
engines confirm a few patches there, at the same places.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from vision_synth import menu, noisy, panned, video_frame

from pytest_virtualpy.vision import Region, match

SIZE = 36
W, H = 1280, 720
PAN = (7, 3)  # the camera's movement between the two frames, px


def textured_icons(frame: np.ndarray, n: int, seed: int) -> list[tuple[int, int]]:
    """Where to cut ``n`` textured 36 px icons from ``frame`` (gray std >= 30, not flat)."""
    rng = np.random.default_rng(seed)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    out: list[tuple[int, int]] = []
    h, w = frame.shape[:2]
    while len(out) < n:
        x, y = int(rng.integers(8, w - SIZE - 8)), int(rng.integers(8, h - SIZE - 8))
        if gray[y : y + SIZE, x : x + SIZE].std() >= 30:
            out.append((x, y))
    return out


def near(result, x: int, y: int) -> bool:
    return abs(result.region.x - x) <= 2 and abs(result.region.y - y) <= 2


@pytest.fixture(scope="module", params=[1, 2, 3, 4])
def scene(request):
    seed = request.param
    clean = video_frame(seed)
    return seed, clean, textured_icons(clean, 10, seed)


def test_icon_is_found_where_it_was_cut(scene) -> None:
    seed, clean, icons = scene
    frame = noisy(clean, 2.0, seed)
    wrong = []
    for x, y in icons:
        result = match(clean[y : y + SIZE, x : x + SIZE], frame)
        if not (result and near(result, x, y)):
            wrong.append(((x, y), result))
    assert not wrong, f"{len(wrong)}/{len(icons)} icons not found where they are: {wrong}"


def test_icon_is_found_where_the_video_moved_it(scene) -> None:
    seed, clean, icons = scene
    frame = noisy(panned(clean, PAN), 2.0, seed + 1)
    wrong = []
    for x, y in icons:
        result = match(clean[y : y + SIZE, x : x + SIZE], frame)
        if not (result and near(result, x + PAN[0], y + PAN[1])):
            wrong.append(((x, y), result))
    assert not wrong, f"{len(wrong)}/{len(icons)} icons not found after the pan: {wrong}"


def test_icon_is_not_found_elsewhere_in_its_frame(scene) -> None:
    seed, clean, icons = scene
    frame = noisy(clean, 2.0, seed)
    wrong = []
    for x, y in icons:
        icon = clean[y : y + SIZE, x : x + SIZE]
        # the frame to the left and to the right of the icon, never covering it
        for region in (Region(0, 0, x, H), Region(x + SIZE, 0, W - x - SIZE, H)):
            result = match(icon, frame, region=region)
            if result:
                wrong.append(((x, y), region, result))
    assert not wrong, f"icons found where they are not: {wrong}"


def test_icon_is_not_found_on_a_menu_screen(scene) -> None:
    seed, clean, icons = scene
    menu_frame, _ = menu(W, H, selected=seed % 8)
    other = noisy(menu_frame, 2.0, seed + 2)
    wrong = [(x, y) for x, y in icons if match(clean[y : y + SIZE, x : x + SIZE], other)]
    assert not wrong, f"icons found on a screen they are not on: {wrong}"


def test_icon_in_a_region_is_found_in_frame_coordinates(scene) -> None:
    seed, clean, icons = scene
    frame = noisy(clean, 2.0, seed)
    x, y = icons[0]
    region = Region(max(0, x - 100), max(0, y - 80), 260, 200)
    result = match(clean[y : y + SIZE, x : x + SIZE], frame, region=region)
    assert result and near(result, x, y), result

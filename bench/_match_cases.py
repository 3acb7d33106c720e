"""The cases bench/match_vs_stbt.py measures: stbt's corpus, synthetic menus, icons, scales.

- ``corpus_cases``: every case of the stb-tester corpus, loaded as its README says;
- ``synthetic_cases``: small, large and transparent templates on a synthetic menu, where
  they are present, where a hard negative is and on a plain negative;
- ``icon_cases``: 36 px textured icons cut from video-like frames
  (tests/vision/vision_synth.py), found where cut or panned, absent elsewhere;
- ``scaled_cases``: references from a 1080p rendering of the simulated box, searched at
  720p with ``scales`` given to ours only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "vision"))

from _match_engines import Case
from _match_screens import OTHER_HIGHLIGHT, capture, crop, menu, photo

from pytest_virtualpy.vision import load_image

CORPUS = Path("/work/shared/corpus/stbt-match")


def corpus_cases() -> list[Case]:
    path = CORPUS / "cases.json"
    if not path.exists():
        print(f"!! corpus not found at {CORPUS}; skipping it")
        return []
    out = []
    for d in json.loads(path.read_text()):
        flag = cv2.IMREAD_GRAYSCALE if d["frame_grayscale"] else cv2.IMREAD_COLOR
        frame = cv2.imread(str(CORPUS / d["frame"]), flag)
        if d["reference_grayscale"]:
            ref = cv2.imread(str(CORPUS / d["reference"]), cv2.IMREAD_GRAYSCALE)
        else:
            ref = load_image(CORPUS / d["reference"])  # keeps alpha, scales 16-bit to 8
        pos = tuple(d["position"]) if d["position"] else None
        out.append(
            Case(
                "corpus",
                d["id"],
                frame,
                ref,
                d["expect_match"],
                pos,
                tuple(d["region"]) if d["region"] else None,
                d["params"] or {},
            )
        )
    return out


def synthetic_cases(w: int, h: int) -> list[Case]:
    res = f"{h}p"
    s = w / 1280
    clean = menu(w, h, focus=1)
    frame = capture(clean.frame, 1)
    other_colour = capture(menu(w, h, focus=1, colour=OTHER_HIGHLIGHT).frame, 2)
    other_text = capture(
        menu(w, h, focus=1, titles=("Movies", "Serics", "Sport 1", "Kids", "News 24")).frame, 3
    )
    other_digit = capture(menu(w, h, channels=("101", "107", "103", "104", "105")).frame, 4)
    focus_moved = capture(menu(w, h, focus=2).frame, 5)
    playback = photo(w, h, 77)
    banner = playback.copy()
    cv2.rectangle(banner, (0, int(560 * s)), (w, h), (30, 20, 20), -1)
    plain = capture(banner, 6)

    tile = clean.tiles[1]
    big = crop(clean.frame, tile)
    tpos = tile[:2]
    num = clean.numbers[1]
    small_num = crop(clean.frame, num)
    icon_box = clean.icons[1]
    icon = crop(clean.frame, icon_box)
    # Transparent: the focused tile without its poster (alpha 0 there), so the
    # template still matches when the poster artwork changes.
    alpha = cv2.cvtColor(big, cv2.COLOR_BGR2BGRA)
    p0, p1 = int(16 * s), int(16 * s) + int(200 * s)
    alpha[p0:p1, int(16 * s) : big.shape[1] - int(16 * s), 3] = 0
    new_poster = clean.frame.copy()
    px, py = tile[0] + int(16 * s), tile[1] + p0
    new_poster[py : py + (p1 - p0), px : px + big.shape[1] - int(32 * s)] = photo(
        big.shape[1] - int(32 * s), p1 - p0, 999
    )
    new_poster = capture(new_poster, 7)
    new_poster_other_colour = other_colour.copy()
    new_poster_other_colour[py : py + (p1 - p0), px : px + big.shape[1] - int(32 * s)] = new_poster[
        py : py + (p1 - p0), px : px + big.shape[1] - int(32 * s)
    ]

    cases = [
        # small: channel number, badge icon
        Case(f"{res} small present", "channel number", frame, small_num, True, num[:2]),
        Case(f"{res} small present", "badge icon", frame, icon, True, icon_box[:2]),
        Case(
            f"{res} small present",
            "number in region",
            frame,
            small_num,
            True,
            num[:2],
            region=(tile[0], tile[1], tile[2], tile[3]),
        ),
        Case(f"{res} small hard-neg", "number 102 vs 107", other_digit, small_num, False),
        Case(f"{res} small plain-neg", "number on playback", plain, small_num, False),
        Case(f"{res} small plain-neg", "icon on playback", plain, icon, False),
        # large: the focused tile
        Case(f"{res} large present", "focused tile", frame, big, True, tpos),
        Case(f"{res} large hard-neg", "other highlight colour", other_colour, big, False),
        Case(f"{res} large hard-neg", "title Series vs Serics", other_text, big, False),
        Case(f"{res} large hard-neg", "number 102 vs 107", other_digit, big, False),
        Case(f"{res} large hard-neg", "focus on next tile", focus_moved, big, False),
        Case(f"{res} large plain-neg", "playback + banner", plain, big, False),
        # transparent: tile frame + label, poster ignored
        Case(f"{res} alpha present", "tile, new poster", new_poster, alpha, True, tpos),
        Case(f"{res} alpha present", "tile, same poster", frame, alpha, True, tpos),
        Case(
            f"{res} alpha hard-neg",
            "other highlight colour",
            new_poster_other_colour,
            alpha,
            False,
        ),
        Case(f"{res} alpha hard-neg", "focus on next tile", focus_moved, alpha, False),
        Case(f"{res} alpha hard-neg", "title Series vs Serics", other_text, alpha, False),
        Case(f"{res} alpha plain-neg", "playback + banner", plain, alpha, False),
    ]
    return cases


# --- small textured icons and scaled references -----------------------------------------

ICON = 36
PAN = (7, 3)


def icon_cases(w: int, h: int) -> list[Case]:
    """36 px textured icons cut from video: present where cut or moved, absent elsewhere."""
    from vision_synth import menu as test_menu
    from vision_synth import panned, video_frame

    res = f"{h}p"
    cases = []
    for seed in (1, 2, 3):
        clean = video_frame(seed, w, h)
        gray = cv2.cvtColor(clean, cv2.COLOR_BGR2GRAY)
        frame, moved = capture(clean, seed), capture(panned(clean, PAN), seed + 1)
        other = capture(test_menu(w, h, selected=seed)[0], seed + 2)
        rng = np.random.default_rng(seed)
        picked = 0
        while picked < 4:
            x, y = int(rng.integers(ICON + 8, w - ICON - 8)), int(rng.integers(8, h - ICON - 8))
            if gray[y : y + ICON, x : x + ICON].std() < 30:
                continue
            picked += 1
            icon = crop(clean, (x, y, ICON, ICON))
            name = f"scene {seed} icon at {x},{y}"
            moved_to, left = (x + PAN[0], y + PAN[1]), (0, 0, x, h)
            cases += [
                Case(f"{res} icon present", f"{name}: cut", frame, icon, True, (x, y)),
                Case(f"{res} icon present", f"{name}: panned", moved, icon, True, moved_to),
                Case(f"{res} icon neg", f"{name}: elsewhere", frame, icon, False, None, left),
                Case(f"{res} icon neg", f"{name}: menu screen", other, icon, False),
            ]
    return cases


def scaled_cases() -> list[Case]:
    """References cut from a 1080p rendering of the simulated box, searched at 720p."""
    from lab_daemon.sim.channels import Schedule
    from lab_daemon.sim.layout import Layout
    from lab_daemon.sim.screens import Screens

    s = Screens(
        Layout(1920, 1080), Schedule(1), firmware_version="1.0", model="SIM",
        serial_number="S1", name="bench",
    )  # fmt: skip
    shots = {"home": s.home(0, 0, "20:00"), "settings": s.settings("20:00")}
    at_720p = {
        k: capture(cv2.resize(v, (1280, 720), interpolation=cv2.INTER_AREA), i)
        for i, (k, v) in enumerate(shots.items())
    }
    scales = {"scales": (1.0, 720 / 1080)}
    cases = []
    for screen, rects, other in (
        ("home", s.L.home_tiles[:3], "settings"),
        ("settings", s.L.settings_items[:3], "home"),
    ):
        for i, (x0, y0, x1, y1) in enumerate(rects):
            ref = shots[screen][y0:y1, x0:x1].copy()
            at = (round(x0 * 2 / 3), round(y0 * 2 / 3))
            present = Case("720p scaled present", f"{screen} {i}", at_720p[screen], ref, True, at)
            absent = Case("720p scaled neg", f"{screen} {i} on {other}", at_720p[other], ref, False)
            present.ours_params = absent.ours_params = scales
            cases += [present, absent]
    return cases

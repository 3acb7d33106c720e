"""Benchmark: our `vision.match` against stb-tester's `stbt_core.match` (prints figures).

    .venv/bin/python bench/match_vs_stbt.py [--reps 25] [--corpus-reps 15] [--only 720p]

Both engines run side by side in one process, interleaved call by call (ours,
stbt, ours, stbt, ...) so that CPU frequency and cache effects hit both alike;
each figure is the median over the repetitions.

Cases:

* every case of the stb-tester corpus (/work/shared/corpus/stbt-match/cases.json),
  loaded as its README says, with the case's parameters given to both engines;
* synthetic TV menus at 720p and 1080p: a photo-like background (smooth noise
  "video"), a row of poster tiles with text drawn by Pillow's default font, a
  focus highlight, small icons. Searched frames carry light capture noise.
  Templates are small (20-40 px: an icon, a channel number), large (300-500 px:
  the focused tile) and transparent (a tile whose poster area is alpha 0, so
  only its frame and label count). Each kind is searched where it is present,
  where only a hard negative is (the same tile with another highlight colour,
  other text, or the focus on another tile) and in a plain negative (another
  screen).
* small textured icons (36 px, gray std >= 30) cut from video-like frames
  (tests/vision/vision_synth.video_frame): searched in the frame they were cut
  from, in the next frame after the camera panned 7,3 px (must be found where
  they moved), in the same frame with a region that excludes them and on a
  menu screen (must not be found);
* scaled references (720p only): tiles and rows of the simulated box rendered
  at 1080p, searched on that screen as a 720p capture delivers it (scaled
  down, capture noise) with ``MatchParameters(scales=(1.0, 2/3))``, and on
  another screen. stbt has no multi-scale matching: it runs with the same
  reference and its defaults, so its "present" answers are expected wrong.

Goals: ours/stbt time ratio <= 0.5 at 720p and at 1080p, and no more wrong
answers than stbt (corpus: expected answer, and position within 2 px when the
case pins one; synthetic: the known truth).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "vision"))

try:
    from _common import percentile
except Exception:  # _common imports the lab client, which this bench doesn't need

    def percentile(values, p):
        s = sorted(values)
        k = (len(s) - 1) * p / 100
        lo, hi = int(k), min(int(k) + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)


try:
    import stbt_core
except ImportError:
    import subprocess

    subprocess.check_call(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "stbt-core", "attrs"]
    )
    import stbt_core

from pytest_virtualpy.vision import MatchParameters, Region, load_image
from pytest_virtualpy.vision import match as our_match

CORPUS = Path("/work/shared/corpus/stbt-match")


@dataclass
class Case:
    """One search: a frame, a reference, parameters, and the right answer."""

    group: str
    name: str
    frame: np.ndarray
    ref: np.ndarray
    expect: bool
    position: tuple[int, int] | None = None
    region: tuple[int, int, int, int] | None = None
    params: dict = field(default_factory=dict)
    ours_params: dict = field(default_factory=dict)  # ours only (stbt has no such option)
    ours_ms: float = 0.0
    stbt_ms: float = 0.0
    ours_ok: bool = False
    stbt_ok: bool = False


# --- engines ---------------------------------------------------------------------------


def run_ours(c: Case):
    region = Region.from_tuple(c.region) if c.region else Region.ALL
    params = MatchParameters(**c.params, **c.ours_params)
    r = our_match(c.ref, c.frame, region=region, params=params)
    return bool(r.match), r.position


def run_stbt(c: Case):
    region = stbt_core.Region(*c.region) if c.region else stbt_core.Region.ALL
    mp = stbt_core.MatchParameters(**c.params)
    r = stbt_core.match(c.ref, frame=c.frame, match_parameters=mp, region=region)
    return bool(r.match), (r.region.x, r.region.y)


def correct(c: Case, got) -> bool:
    ok, pos = got
    if ok != c.expect:
        return False
    if ok and c.position is not None:
        return abs(pos[0] - c.position[0]) <= 2 and abs(pos[1] - c.position[1]) <= 2
    return True


def measure(c: Case, reps: int) -> None:
    """Interleave the two engines ``reps`` times; keep medians and correctness."""
    c.ours_ok = correct(c, run_ours(c))  # also warms up template caches, like a real test
    c.stbt_ok = correct(c, run_stbt(c))
    ours, stbt = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        run_ours(c)
        t1 = time.perf_counter()
        run_stbt(c)
        t2 = time.perf_counter()
        ours.append((t1 - t0) * 1000)
        stbt.append((t2 - t1) * 1000)
    c.ours_ms, c.stbt_ms = statistics.median(ours), statistics.median(stbt)


# --- corpus ----------------------------------------------------------------------------


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


# --- synthetic TV screens --------------------------------------------------------------


def photo(w: int, h: int, seed: int) -> np.ndarray:
    """Photo-like content: smooth multi-scale noise with colour, edges and texture."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((h, w, 3), np.float32)
    for cells, weight in ((4, 0.5), (16, 0.3), (64, 0.15), (256, 0.05)):
        small = rng.random((max(2, cells * h // w), cells, 3)).astype(np.float32)
        acc += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(acc * 255, 0, 255).astype(np.uint8)
    # A few hard-edged shapes, like objects in a scene.
    for _ in range(6):
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(img, (cx, cy), int(rng.integers(h // 20, h // 5)), c, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def font(size: int):
    return ImageFont.load_default(size=size)


HIGHLIGHT = (0, 150, 255)  # BGR orange
OTHER_HIGHLIGHT = (255, 120, 0)  # BGR blue, similar brightness


@dataclass
class Screen:
    frame: np.ndarray
    tiles: list[tuple[int, int, int, int]]
    icons: list[tuple[int, int, int, int]]
    numbers: list[tuple[int, int, int, int]]


def menu(
    w: int,
    h: int,
    focus: int | None = 1,
    colour=HIGHLIGHT,
    titles=("Movies", "Series", "Sport 1", "Kids", "News 24"),
    channels=("101", "102", "103", "104", "105"),
    seed: int = 1,
) -> Screen:
    """A home screen: video background, 5 poster tiles with titles and channel numbers."""
    s = w / 1280
    frame = photo(w, h, seed)
    frame = (frame * 0.55).astype(np.uint8)  # dimmed behind the menu
    tiles, icons, numbers = [], [], []
    tw, th = int(220 * s), int(300 * s)
    y = int(300 * s)
    for i in range(len(titles)):
        x = int((60 + i * 240) * s)
        tiles.append((x - int(6 * s), y - int(6 * s), tw + int(12 * s), th + int(12 * s)))
        frame[y : y + th, x : x + tw] = (40, 30, 25)
        poster = photo(tw - int(20 * s), int(200 * s), 100 + i)
        frame[y + int(10 * s) : y + int(10 * s) + poster.shape[0], x + int(10 * s) :][
            :, : poster.shape[1]
        ] = poster
        # An icon: a coloured badge with a glyph.
        ix, iy, isz = x + int(14 * s), y + int(222 * s), int(28 * s)
        cv2.circle(
            frame, (ix + isz // 2, iy + isz // 2), isz // 2, (60, 180, 60) if i % 2 else
            (200, 80, 200), -1, cv2.LINE_AA,
        )  # fmt: skip
        cv2.putText(
            frame, ("HD", "4K", "SD", "UHD", "AD")[i], (ix + 3, iy + isz * 2 // 3),
            cv2.FONT_HERSHEY_PLAIN,
            0.8 * s, (255, 255, 255), 1, cv2.LINE_AA,
        )  # fmt: skip
        icons.append((ix, iy, isz, isz))
        numbers.append((x + int(150 * s), y + int(222 * s), int(56 * s), int(30 * s)))
    pil = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    for i, (title, ch) in enumerate(zip(titles, channels, strict=True)):
        x = int((60 + i * 240) * s)
        draw.text((x + int(50 * s), y + int(222 * s)), title, font=font(int(22 * s)))
        draw.text((x + int(155 * s), y + int(224 * s)), ch, font=font(int(20 * s)))
        draw.text(
            (x + int(14 * s), y + int(260 * s)), "Tonight 20:00", font=font(int(16 * s)),
            fill=(190, 190, 190),
        )  # fmt: skip
    draw.text((int(60 * s), int(40 * s)), "Home", font=font(int(48 * s)))
    draw.text((int(1050 * s), int(45 * s)), "21:37", font=font(int(36 * s)))
    frame = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    if focus is not None:
        x, y0, ww, hh = tiles[focus]
        cv2.rectangle(frame, (x, y0), (x + ww - 1, y0 + hh - 1), colour, max(3, int(5 * s)))
    return Screen(frame, tiles, icons, numbers)


def capture(frame: np.ndarray, seed: int) -> np.ndarray:
    """Light capture noise (sigma 2), as an HDMI grabber adds."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 2.0, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def crop(frame: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return frame[y : y + h, x : x + w].copy()


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


# --- report ----------------------------------------------------------------------------


def report_groups(cases: list[Case]) -> None:
    groups: dict[str, list[Case]] = {}
    for c in cases:
        groups.setdefault(c.group, []).append(c)
    print(
        f"{'group':<26} {'n':>3} {'ours ms':>8} {'stbt ms':>8} {'ratio':>6} "
        f"{'ours max':>8} {'ours ok':>8} {'stbt ok':>8}"
    )
    for g, cs in groups.items():
        o = statistics.median(c.ours_ms for c in cs)
        s = statistics.median(c.stbt_ms for c in cs)
        mx = max(c.ours_ms for c in cs)
        ook = sum(c.ours_ok for c in cs)
        sok = sum(c.stbt_ok for c in cs)
        print(
            f"{g:<26} {len(cs):>3} {o:>8.2f} {s:>8.2f} {o / s:>6.2f} {mx:>8.2f} "
            f"{ook:>4}/{len(cs):<3} {sok:>4}/{len(cs):<3}"
        )


def overall(label: str, cs: list[Case]) -> tuple[float, float]:
    if not cs:
        return float("nan"), float("nan")
    total = sum(c.ours_ms for c in cs) / sum(c.stbt_ms for c in cs)
    per_case = [c.ours_ms / c.stbt_ms for c in cs]
    ook, sok = sum(c.ours_ok for c in cs), sum(c.stbt_ok for c in cs)
    print(
        f"{label:<10} ratio (sum of medians) {total:.2f}   per-case ratio median "
        f"{statistics.median(per_case):.2f} p90 {percentile(per_case, 90):.2f} "
        f"max {max(per_case):.2f}   correct: ours {ook}/{len(cs)}, stbt {sok}/{len(cs)}"
    )
    return total, percentile(per_case, 90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=25, help="repetitions per synthetic case")
    ap.add_argument("--corpus-reps", type=int, default=15, help="repetitions per corpus case")
    ap.add_argument("--only", choices=["corpus", "720p", "1080p"], default=None)
    ap.add_argument("--verbose", action="store_true", help="print every case")
    args = ap.parse_args()

    print("=" * 100)
    print("match_vs_stbt: our pytest_virtualpy.vision.match vs stbt_core.match")
    print(f"  command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"  stbt_core {getattr(stbt_core, '__version__', '?')}, OpenCV {cv2.__version__}, "
        f"numpy {np.__version__}"
    )
    print("  medians of interleaved calls (ours, stbt, ours, ...), ms per match() call")
    print("  goals: ours/stbt <= 0.50 at 720p and at 1080p; correct answers >= stbt's")
    print("=" * 100)
    t_start = time.perf_counter()
    cases: list[Case] = []
    if args.only in (None, "corpus"):
        cc = corpus_cases()
        for c in cc:
            measure(c, args.corpus_reps)
        cases += cc
    for w, h in ((1280, 720), (1920, 1080)):
        if args.only not in (None, f"{h}p"):
            continue
        sc = synthetic_cases(w, h) + icon_cases(w, h) + (scaled_cases() if h == 720 else [])
        for c in sc:
            measure(c, args.reps)
        cases += sc

    report_groups(cases)
    wrong = [c for c in cases if not (c.ours_ok and c.stbt_ok)]
    if args.verbose or wrong:
        print("-" * 100)
        print("cases where an engine is wrong:" if not args.verbose else "every case:")
        for c in cases if args.verbose else wrong:
            print(
                f"  {c.group:<22} {c.name:<42} ours {c.ours_ms:6.2f} ms "
                f"{'ok' if c.ours_ok else 'WRONG':<5} stbt {c.stbt_ms:6.2f} ms "
                f"{'ok' if c.stbt_ok else 'WRONG'}"
            )
    print("-" * 100)
    results = {}
    for label in ("corpus", "720p", "1080p"):
        cs = [c for c in cases if c.group.startswith(label)]
        if cs:
            results[label] = overall(label, cs)
    print("-" * 100)
    for label in ("720p", "1080p"):
        if label in results:
            cs = [c for c in cases if c.group.startswith(label)]
            ok = sum(c.ours_ok for c in cs) >= sum(c.stbt_ok for c in cs)
            met = results[label][0] <= 0.5 and ok
            print(
                f"goal at {label}: ratio {results[label][0]:.2f} <= 0.50 and accuracy >= stbt: "
                f"{'MET' if met else 'NOT MET'}"
            )
    print(f"total bench time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()

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
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _match_cases import corpus_cases, icon_cases, scaled_cases, synthetic_cases
from _match_engines import Case, measure, stbt_core
from _match_report import overall, report_groups


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

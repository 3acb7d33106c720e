"""Benchmark: our motion differ against stb-tester's `BGRDiff` (prints figures).

    .venv/bin/python bench/differ_vs_stbt.py [--reps 30]

For each sequence of tests/vision/test_differ.py (and stbt's own wipes and keyboard
images), how many frames each differ calls motion, run through `detect_motion` of both
(stbt's with its default `BGRDiff`, ours with its defaults), and whether they agree on
the answer a test wants ("any motion?"). Then the time of one 720p comparison, for a
still frame with capture noise, a focus move and a change of the whole frame. stbt's
comparison runs in C (libstbt) when its wheel has it, so that is the bar.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "vision"))

import stbt_core  # noqa: E402  (installed for the benches: pip install stbt-core attrs)
import test_differ as cases  # noqa: E402
import test_stbt_motion_cases as stbt_cases  # noqa: E402
from _stbt.motion import DetectMotion  # noqa: E402
from vision_synth import menu, noisy  # noqa: E402

from pytest_virtualpy.vision import detect_motion, load_image  # noqa: E402
from pytest_virtualpy.vision._diff import Differ  # noqa: E402


def sequences() -> dict[str, tuple[list[np.ndarray], bool]]:
    """name -> (frames, whether a person sees motion)."""
    base, _ = menu()
    cursor = cases.blinking_cursor(3)
    return {
        "colour-only focus": ([cases.keyboard(3), cases.keyboard(4)], True),
        "stbt keyboard ?123": (
            [load_image(stbt_cases.KEYBOARD_1), load_image(stbt_cases.KEYBOARD_2)],
            True,
        ),
        "10 px square moving": (cases.moving_square(size=10), True),
        "gradient wipe 20/frame": (cases.gradient_wipe(20), True),
        "stbt gradient wipe": ([np.asarray(f) for f in stbt_cases.gradient_wipe()], True),
        "stbt wipe": ([np.asarray(f) for f in stbt_cases.wipe()][:60], True),
        "jpeg q50 noise": ([cases.jpeg(noisy(base, 3.0, i), 50) for i in range(30)], False),
        "h264 crf28 noise": (cases.h264([noisy(base, 3.0, i) for i in range(50)], 28), False),
        "cursor 2 px": (cases.blinking_cursor(2), False),
        "cursor 3 px, jpeg": (
            [cases.jpeg(noisy(f, 3.0, i), 75) for i, f in enumerate(cursor)],
            False,
        ),
    }


def count_ours(frames) -> int:
    return sum(map(bool, detect_motion(cases.seq(frames))))


def count_stbt(frames) -> int:
    fs = iter(stbt_core.Frame(f, time=i / 25) for i, f in enumerate(frames))
    return sum(map(bool, stbt_core.detect_motion(timeout_secs=1e9, frames=fs)))


def timing(reps: int) -> None:
    base, _ = menu()
    still, other = noisy(base, 3.0, 0), noisy(base, 3.0, 1)
    focus = other.copy()
    focus[446:590, 64:400] = (0, 140, 255)
    kinds = {"still + noise": other, "focus move": focus, "whole frame": 255 - other}
    ours = Differ()
    reference = ours.prepare(still)
    stbt_differ = stbt_core.BGRDiff()
    for name, frame in kinds.items():
        ms_ours, ms_stbt = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            ours.compare(reference, ours.prepare(frame))
            t1 = time.perf_counter()
            DetectMotion(stbt_differ, still).diff(frame)
            t2 = time.perf_counter()
            ms_ours.append((t1 - t0) * 1000)
            ms_stbt.append((t2 - t1) * 1000)
        print(
            f"  {name:14s} ours p50 {np.median(ms_ours):6.2f} ms   "
            f"stbt p50 {np.median(ms_stbt):6.2f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    agree = 0
    print(f"{'sequence':26s} {'frames':>6s} {'ours':>5s} {'stbt':>5s}  person  verdict")
    seqs = sequences()
    for name, (frames, moving) in seqs.items():
        ours, stbt = count_ours(frames), count_stbt(frames)
        right = (ours > 0) == moving
        agree += (ours > 0) == (stbt > 0)
        verdict = "right" if right else "WRONG"
        print(f"{name:26s} {len(frames) - 1:6d} {ours:5d} {stbt:5d}  {moving!s:6s}  {verdict}")
    print(f"ours and stbt agree on motion/no motion: {agree}/{len(seqs)}")
    print("one 720p comparison (prepare + compare):")
    timing(args.reps)


if __name__ == "__main__":
    main()

"""Benchmark: OCR engine accuracy on the simulator's text and on real screenshots.

    .venv/bin/python bench/ocr_accuracy.py [--engines rapidocr,tesseract] [--errors] [--dump DIR]
        [--timing-runs N] [--cold-runs N] [--no-upscale-study]

Three labelled sets:

- **sim**: crops of the simulated box's screens (about, settings, home, guide, live TV banner,
  volume, messages, placeholder pages) at 1920x1080, 1280x720 and 640x360, generated here at
  run time from ``lab_daemon.sim.SimulatedBox`` with the text the box drew as the truth;
- **real**: hand-labelled regions of real captures from the stb-tester test images
  (``/work/shared/corpus/stbt-match``, or ``--corpus``), listed in ``bench/ocr_truth/real.json``;
- **stbt**: stb-tester's own OCR images (``tests/vision/data/stbt_ocr``, LGPL-2.1) with the
  text its ``tests/test_ocr.py`` expects (what a person reads where stbt expects a misread),
  listed in ``bench/ocr_truth/stbt.json``.

For each engine found (rapidocr always; tesseract when its binary is on PATH) it prints, per set:
character accuracy (1 - Levenshtein distance / truth length, summed over the set, on
whitespace-normalised text; also with spaces ignored, and case-insensitively), exact-line
accuracy (a truth line counts when OCR returned exactly that line), the ``match_text`` hit rate
(the default tolerant, case-insensitive compare) and the median milliseconds per call. Then the
effect of ``upscale`` on small text (text under ~20 px tall), and a recommendation.

Then full-frame 720p timings per engine (``Region.ALL``, no region): **cold** is the first read
in a new Python process (engine and models loaded by that call), **warm** a later read in
the same process with the result memory cleared (so the engine really runs), each as
p50/p95, on three screens (the simulator's home and guide, stbt's ``menu.png``); each
timed read is checked: every expected phrase must be found in what was read.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ocr_cases import Case, real_cases, sim_cases, stbt_cases
from _ocr_metrics import Score, flat, line_set
from _ocr_timing import time_full_frames

from pytest_virtualpy.vision.ocr import ocr

CORPUS = Path("/work/shared/corpus/stbt-match")
DIGITS = "0123456789:- "
SMALL_PX = 16  # "small text": cap height under this many pixels in the frame
GOAL_MS = 500  # full-frame 720p OCR, warm, p50 (issue 11)


# --- running ----------------------------------------------------------------------------


def run(
    cases: list[Case], fn: Callable[[Case], str], errors: bool = False
) -> tuple[Score, list[float]]:
    score, ms = Score(), []
    for c in cases:
        t0 = time.perf_counter()
        got = fn(c)
        ms.append((time.perf_counter() - t0) * 1000)
        score.add(c.text, got)
        if errors and flat(got) != flat(c.text):
            print(f"      {c.name:36} want {flat(c.text)!r:42} got {flat(got)!r}")
    return score, ms


def row(label: str, s: Score, ms: list[float]) -> str:
    return (
        f"  {label:26} n={s.cases:3d}  char {s.acc:6.1%}  no-space {s.acc_nospace:6.1%}  "
        f"case-insens {s.acc_ci:6.1%}  lines exact {s.lines_exact:3d}/{s.lines:<3d} "
        f"({s.lines_exact / max(1, s.lines):6.1%})  match_text {s.matched / max(1, s.cases):6.1%}  "
        f"median {statistics.median(ms):6.1f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--engines", default="rapidocr,tesseract")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--errors", action="store_true", help="print every crop read wrongly")
    ap.add_argument("--dump", type=Path, help="write every crop as a PNG into this folder")
    ap.add_argument("--timing-runs", type=int, default=10, help="warm full-frame reads per screen")
    ap.add_argument("--cold-runs", type=int, default=3, help="new processes per screen (cold)")
    ap.add_argument("--no-upscale-study", action="store_true", help="skip upscale/whitelist")
    args = ap.parse_args()

    engines = [e for e in args.engines.split(",") if e]
    if "tesseract" in engines and shutil.which("tesseract") is None:
        print("tesseract: binary not found on PATH, skipped (apt-get install tesseract-ocr)")
        engines.remove("tesseract")

    sim = list(sim_cases(((1920, 1080), (1280, 720), (640, 360))))
    real = list(real_cases(args.corpus)) if args.corpus.exists() else []
    stbt = list(stbt_cases())
    if not real:
        print(f"real screenshots: {args.corpus} not found, that set is skipped")
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for c in sim + real + stbt:
            cv2.imwrite(
                str(args.dump / (c.name.replace("/", "_") + ".png")), c.frame[c.region.to_slice()]
            )
    sets = {"simulator": sim, "real screenshots": real, "stbt images": stbt}
    print(
        "cases: "
        + ", ".join(
            f"{n} {len(cs)} crops ({sum(len(line_set(c.text)) for c in cs)} lines)"
            for n, cs in sets.items()
        )
    )

    results: dict[tuple[str, str], Score] = {}
    for engine in engines:
        ocr(sim[0].frame, sim[0].region, engine=engine)  # warm up (rapidocr loads its models)
        print(f"\n== {engine} ==")
        for set_name, cases in sets.items():
            if not cases:
                continue
            print(f"  -- {set_name}")
            s, ms = run(cases, lambda c, e=engine: ocr(c.frame, c.region, engine=e), args.errors)
            results[(engine, set_name)] = s
            print(row("mode=block (default)", s, ms))
            single = [c for c in cases if "\n" not in c.text]
            s, ms = run(single, lambda c, e=engine: ocr(c.frame, c.region, mode="line", engine=e))
            print(row("mode=line (1-line crops)", s, ms))

    if not args.no_upscale_study:
        _upscale_and_whitelist(engines, sim + real)
    tmp = Path("/tmp/ocr_timing_frames")
    warm_p50 = time_full_frames(engines, args.timing_runs, args.cold_runs, tmp)
    if results:
        _summary(engines, sets, results, warm_p50)


def _upscale_and_whitelist(engines: list[str], cases: list[Case]) -> None:
    small = [c for c in cases if c.text_px < SMALL_PX and "\n" not in c.text]
    print(f"\n== upscale on small text ({len(small)} one-line crops with text < {SMALL_PX} px) ==")
    for engine in engines:
        for up in (1.0, None, 2.0, 3.0):
            label = f"{engine} upscale={'auto' if up is None else up}"
            s, ms = run(
                small, lambda c, e=engine, u=up: ocr(c.frame, c.region, upscale=u, engine=e)
            )
            print(row(label, s, ms))

    digits = [c for c in cases if set(c.text) <= set(DIGITS) and "\n" not in c.text]
    print(f"\n== char_whitelist={DIGITS!r} on {len(digits)} crops of digits and times ==")
    for engine in engines:
        for wl in (None, DIGITS):
            label = f"{engine} whitelist={'yes' if wl else 'no'}"
            s, ms = run(
                digits, lambda c, e=engine, w=wl: ocr(c.frame, c.region, char_whitelist=w, engine=e)
            )
            print(row(label, s, ms))


def _summary(
    engines: list[str], sets: dict[str, list[Case]], results: dict, warm_p50: dict[str, float]
) -> None:
    print("\n== summary: character accuracy, each set weighted equally ==")
    means = {}
    for engine in engines:
        per_set = {n: results[(engine, n)].acc for n in sets if (engine, n) in results}
        means[engine] = statistics.fmean(per_set.values())
        parts = "  ".join(f"{n} {a:6.1%}" for n, a in per_set.items())
        print(f"  {engine:10} {parts}  mean {means[engine]:6.1%}")
    for engine in engines:
        print(f"  {engine:10} slowest warm full-frame 720p p50 {warm_p50[engine]:6.0f} ms")
    # The goal for a default: a whole 720p frame in 500 ms (p50, warm), so that
    # wait_for_text with no region catches a 2-second overlay; then accuracy.
    fast = [e for e in engines if warm_p50[e] <= GOAL_MS]
    fast = fast or [min(engines, key=lambda e: warm_p50[e])]  # none is: the fastest
    best = max(fast, key=lambda e: means[e])
    others = ", ".join(f"{e} {means[e]:.1%} / {warm_p50[e]:.0f} ms" for e in engines if e != best)
    print(
        f"RECOMMENDATION: default engine = {best} (the most accurate of those within "
        f"{GOAL_MS} ms a full 720p frame, or the fastest if none is: "
        f"{means[best]:.1%} / {warm_p50[best]:.0f} ms" + (f"; {others})" if others else ")")
    )


if __name__ == "__main__":
    sys.exit(main())

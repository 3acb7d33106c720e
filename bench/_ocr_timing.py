"""Full-frame 720p OCR timings for bench/ocr_accuracy.py: cold (a new process) and warm.

``time_full_frames`` reads three whole screens (the simulator's home and guide, stbt's
``menu.png``) per engine, cold in fresh Python processes and warm in this one with the
result memory cleared, prints p50/p95 and how many expected phrases each read found.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from _ocr_cases import STBT_IMAGES, SimDriver

from pytest_virtualpy.vision.ocr import normalise_text, ocr
from pytest_virtualpy.vision.ocr_engine import results as ocr_memory


def timing_screens() -> dict[str, tuple[np.ndarray, list[str]]]:
    """720p screens to read whole, each with phrases that must be in what is read."""
    d = SimDriver(1280, 720)
    home = d.frame("home")
    d.press("KEY_GUIDE")
    guide = d.frame("guide")
    d.close()
    menu = cv2.imread(str(STBT_IMAGES / "menu.png"), cv2.IMREAD_COLOR)
    return {
        "sim home": (home, ["virtualpy", "Now on", "101 News 24", "Recordings", "Settings"]),
        "sim guide": (guide, ["Channel", "101 News 24", "102 Sports One", "106 Music Hits"]),
        "stbt menu.png": (menu, ["Onion Bhaji", "Beef Wellington", "Chocolate Fudge Cake"]),
    }


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def _read_ok(text: str, phrases: list[str]) -> int:
    got = normalise_text(text, tolerant=True)
    return sum(normalise_text(p, tolerant=True) in got for p in phrases)


_COLD = """
import sys, time, cv2
from pytest_virtualpy.vision import ocr
frame = cv2.imread(sys.argv[1], cv2.IMREAD_COLOR)
t0 = time.perf_counter()
text = ocr(frame, engine=sys.argv[2])
print((time.perf_counter() - t0) * 1000)
print(text)
"""


def time_full_frames(
    engines: list[str], warm_runs: int, cold_runs: int, tmp: Path
) -> dict[str, float]:
    """Print cold and warm timings per engine and screen; return each engine's worst warm p50."""
    screens = timing_screens()
    worst: dict[str, float] = {}
    print(f"\n== full-frame 720p OCR (no region): cold {cold_runs} runs, warm {warm_runs} runs ==")
    tmp.mkdir(parents=True, exist_ok=True)
    for engine in engines:
        for name, (frame, phrases) in screens.items():
            path = tmp / (name.replace(" ", "_") + ".png")
            cv2.imwrite(str(path), frame)
            cold, cold_ok = [], []
            for _ in range(cold_runs):
                out = subprocess.run(
                    [sys.executable, "-c", _COLD, str(path), engine],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                ms, _, text = out.partition("\n")
                cold.append(float(ms))
                cold_ok.append(_read_ok(text, phrases))
            ocr(frame[:64, :256], engine=engine)  # load the engine in this process
            warm, warm_ok = [], []
            for _ in range(warm_runs):
                ocr_memory().clear()
                t0 = time.perf_counter()
                text = ocr(frame, engine=engine)
                warm.append((time.perf_counter() - t0) * 1000)
                warm_ok.append(_read_ok(text, phrases))
            n = len(phrases)
            worst[engine] = max(worst.get(engine, 0.0), _pct(warm, 50))
            print(
                f"  {engine:10} {name:14} cold p50 {_pct(cold, 50):6.0f} ms "
                f"p95 {_pct(cold, 95):6.0f} ms | warm p50 {_pct(warm, 50):6.0f} ms "
                f"p95 {_pct(warm, 95):6.0f} ms | "
                f"phrases read right: cold {min(cold_ok)}/{n}, warm {min(warm_ok)}/{n}"
            )
    return worst

"""Benchmark: how accurately press_and_wait measures UI timings (prints figures).

    .venv/bin/python bench/kpi_accuracy.py [--transitions 100]

Runs N transitions on the simulated box at 30 and 60 fps through the real
daemon and compares what ``press_and_wait`` measured (on frame timestamps, in
the daemon) with the simulator's ground truth for the same key:

* start error  = measured first changed frame - true first changed frame;
* settle error = measured settled time        - true first frame of the final state.

Goal: |error| <= 1 frame period at p95. The transitions mix animated focus
moves (150 ms), instant page switches and channel zaps (black gap + banner).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import lease_device, percentile, summary, wait_for_screen

from pytest_virtualpy.lab.local import start_sim_lab

TILES = (64, 446, 1152, 144)
SETTINGS_LIST = (100, 120, 640, 440)
CONTENT = (100, 100, 1080, 520)
BANNER = (64, 540, 1152, 130)


def _scenarios(device):
    """Yield (key, region, stable_secs) forever, steering the box between screens."""
    while True:
        device.press("KEY_HOME")
        wait_for_screen(device, "home")
        for _ in range(5):
            device.press("KEY_LEFT")
        time.sleep(0.4)
        for key in ["KEY_RIGHT"] * 4 + ["KEY_LEFT"] * 4:  # animated focus moves
            yield key, TILES, 0.3
        for key in ["KEY_RIGHT"] * 4:
            device.press(key)
            time.sleep(0.25)
        yield "KEY_OK", TILES, 0.3  # home -> settings (instant; CONTENT has home's video)
        for _ in range(4):  # focus back to the top of the list
            device.press("KEY_UP")
        time.sleep(0.4)
        for key in ["KEY_DOWN"] * 4:  # animated focus moves in a list
            yield key, SETTINGS_LIST, 0.3
        yield "KEY_OK", CONTENT, 0.3  # settings -> about
        yield "KEY_BACK", CONTENT, 0.3  # about -> settings
        device.press("KEY_HOME")
        wait_for_screen(device, "home")
        for key in ["KEY_LEFT"] * 5 + ["KEY_OK"]:  # focus back to Live TV, open it
            device.press(key)
            time.sleep(0.25)
        wait_for_screen(device, "live_tv")
        time.sleep(3.5)  # let the first banner go
        for key in ("KEY_CHANNELUP", "KEY_CHANNELDOWN"):
            # a zap goes through 500 ms of black: stable_secs must be longer than that,
            # or the black gap itself looks like the settled screen
            yield key, BANNER, 1.0
            time.sleep(3.2)


def measure(fps: float, n: int) -> tuple[list[float], list[float], int]:
    lab = start_sim_lab(1, fps=fps, boot_secs=0.5)
    start_err, settle_err, failed = [], [], 0
    try:
        device = lease_device(lab)
        wait_for_screen(device, "home")
        for i, (key, region, stable) in enumerate(_scenarios(device)):
            if i >= n:
                break
            t = device.press_and_wait(key, region, None, 5.0, stable, None)
            truth = device.sim_events()[-1]
            if t["status"] != "complete" or truth["key"] != key or truth["settled"] is None:
                failed += 1
                print(f"    not complete: {key} in {region}: {t['status']}; truth {truth}")
                continue
            start_err.append((t["start_time"] - truth["first_change"]) * 1000)
            settle_err.append((t["end_time"] - truth["settled"]) * 1000)
            if max(abs(start_err[-1]), abs(settle_err[-1])) > 1000 / fps + 0.5:
                print(
                    f"    outlier: {key} in {region}: start {start_err[-1]:+.1f} ms, "
                    f"settle {settle_err[-1]:+.1f} ms"
                )
    finally:
        lab.stop()
    return start_err, settle_err, failed


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--transitions", type=int, default=100)
    args = ap.parse_args()
    for fps in (30.0, 60.0):
        period = 1000 / fps
        start, settle, failed = measure(fps, args.transitions)
        print(
            f"{fps:.0f} fps (frame period {period:.1f} ms): {len(start)} transitions measured, "
            f"{failed} not complete"
        )
        for name, errs in (("start error", start), ("settle error", settle)):
            abs_errs = [abs(e) for e in errs]
            print(f"  {name:12s} ms:      {summary(errs)}")
            print(
                f"  {name:12s} |frames|: p50={percentile(abs_errs, 50) / period:.2f} "
                f"p95={percentile(abs_errs, 95) / period:.2f} "
                f"max={max(abs_errs) / period:.2f}  goal p95 <= 1: "
                f"{'met' if percentile(abs_errs, 95) <= period + 0.5 else 'NOT met'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: one daemon, four 720p30 simulated boxes, each matching continuously.

    .venv/bin/python bench/pipeline.py [--secs 20]

Each device runs back-to-back ``wait_for_match`` calls over the whole frame for
a reference that is not on screen (the home menu's tile row with the focus on
another tile: a hard negative), so the daemon matches every captured frame.
Two boxes show home (a moving preview), two show live TV (full-screen video).

Prints, per device: frames captured and dropped by the capture thread, frames
the matcher examined and skipped because it fell behind, and the daemon's CPU
use per device. Goal: no dropped frames on this 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_seconds, lease_device, wait_for_screen

from pytest_virtualpy.lab.local import start_sim_lab

TILES = (64, 446, 1152, 144)


def prepare(device, live: bool) -> bytes:
    """Put the box on its screen and return a reference that is not on it."""
    for _ in range(5):
        device.press("KEY_LEFT")
    time.sleep(0.5)
    _, reference = device.get_frame(region=TILES)  # focus on "Live TV"
    device.press("KEY_RIGHT")  # focus moves: the reference is now a hard negative
    time.sleep(0.5)
    if live:
        device.press("KEY_LEFT")
        time.sleep(0.3)
        device.press("KEY_OK")
        wait_for_screen(device, "live_tv")
    return reference


def run(device, reference: bytes, until: float, out: dict) -> None:
    frames = skipped = calls = matched = 0
    while time.monotonic() < until:
        r = device.wait_for_match(reference, None, None, min(5.0, until - time.monotonic()), 1)
        calls += 1
        matched += 0 if r["timed_out"] else 1
        frames += r.get("frames", 0)
        skipped += r.get("skipped", 0)
    out.update(frames=frames, skipped=skipped, calls=calls, matched=matched)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--secs", type=float, default=20.0)
    ap.add_argument("--devices", type=int, default=4)
    args = ap.parse_args()
    lab = start_sim_lab(args.devices, fps=30, boot_secs=0.5)
    try:
        devices = [lease_device(lab) for _ in range(args.devices)]
        for d in devices:
            wait_for_screen(d, "home")
        refs = [prepare(d, live=i % 2 == 1) for i, d in enumerate(devices)]
        time.sleep(1.0)
        health0 = devices[0].client.health()["devices"]
        c0, w0 = cpu_seconds(lab.process.pid), time.monotonic()
        until = time.monotonic() + args.secs
        results = [{} for _ in devices]
        threads = [
            threading.Thread(target=run, args=(d, r, until, o))
            for d, r, o in zip(devices, refs, results, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - w0
        cpu = (cpu_seconds(lab.process.pid) - c0) / wall * 100
        health1 = devices[0].client.health()["devices"]
    finally:
        lab.stop()
    print(
        f"{args.devices} devices at 720p30, {args.secs:.0f} s of continuous wait_for_match "
        "(full frame, hard negative)"
    )
    total_dropped = 0
    for d, r in zip(devices, results, strict=True):
        h0, h1 = health0[d.name], health1[d.name]
        captured = h1["frames_captured"] - h0["frames_captured"]
        dropped = h1["frames_dropped"] - h0["frames_dropped"]
        total_dropped += dropped
        print(
            f"  {d.name}: captured {captured} frames ({captured / wall:.1f} fps), capture "
            f"dropped {dropped}; matcher examined {r['frames']} and skipped {r['skipped']} "
            f"in {r['calls']} calls ({r['matched']} false matches)"
        )
    print(f"daemon CPU: {cpu:.0f}% of one core in total, {cpu / args.devices:.0f}% per device")
    print(
        f"frames dropped by capture: {total_dropped}  goal 0: "
        f"{'met' if total_dropped == 0 else 'NOT met'}"
    )
    skipped = sum(r["skipped"] for r in results)
    examined = sum(r["frames"] for r in results)
    print(
        f"frames the matchers skipped: {skipped} of {examined + skipped} "
        f"({100 * skipped / max(1, examined + skipped):.1f}%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

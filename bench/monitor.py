"""Benchmark: what monitoring costs (prints figures; not a test).

    .venv/bin/python bench/monitor.py [--devices 1,2,4] [--secs 15] [--fps 30]

1. The whole daemon (``python -m lab_daemon serve``, N simulated 720p boxes, recording
   and live view off), its CPU as % of one core with ``[lab.monitor] enabled = true``
   (the defaults: a look per device per second) and ``false``, side by side, and on
   with the silence check off (``silence_secs = 0``): the sound level comes from the
   audio ring's ``level_db``, whose cost shows there. The watchdogs' own share is
   small next to rendering N boxes, so:
2. the watchdogs alone, in one process (a LabHost with N boxes): the CPU time of each
   look on its own thread (``time.thread_time``), as % of one core per device and ms per
   look, and the wall time of a look. Goal: a few ms per device per second at most.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _common import cpu_seconds  # noqa: E402
from monitor_lab import serve_lab, sim_devices  # noqa: E402

DEFAULTS = {"interval_secs": 1.0}  # the shipped thresholds otherwise


def daemon_cpu(devices: int, monitor: dict, secs: float, fps: int, folder: Path) -> float:
    """% of one core the daemon uses over ``secs``, after a warm-up."""
    monitor = dict(DEFAULTS, **monitor)
    served = serve_lab(folder, f"bench-{devices}", sim_devices(devices, fps=fps), monitor)
    try:
        time.sleep(3.0)
        pid = served.process.pid
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(secs)
        return 100.0 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
    finally:
        served.stop()


def watchdogs_alone(devices: int, secs: float, fps: int) -> tuple[float, float, float, int]:
    """(% of one core per device, CPU ms per look, wall ms per look, looks) of the
    watchdogs of a LabHost with N boxes, from each look's own thread CPU time."""
    from lab_daemon import lab_options
    from lab_daemon.devices.sim import SimDevice
    from lab_daemon.host import LabHost
    from lab_daemon.monitor import Watchdog
    from lab_daemon.sim import SimulatedBox

    tables = {
        "monitor": dict(lab_options.defaults("monitor"), **DEFAULTS),
        "recording": dict(lab_options.defaults("recording"), enabled=False),
    }
    boxes = [SimDevice(SimulatedBox(f"b{i}", fps=fps, boot_secs=0.5)) for i in range(devices)]
    host = LabHost("bench", boxes, tables=tables)
    host.start()
    try:
        dogs = [w for rt in host.runtimes for w in rt.workers if isinstance(w, Watchdog)]
        time.sleep(2.0)

        def totals() -> tuple[int, float, float]:
            return (
                sum(d.looks for d in dogs),
                sum(d.cpu_secs for d in dogs),
                sum(d.busy_secs for d in dogs),
            )

        (looks0, cpu0, busy0), t0 = totals(), time.monotonic()
        time.sleep(secs)
        elapsed = time.monotonic() - t0
        looks, cpu, busy = (b - a for a, b in zip((looks0, cpu0, busy0), totals(), strict=True))
        if not looks:
            raise SystemExit("the watchdogs did not look at all: nothing was measured")
        pct = 100.0 * cpu / elapsed / devices
        return pct, 1000.0 * cpu / looks, 1000.0 * busy / looks, int(looks)
    finally:
        host.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default="1,2,4", help="comma-separated device counts")
    p.add_argument("--secs", type=float, default=15.0, help="seconds measured per case")
    p.add_argument("--fps", type=int, default=30, help="frame rate of each simulated box")
    args = p.parse_args()
    counts = [int(n) for n in args.devices.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    print(f"monitoring cost, {args.fps} fps 720p simulated boxes, {args.secs:g} s per case")
    print(f"(os.cpu_count() = {os.cpu_count()}; CPU as % of one core)\n")
    print("1. the whole daemon")
    heads = ("devices", "monitoring off", "monitoring on", "on, no silence check")
    print(f"{heads[0]:>8} {heads[1]:>15} {heads[2]:>14} {heads[3]:>21}")
    for n in counts:
        off = daemon_cpu(n, {"enabled": False}, args.secs, args.fps, folder)
        on = daemon_cpu(n, {"enabled": True}, args.secs, args.fps, folder)
        quiet = daemon_cpu(n, {"enabled": True, "silence_secs": 0.0}, args.secs, args.fps, folder)
        print(f"{n:>8} {off:>14.1f}% {on:>13.1f}% {quiet:>20.1f}%", flush=True)
    print("\n2. the watchdogs alone (each look's own thread CPU time)")
    heads = ("devices", "% core/device", "CPU ms/look", "wall ms/look", "looks")
    print(f"{heads[0]:>8} {heads[1]:>14} {heads[2]:>12} {heads[3]:>13} {heads[4]:>6}")
    for n in counts:
        pct, cpu_ms, wall_ms, looks = watchdogs_alone(n, args.secs, args.fps)
        print(f"{n:>8} {pct:>13.3f}% {cpu_ms:>12.3f} {wall_ms:>13.3f} {looks:>6}", flush=True)
    print("\ngoal: a few ms per device per second at most (0.5% of a core = 5 ms/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

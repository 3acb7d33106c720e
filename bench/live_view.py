"""Benchmark: what live-page viewers cost the lab (prints figures; not a test).

    .venv/bin/python bench/live_view.py [--secs 10] [--rounds 3] [--devices 2]

A simulated lab (720p60 boxes, default [lab.live]: 5 fps, 480 px tiles, 4000 kbit/s a
viewer) is measured in three phases of ``--secs`` each, taken in turn ``--rounds``
times (so that whatever else loads the machine weighs on every phase alike):

1. nobody watching;
2. 4 viewers, each doing what the page does: pull every device's tile picture;
3. 4 viewers, each on a full-size MJPEG stream of the first device.

For each: capture frames dropped (all devices), the round trip of ``match`` and of
``get_frame`` from a test process (p50/p95, ms), the daemon's CPU, and bytes/s per
viewer. A viewer must not slow capture or matching; its bytes/s must stay under the
budget (4000 kbit/s = 500 kB/s).
"""

from __future__ import annotations

import argparse
import http.client
import secrets
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_seconds, lease_device, percentile, wait_for_screen

from pytest_virtualpy.lab import live_link
from pytest_virtualpy.lab.local import start_sim_lab

REGION = (80, 60, 480, 320)  # where the test looks, at 720p
REFERENCE = (200, 150, 160, 90)  # what it looks for, inside REGION


class Viewer(threading.Thread):
    """One viewer: the page's picture loop per device, or one MJPEG stream."""

    def __init__(self, port: int, query: str, devices: list[str], full_stream: bool):
        super().__init__(daemon=True)
        self.port, self.query, self.devices, self.full = port, query, devices, full_stream
        self.bytes = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def _count(self, n: int) -> None:
        with self._lock:
            self.bytes += n

    def _pull(self, device: str, vid: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        seq, period = 0, 0.2
        while not self.stop.is_set():
            started = time.monotonic()
            conn.request("GET", f"/snapshot/{device}.jpg?after={seq}&v={vid}&{self.query}")
            r = conn.getresponse()
            body = r.read()
            if r.status == 200:
                seq = int(r.headers["X-Frame-Seq"])
                self._count(len(body))
            time.sleep(max(0.0, started + period - time.monotonic()))
        conn.close()

    def _stream(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        conn.request("GET", f"/stream/{self.devices[0]}.mjpg?size=full&{self.query}")
        r = conn.getresponse()
        assert r.status == 200, r.read()
        while not self.stop.is_set():
            self._count(len(r.read1(65536)))
        conn.close()

    def run(self) -> None:
        if self.full:
            return self._stream()
        vid = secrets.token_hex(8)
        pulls = [threading.Thread(target=self._pull, args=(d, vid)) for d in self.devices]
        for t in pulls:
            t.start()
        for t in pulls:
            t.join()


def measure(lab, device, ref: bytes, live_port: int, viewers: int, full: bool, secs: float):
    query = live_link.query(lab.token, 3600)
    watchers = [Viewer(live_port, query, lab.devices, full) for _ in range(viewers)]
    for w in watchers:
        w.start()
    time.sleep(2.0 if watchers else 0.0)  # let producers start and budgets settle
    health0 = device.client.health()["devices"]
    cpu0, t0 = cpu_seconds(lab.process.pid), time.monotonic()
    bytes0 = [w.bytes for w in watchers]
    match_ms, frame_ms = [], []
    while time.monotonic() - t0 < secs:
        s = time.perf_counter()
        result = device.match(ref, REGION, None)
        match_ms.append((time.perf_counter() - s) * 1000)
        if not result["match"]:
            raise SystemExit(f"the reference no longer matches: {result}")
        s = time.perf_counter()
        device.get_frame(region=REGION, fmt="jpg")
        frame_ms.append((time.perf_counter() - s) * 1000)
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(lab.process.pid) - cpu0
    health1 = device.client.health()["devices"]
    per_viewer = [(w.bytes - b) / elapsed for w, b in zip(watchers, bytes0, strict=True)]
    time.sleep(0.5)
    for w in watchers:
        w.stop.set()
    for w in watchers:
        w.join(timeout=25)
    dropped = sum(health1[d]["frames_dropped"] - health0[d]["frames_dropped"] for d in health1)
    captured = sum(health1[d]["frames_captured"] - health0[d]["frames_captured"] for d in health1)
    return {
        "dropped": dropped,
        "captured": captured,
        "match": match_ms,
        "frame": frame_ms,
        "cpu": cpu,
        "secs": elapsed,
        "bytes": per_viewer,
    }


def merge(total: dict | None, r: dict) -> dict:
    if total is None:
        return dict(r, bytes=[r["bytes"]])
    for key in ("dropped", "captured", "match", "frame", "cpu", "secs"):
        total[key] += r[key]
    total["bytes"].append(r["bytes"])
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secs", type=float, default=10.0, help="length of each phase")
    ap.add_argument("--rounds", type=int, default=3, help="times each phase is taken")
    ap.add_argument("--devices", type=int, default=2)
    args = ap.parse_args()
    lab = start_sim_lab(args.devices, fps=60, boot_secs=0.5)
    try:
        device = lease_device(lab)
        live_port = device.client.hello()["live"]["port"]
        wait_for_screen(device, "home")
        _, ref = device.get_frame(region=REFERENCE)
        print(
            f"live view benchmark: {args.devices} simulated 720p60 box(es), "
            f"{args.rounds} x {args.secs:.0f} s a phase, [lab.live] defaults (5 fps, 480 px tiles, "
            "4000 kbit/s = 500 kB/s a viewer)\n"
        )
        head = (
            f"{'phase':<30} {'dropped/captured':>17} {'match p50/p95':>14} "
            f"{'get_frame p50/p95':>18} {'daemon CPU':>10}  bytes/s per viewer"
        )
        print(head)
        print("-" * len(head))
        phases = [("nobody watching", 0, False), ("4 viewers, every tile", 4, False)]
        phases.append(("4 viewers, full-size stream", 4, True))
        totals: dict[str, dict] = {}
        for _ in range(args.rounds):
            for label, viewers, full in phases:
                r = measure(lab, device, ref, live_port, viewers, full, args.secs)
                totals[label] = merge(totals.get(label), r)
        for label, _, _ in phases:
            r = totals[label]
            per_viewer = [sum(col) / len(col) for col in zip(*r["bytes"], strict=True)]
            per = ", ".join(f"{b / 1000:.0f} kB/s" for b in per_viewer) or "-"
            m, f = r["match"], r["frame"]
            print(
                f"{label:<30} {r['dropped']:>7} / {r['captured']:<7}  "
                f"{percentile(m, 50):>5.1f} / {percentile(m, 95):<5.1f}  "
                f"{percentile(f, 50):>7.1f} / {percentile(f, 95):<7.1f}  "
                f"{r['cpu'] / r['secs'] * 100:>8.0f} %  {per}",
                flush=True,
            )
    finally:
        lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

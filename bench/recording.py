"""Benchmark: the rolling recording's cost (prints figures against goals; not a test).

    .venv/bin/python bench/recording.py [--minutes 10] [--storage memory|disk]

Two real daemons (``python -m lab_daemon serve``) run side by side for the same minutes,
each with one simulated 720p60 box on the live TV screen (moving video): one with
``[lab.recording]`` on (the defaults), one with it off (both without the live page and
the monitor, which would be the same in both). Both are sampled every few
seconds, so load from anything else on the machine hits both alike.

Prints: the CPU the recording adds, as % of one core (on minus off; goal <= 25%); the
recording daemon's RSS at minute 2 and at the end, and the growth (goal <= 300 MB, growth
< 5%); JPEG bytes per recorded frame; the time to fetch and encode a 10 s clip on this
(client) side. It checks the recording really recorded (frames stored against the time
run) and exits non-zero if not.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_seconds

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient

LAB_TOML = """
[lab]
name = "{name}"
bind = "127.0.0.1"

[lab.recording]
enabled = {enabled}
storage = "{storage}"

[lab.live]
enabled = false     # its own port would clash with other daemons; not what is measured

[lab.monitor]
enabled = false     # the same in both daemons; off, for less noise

[[devices]]
name = "{name}-tv"
kind = "sim"
fps = 60
resolution = "720p"
boot_secs = 0.5
"""


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_daemon(workdir: Path, name: str, enabled: bool, storage: str, token: str):
    config = workdir / f"{name}.toml"
    config.write_text(LAB_TOML.format(name=name, enabled=str(enabled).lower(), storage=storage))
    ready = workdir / f"{name}.ready"
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - the child owns it
    cmd = [sys.executable, "-m", "lab_daemon", "serve", "--config", str(config)]
    cmd += ["--port", "0", "--ready-file", str(ready)]
    proc = subprocess.Popen(
        cmd, env=dict(os.environ, VIRTUALPY_LAB_TOKEN=token), stdout=log, stderr=log
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"daemon {name} did not start: {(workdir / f'{name}.log').read_text()}")
        time.sleep(0.1)
    address = json.loads(ready.read_text())["address"]
    client = LabClient.connect(address, token, client_name="bench-recording")
    device = DeviceClient(client, client.lease(None, "bench", 3600))
    device.wait_for_sim_screen("home", 30)
    device.press("KEY_OK")  # the first home tile: live TV, moving video, the costliest
    device.wait_for_sim_screen("live_tv", 10)
    return proc, device


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--storage", choices=("memory", "disk"), default="memory")
    p.add_argument("--sample-secs", type=float, default=5.0)
    args = p.parse_args()
    token = secrets.token_urlsafe(24)
    work = Path(tempfile.mkdtemp(prefix="bench-recording-"))
    on_proc, on_dev = start_daemon(work, "rec-on", True, args.storage, token)
    off_proc, _off_dev = start_daemon(work, "rec-off", False, args.storage, token)
    try:
        time.sleep(3)  # both settled on live TV
        t0 = time.monotonic()
        cpu0 = {"on": cpu_seconds(on_proc.pid), "off": cpu_seconds(off_proc.pid)}
        rss_at_2 = None
        end = t0 + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(args.sample_secs, max(0.0, end - time.monotonic())))
            minute = (time.monotonic() - t0) / 60
            if rss_at_2 is None and minute >= min(2.0, args.minutes / 5):
                rss_at_2 = rss_mb(on_proc.pid), minute
        elapsed = time.monotonic() - t0
        cpu = {
            "on": (cpu_seconds(on_proc.pid) - cpu0["on"]) / elapsed * 100,
            "off": (cpu_seconds(off_proc.pid) - cpu0["off"]) / elapsed * 100,
        }
        rss_end = rss_mb(on_proc.pid)
        rss_off = rss_mb(off_proc.pid)
        info = on_dev.recording_info()
        print(f"virtualpy bench/recording.py: {args.minutes:g} min, storage={args.storage}")
        print(f"  daemon CPU: recording on {cpu['on']:.1f}%, off {cpu['off']:.1f}% of one core")
        added = cpu["on"] - cpu["off"]
        print(f"  added CPU for recording: {added:.1f}% of one core (goal <= 25%)")
        growth = (rss_end - rss_at_2[0]) / rss_at_2[0] * 100
        print(
            f"  RSS (recording on): {rss_at_2[0]:.0f} MB at minute {rss_at_2[1]:.1f}, "
            f"{rss_end:.0f} MB at minute {elapsed / 60:.1f}: growth {growth:+.1f}% "
            f"(goal <= 300 MB, < 5%); recording off: {rss_off:.0f} MB"
        )
        span = info["newest"] - info["oldest"]
        print(
            f"  stored: {info['frames']} frames over {span:.1f} s ({info['fps']:g} fps), "
            f"{info['bytes'] / 2**20:.1f} MB, {info['bytes'] / max(1, info['frames']) / 1024:.1f}"
            f" KiB per JPEG frame; {info['frames_recorded']} recorded in all"
        )
        expected = min(elapsed, info["seconds"]) * info["fps"]
        if info["frames"] < 0.8 * expected:
            print(f"FAIL: only {info['frames']} frames stored, expected ~{expected:.0f}")
            return 1
        from pytest_virtualpy.clips import make_clip

        clip_end = info["newest"]
        t = time.perf_counter()
        clip = make_clip(on_dev, clip_end - 10, clip_end)
        took = time.perf_counter() - t
        print(
            f"  10 s clip: fetched {clip.frames} frames and encoded {len(clip.mp4) / 1024:.0f} KiB"
            f" MP4 ({clip.width}x{clip.height}) in {took:.2f} s "
            f"(fetch {clip.fetch_secs:.2f} s, encode {clip.encode_secs:.2f} s) on this side"
        )
        return 0
    finally:
        for proc in (on_proc, off_proc):
            proc.terminate()
        for proc in (on_proc, off_proc):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())

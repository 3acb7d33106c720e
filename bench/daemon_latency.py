"""Benchmark: the daemon's latencies and costs (prints figures; not a test).

    .venv/bin/python bench/daemon_latency.py [--presses 500] [--detections 100]

1. remote.press round trip over RPyC on loopback (goal: p50 <= 2 ms);
2. detection latency: from the simulator's ground-truth timestamp of the first
   frame showing the new screen to the moment wait_for_match returns in this
   process, in frames at 60 fps (goal: p95 <= 1 frame);
3. the simulator's render cost per frame at 720p and 1080p;
4. the daemon's CPU use with one idle 720p60 device.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_seconds, lease_device, percentile, summary, wait_for_screen

from lab_daemon.sim import SimulatedBox
from pytest_virtualpy.lab.local import start_sim_lab

CONTENT = (100, 100, 1080, 520)  # below the title bar, at 720p


def press_round_trip(device, n: int) -> list[float]:
    for _ in range(20):  # warm up the connection
        device.press("KEY_RED")
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        device.press("KEY_RED")
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def detection_latency(device, n: int, fps: float) -> list[float]:
    """Alternate between Settings and its About page (instant screen switches).

    Ground truth is the simulator's timestamp of the first frame showing the
    new screen; the figure is how many frame periods later wait_for_match
    returned here, in the test process.
    """
    device.press("KEY_HOME")
    wait_for_screen(device, "home")
    for key in ["KEY_LEFT"] * 6 + ["KEY_RIGHT"] * 4 + ["KEY_OK"]:
        device.press(key)
        time.sleep(0.3)
    wait_for_screen(device, "settings")
    for _ in range(4):
        device.press("KEY_DOWN")
        time.sleep(0.3)
    _, settings_ref = device.get_frame(region=CONTENT)
    device.press("KEY_OK")
    wait_for_screen(device, "about")
    time.sleep(0.3)
    _, about_ref = device.get_frame(region=CONTENT)
    frames_late = []
    for i in range(n):
        key, ref, screen = (
            ("KEY_BACK", settings_ref, "settings") if i % 2 == 0 else ("KEY_OK", about_ref, "about")
        )
        device.press(key)
        result = device.wait_for_match(ref, CONTENT, None, 5.0, 1)
        returned = time.time()
        if result["timed_out"]:
            raise SystemExit(f"detection {i} timed out: {result}")
        truth = device.sim_events()[-1]
        if truth["key"] != key or truth["screen_after"] != screen or not truth["first_change"]:
            raise SystemExit(f"unexpected ground truth for detection {i}: {truth}")
        frames_late.append((returned - truth["first_change"]) * fps)
        time.sleep(0.1)
    return frames_late


def render_cost(width: int, height: int, screen_keys: list[str], n: int = 300) -> list[float]:
    box = SimulatedBox(width=width, height=height, boot_secs=0, clock=lambda: 0.0)
    box.start()
    try:
        t = 0.0
        for key in screen_keys:
            box.press_key(key, t)
            t += 2.0
            box.render(t)
        for _ in range(30):  # let channel pictures and caches warm up
            t += 1 / 60
            box.render(t)
        samples = []
        for _ in range(n):
            t += 1 / 60
            t0 = time.perf_counter()
            box.render(t)
            samples.append((time.perf_counter() - t0) * 1000)
        return samples
    finally:
        box.stop()


def idle_cpu(seconds: float) -> tuple[float, float]:
    lab = start_sim_lab(1, boot_secs=0.5)
    try:
        device = lease_device(lab)
        wait_for_screen(device, "home")
        device.client.release(device.lease_id)
        device.client.close()
        time.sleep(1.0)
        results = []
        for _ in ("home",):
            c0, w0 = cpu_seconds(lab.process.pid), time.monotonic()
            time.sleep(seconds)
            results.append((cpu_seconds(lab.process.pid) - c0) / (time.monotonic() - w0) * 100)
        device = lease_device(lab)
        device.press("KEY_OK")
        wait_for_screen(device, "live_tv")
        c0, w0 = cpu_seconds(lab.process.pid), time.monotonic()
        time.sleep(seconds)
        results.append((cpu_seconds(lab.process.pid) - c0) / (time.monotonic() - w0) * 100)
        return results[0], results[1]
    finally:
        lab.stop()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--presses", type=int, default=500)
    ap.add_argument("--detections", type=int, default=100)
    ap.add_argument("--cpu-secs", type=float, default=10.0)
    args = ap.parse_args()

    lab = start_sim_lab(1, boot_secs=0.5)
    try:
        device = lease_device(lab)
        wait_for_screen(device, "home")
        press = press_round_trip(device, args.presses)
        print(f"press round trip (ms):        {summary(press)}")
        print(f"  goal p50 <= 2 ms: {'met' if percentile(press, 50) <= 2 else 'NOT met'}")
        late = detection_latency(device, args.detections, 60.0)
        print(
            "detection latency (frames @60fps, first frame of the new screen -> "
            f"wait_for_match returned): {summary(late)}"
        )
        print(f"  goal p95 <= 1 frame: {'met' if percentile(late, 95) <= 1 else 'NOT met'}")
    finally:
        lab.stop()

    for name, (w, h) in (("720p", (1280, 720)), ("1080p", (1920, 1080))):
        live = render_cost(w, h, ["KEY_OK"])
        home = render_cost(w, h, [])
        print(f"render cost {name} live TV (ms/frame): {summary(live)}")
        print(f"render cost {name} home    (ms/frame): {summary(home)}")

    home_cpu, live_cpu = idle_cpu(args.cpu_secs)
    print(
        f"daemon CPU, one idle 720p60 device: {home_cpu:.1f}% of one core on home, "
        f"{live_cpu:.1f}% on live TV"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

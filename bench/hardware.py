"""Benchmark: the daemon with real parts (prints figures against goals; not a test).

    .venv/bin/python bench/hardware.py [--only capture,ir,adb,rss] [--capture-secs 10]

1. capture, per source kind (an MP4 file with loop, MJPEG over HTTP, MPEG-TS over UDP),
   each 1280x720 at 60 fps, whose frames show their number as a row of blocks, read
   through the real AvVideo driver and the daemon's CaptureThread/FrameRing (a LabHost in
   a process of its own): frames read against frames sent (goal: none dropped from a file
   or MJPEG over HTTP); capture-to-available latency (goal: p95 within one frame period);
   the timestamp's step between neighbouring frames against the media's frame period
   (how evenly frames are stamped: a burst stamped on arrival is uneven); CPU per stream
   against an idle process (goal: <= 25% of one core);
2. IR: ``remote.press`` round trip from this process through ``python -m lab_daemon
   serve`` to Debian's lircd (file driver), checked against the frames lircd wrote
   (goal: p50 <= 5 ms, p99 <= 20 ms);
3. ADB screencap fps at 1080p through the real adb server (when the driver exists);
4. the daemon's memory with four devices built from real parts (MP4 video, command
   power, lirc remote on one shared lircd, a pty serial console) while a client leases
   each and grabs frames (goal: <= 300 MB).

Each figure is checked to come from work that really happened (frame numbers decoded,
IR frames counted in lircd's output); if not, the script exits non-zero saying why.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _hw
from _common import cpu_seconds, percentile

logging.getLogger("lab_daemon").setLevel(logging.ERROR)  # drivers in this process: quiet

FPS = 60
SIZE = (1280, 720)
SECTIONS = ("capture", "ir", "adb", "rss")
FFMPEG = shutil.which("ffmpeg")


def fail(message: str) -> None:
    raise SystemExit(f"\nFAILED: {message}")


def table(title: str, rows: list[tuple[str, str, str]]) -> None:
    """Rows of (figure, value, goal); a goal of "" is a plain figure."""
    print(f"\n{title}")
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    for name, value, goal in rows:
        print(f"  {name:<{width}}  {value:<{vwidth}}  {goal}".rstrip())


def verdict(ok: bool, goal: str) -> str:
    return f"goal {goal}: {'met' if ok else 'NOT met'}"


def dist(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"p50 {percentile(values, 50):.1f}  p95 {percentile(values, 95):.1f}  "
        f"p99 {percentile(values, 99):.1f}  max {max(values):.1f}  (n={len(values)})"
    )


# --- 1. capture ----------------------------------------------------------------------------


def count_frames(numbers: list[int], modulo: int | None) -> dict:
    """Distinct frames seen against the span they cover (``modulo``: a looping file)."""
    seen, repeats, backwards, span = 1, 0, 0, 0
    for a, b in itertools.pairwise(numbers):
        step = (b - a) % modulo if modulo else b - a
        if modulo and step > modulo // 2:
            step -= modulo
        if step > 0:
            seen, span = seen + 1, span + step
        elif step == 0:
            repeats += 1
        else:
            backwards += 1
    return {"seen": seen, "sent": span + 1, "repeats": repeats, "backwards": backwards}


def capture_source(kind: str, url: str, loop: bool, args, folder: Path, modulo: int | None):
    """Run the capture worker on ``url`` while the source (if any) is sending."""
    server = proc = None
    if kind == "mjpeg":
        server = _hw.MjpegServer(FPS, SIZE)
        url = server.url
    elif kind == "udp":
        port = _hw.free_udp_port()
        proc = subprocess.Popen(
            [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-i", url, "-c", "copy", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"udp://127.0.0.1:{port}"
    try:
        r = _hw.run_worker(
            "capture", url, "loop" if loop else "once", str(args.warmup), str(args.capture_secs)
        )
    finally:
        if server is not None:
            server.stop()
        _hw.stop(proc)
    frames = r["frames"]
    numbers = [n for n, _, _ in frames if n is not None]
    expected = args.capture_secs * FPS
    if len(numbers) < expected / 2 or r["shape"][:2] != [SIZE[1], SIZE[0]]:
        fail(
            f"capture from {kind}: only {len(numbers)} numbered frames of shape {r['shape']} "
            f"in {args.capture_secs:g} s (expected about {expected:.0f} at 720p); "
            f"driver status {r['video']}"
        )
    counts = count_frames(numbers, modulo)
    counts["unnumbered"] = len(frames) - len(numbers)
    if kind == "mjpeg":  # the server's own count: every number it wrote in the span
        first, last = numbers[0], max(numbers)
        counts["sent"] = sum(1 for n in server.sent if first <= n <= last)
        counts["server_late"] = server.late
    in_daemon, from_send, previous = [], [], None
    steps = []  # |timestamp step - the media's frame period|, ms, between neighbouring frames
    for n, t_frame, t_avail in frames:
        if n is None or (previous is not None and n == previous[0]):
            continue
        if previous is not None and n == previous[0] + 1:
            steps.append(abs(t_frame - previous[1] - 1 / FPS) * 1000)
        previous = (n, t_frame)
        in_daemon.append((t_avail - t_frame) * 1000)
        if kind == "mjpeg" and n in server.sent:
            sent = server.sent[n]
            from_send.append(((t_frame - sent) * 1000, (t_avail - sent) * 1000))
    return r, counts, in_daemon, from_send, steps


def section_capture(args, folder: Path, mp4: Path, mp4_frames: int) -> None:
    idle = _hw.run_worker("idle", str(args.idle_secs))
    idle_pct = idle["cpu_secs"] / idle["wall_secs"] * 100
    period = 1000 / FPS
    kinds = [("mp4", "an MP4 file (H.264, loop)"), ("mjpeg", "MJPEG over HTTP (stdlib server)")]
    if FFMPEG and not args.no_udp:
        kinds.append(("udp", "MPEG-TS over UDP (ffmpeg -re -c copy)"))
    for kind, title in kinds:
        modulo = None if kind == "mjpeg" else mp4_frames
        r, c, in_daemon, from_send, steps = capture_source(
            kind, str(mp4), kind == "mp4", args, folder, modulo
        )
        dropped = c["sent"] - c["seen"]
        cpu = r["cpu_secs"] / r["wall_secs"] * 100
        goal_drops = "0 dropped" if kind != "udp" else "(no goal for UDP)"
        rows = [
            ("frames read / sent", f"{c['seen']} / {c['sent']}  ({dropped} dropped)",
             verdict(dropped == 0, goal_drops) if kind != "udp" else goal_drops),
            ("  repeated, out of order", f"{c['repeats']}, {c['backwards']}", ""),
            ("  unnumbered (black) frames", str(c["unnumbered"]), ""),
            ("  capture: frames, timing gaps", f"{r['captured']}, {r['capture_dropped']}", ""),
            ("  ring reader skipped", str(r["ring_skipped"]), ""),
        ]  # fmt: skip
        if kind == "mjpeg":
            rows.append(("  server sent late (its own lag)", str(c["server_late"]), ""))
            send_to_ts = [a for a, _ in from_send]
            send_to_ring = [b for _, b in from_send]
            rows += [
                ("send -> frame timestamp (ms)", dist(send_to_ts), ""),
                ("send -> available in ring (ms)", dist(send_to_ring),
                 verdict(percentile(send_to_ring, 95) <= period, f"p95 <= {period:.1f} ms")),
            ]  # fmt: skip
        what = {"mp4": "paced time", "mjpeg": "packet arrival"}.get(kind, "pts on the lab clock")
        rows += [
            (f"timestamp ({what}) -> in ring (ms)", dist(in_daemon),
             verdict(percentile(in_daemon, 95) <= period, f"p95 <= {period:.1f} ms")
             if kind != "mjpeg" else ""),
            (f"timestamp step vs the {period:.1f} ms period (ms)", dist(steps), ""),
            ("CPU of the capture process", f"{cpu:.1f}% of one core ({cpu - idle_pct:.1f}% "
             f"over idle)", verdict(cpu - idle_pct <= 25, "<= 25%")),
        ]  # fmt: skip
        table(f"Capture: {title}, 1280x720 @ {FPS} fps, {args.capture_secs:g} s", rows)
    print(f"  (idle baseline process: {idle_pct:.1f}% of one core)")


# --- 2. IR ---------------------------------------------------------------------------------


def section_ir(args, folder: Path, mp4: Path) -> None:
    from lab_daemon.devices.lirc_remote import LircRemote

    lircd = _hw.Lircd(folder)
    daemon = None
    try:
        daemon = _hw.Daemon(_hw.lab_toml(folder, mp4, lircd, 1, []), folder)
        device = daemon.lease()
        keys = device.keys()
        if "KEY_OK" not in keys:
            fail(f"the daemon's lirc remote has no KEY_OK: {keys}")
        warm, burst = 20, 30
        for _ in range(warm):
            device.press("KEY_OK")
        rpc, direct, back_to_back = [], [], []
        for samples, n, gap in ((back_to_back, burst, 0.0), (rpc, args.presses, args.press_gap)):
            for _ in range(n):
                time.sleep(gap)
                t0 = time.perf_counter()
                device.press("KEY_OK")
                samples.append((time.perf_counter() - t0) * 1000)
        device.client.close()
        direct_remote = LircRemote("bench", "acme", socket_path=lircd.socket)
        for _ in range(args.presses // 6):
            time.sleep(args.press_gap)
            t0 = time.perf_counter()
            direct_remote.press("KEY_OK")
            direct.append((time.perf_counter() - t0) * 1000)
        direct_remote.close()
        expect = warm + burst + len(rpc) + len(direct)
        wrote = lircd.codes(_hw.CODES["KEY_OK"], expect)
        if wrote != expect:
            fail(f"lircd wrote {wrote} KEY_OK frames for {expect} presses ({lircd.out})")
    finally:
        if daemon is not None:
            daemon.stop()
        lircd.stop()
    gap = f"{args.press_gap * 1000:.0f} ms apart"
    table(
        "IR: remote.press('KEY_OK') round trip, test process -> daemon (RPyC) -> lircd (file)",
        [
            (f"DeviceClient.press, {gap} (ms)", dist(rpc),
             verdict(percentile(rpc, 50) <= 5 and percentile(rpc, 99) <= 20,
                     "p50 <= 5 ms, p99 <= 20 ms")),
            (f"  LircRemote.press in-process, {gap}", dist(direct), "(lircd alone)"),
            ("  DeviceClient.press back to back", dist(back_to_back),
             "(lircd waits for the previous IR frame)"),
            ("frames lircd wrote / presses", f"{wrote} / {expect}", "(checked: all sent)"),
        ],
    )  # fmt: skip


# --- 3. ADB --------------------------------------------------------------------------------


def section_adb(args, folder: Path) -> None:
    root = _hw.ROOT
    parts = root / "lab_daemon/devices/adb_parts.py", root / "tests/hardware/adbd_fake.py"
    missing = [str(p.relative_to(root)) for p in parts if not p.exists()]
    if missing:
        print(f"\nADB: not measured (driver not available yet: no {', '.join(missing)})")
        return
    import numpy as np

    from lab_daemon.devices.adb_link import AdbLink
    from lab_daemon.devices.adb_parts import AdbScreencap
    from lab_daemon.devices.base import Device
    from lab_daemon.host import LabHost

    shown = 4321
    rows = []
    for fmt in ("raw", "png"):
        peer = _hw.AdbPeer(folder, shown)
        try:
            link = AdbLink("android", peer.serial, peer.server)
            video = AdbScreencap(link, fps=60.0, fmt=fmt)
            host = LabHost("bench", [Device("android", "bench", "hardware", video, adb=link)])
            host.start()
            try:
                rt = host.runtime("android")
                deadline = time.monotonic() + 30  # the first grab connects
                for first in rt.ring.frames():  # black frames until then
                    if _hw.number(np.asarray(first)) == shown or time.monotonic() > deadline:
                        break
                if not video.signal:
                    fail(f"ADB screencap gave no picture: {video.status()}")
                c0, wall0 = rt.capture.frames_captured, time.monotonic()
                cpu0 = time.process_time()
                good, latencies = 0, []
                for frame in rt.ring.frames():
                    good += _hw.number(np.asarray(frame)) == shown
                    latencies.append(video.latency * 1000)
                    if time.monotonic() - wall0 >= args.adb_secs:
                        break
                wall = time.monotonic() - wall0
                frames = rt.capture.frames_captured - c0
                cpu = (time.process_time() - cpu0) / wall * 100
            finally:
                host.stop()
            served = peer.screencaps()
        finally:
            peer.stop()
        if first.shape[:2] != (1080, 1920) or good < frames * 0.9 or served < frames:
            fail(
                f"ADB {fmt}: {good} of {frames} frames showed the device's screen "
                f"(shape {first.shape}); the device served {served} screencaps"
            )
        rows += [
            (f"screencap ({fmt}) fps", f"{frames / wall:.1f}  ({frames} frames in {wall:.1f} s)",
             "(fps = 60 asked: as fast as it goes)"),
            (f"  grab latency ({fmt}, ms)", dist(latencies), ""),
            (f"  CPU of this process ({fmt})", f"{cpu:.0f}% of one core", ""),
            (f"  screencaps the device served ({fmt})", str(served), "(checked)"),
        ]  # fmt: skip
    table("ADB screencap, 1920x1080, real adb server -> fake adbd (TCP, another process)", rows)


# --- 4. daemon memory ----------------------------------------------------------------------


def section_rss(args, folder: Path, mp4: Path) -> None:
    import cv2
    import numpy as np

    from lab_daemon.host import ring_frames

    lircd = _hw.Lircd(folder)
    daemon, socats, fds = None, [], []
    try:
        links, socats, fds = _hw.ptys(folder, args.devices)
        daemon = _hw.Daemon(_hw.lab_toml(folder, mp4, lircd, args.devices, links), folder)
        rss_start = daemon.status()["VmRSS"]
        devices = [daemon.lease(f"bench-{i}") for i in range(args.devices)]
        grabbed = dict.fromkeys((d.name for d in devices), 0)
        presses, rounds, rss_max, last_times = 0, 0, rss_start, {}
        cpu0, wall0 = cpu_seconds(daemon.proc.pid), time.monotonic()
        end, next_sample = wall0 + args.rss_secs, 0.0
        while time.monotonic() < end:
            rounds += 1
            for d in devices:
                meta, jpg = d.get_frame(fmt="jpg")
                image = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
                if _hw.number(image) is not None and meta["time"] != last_times.get(d.name):
                    grabbed[d.name] += 1
                last_times[d.name] = meta["time"]
                if rounds % 20 == 1:
                    d.press("KEY_OK")
                    presses += 1
            if time.monotonic() >= next_sample:
                rss_max = max(rss_max, daemon.status()["VmRSS"])
                next_sample = time.monotonic() + 0.5
        wall = time.monotonic() - wall0
        cpu = (cpu_seconds(daemon.proc.pid) - cpu0) / wall * 100
        health = devices[0].client.health()["devices"]
        status = daemon.status()
        for d in devices:
            d.client.close()
        wrote = lircd.codes(_hw.CODES["KEY_OK"], presses)
    finally:
        if daemon is not None:
            daemon.stop()
        lircd.stop()
        for fd in fds:
            os.close(fd)
        for p in socats:
            _hw.stop(p)
    too_few = {n: g for n, g in grabbed.items() if g < args.rss_secs}
    if too_few:
        fail(f"devices returned too few new numbered frames in {args.rss_secs:g} s: {too_few}")
    if wrote != presses:
        fail(f"lircd wrote {wrote} KEY_OK frames for {presses} presses")
    captured = ", ".join(
        f"{n}: {h['frames_captured']} ({h['frames_dropped']} gaps)" for n, h in health.items()
    )
    mb = 1024
    ring = ring_frames(*SIZE)
    rings = args.devices * ring * SIZE[0] * SIZE[1] * 3 / mb / mb
    table(
        f"Daemon memory: {args.devices} devices (720p60 MP4 video, command power, lirc remote "
        f"on one lircd{', pty serial' if links else ''}), {wall:.0f} s of leases + get_frame",
        [
            ("VmRSS after start", f"{rss_start / mb:.0f} MB", ""),
            ("VmRSS max while serving", f"{rss_max / mb:.0f} MB", ""),
            ("VmRSS at the end", f"{status['VmRSS'] / mb:.0f} MB",
             verdict(status["VmRSS"] / mb <= 300, "<= 300 MB")),
            ("VmHWM (peak)", f"{status['VmHWM'] / mb:.0f} MB",
             verdict(status["VmHWM"] / mb <= 300, "<= 300 MB")),
            ("  of which frame rings, when full", f"{rings:.0f} MB",
             f"({args.devices} x {ring} frames x 1280x720 BGR)"),
            ("daemon CPU", f"{cpu:.0f}% of one core", ""),
            ("new numbered frames grabbed", ", ".join(f"{n}: {g}" for n, g in grabbed.items()),
             ""),
            ("frames captured by the daemon", captured, ""),
            ("IR frames lircd wrote / presses", f"{wrote} / {presses}", "(checked)"),
        ],
    )  # fmt: skip


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", default=",".join(SECTIONS), help="sections: capture,ir,adb,rss")
    ap.add_argument("--capture-secs", type=float, default=10.0, help="window per source")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds read before a window")
    ap.add_argument("--idle-secs", type=float, default=5.0, help="the idle CPU baseline")
    ap.add_argument("--mp4-secs", type=float, default=4.0, help="length of the looping file")
    ap.add_argument("--no-udp", action="store_true", help="skip MPEG-TS over UDP")
    ap.add_argument("--presses", type=int, default=300)
    ap.add_argument(
        "--press-gap", type=float, default=0.1, help="pause between presses (one NEC frame)"
    )
    ap.add_argument("--adb-secs", type=float, default=5.0, help="window per screencap format")
    ap.add_argument("--rss-secs", type=float, default=15.0)
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, media)")
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")

    print("$ " + " ".join([Path(sys.executable).name, *sys.argv]))
    start = time.monotonic()
    load0 = os.getloadavg()
    busy0 = _hw.machine_busy()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {os.cpu_count()} cores  load average at start "
        f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; the machine used {busy0:.0f}% of a "
        "core in the second before we started"
    )
    folder = Path(tempfile.mkdtemp(prefix="vp-bench-hw-"))
    try:
        mp4_frames = int(args.mp4_secs * FPS)
        mp4 = folder / "numbers-720p60.mp4"
        if {"capture", "ir", "rss"} & set(only):
            _hw.make_mp4(mp4, mp4_frames, FPS, SIZE)
        if "capture" in only:
            section_capture(args, folder, mp4, mp4_frames)
        if "ir" in only:
            section_ir(args, folder, mp4)
        if "adb" in only:
            section_adb(args, folder)
        if "rss" in only:
            section_rss(args, folder, mp4)
    finally:
        if args.keep:
            print(f"\n(work folder kept: {folder})")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    load1 = os.getloadavg()
    busy1 = _hw.machine_busy()
    print(
        f"\nload average at end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} (our own load "
        f"included); the machine used {busy1:.0f}% of a core in the second after we stopped; "
        f"total {time.monotonic() - start:.0f} s"
    )
    if max(busy0, busy1) > 30:
        print(
            "NOTE: the machine was NOISY (other processes were using CPU): "
            "latencies and CPU shares may be inflated"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: what device sound costs (prints figures; not a test).

    .venv/bin/python bench/audio.py [--secs 20] [--calls 300]

1. CPU of one simulated device's audio thread (the sim rendering its sound in 20 ms
   chunks + the thread filling the ring), in % of one core, measured from the thread's
   own CPU clock (/proc/self/task/TID/stat) over ``--secs``: on live TV (a tone to
   render) and on the home screen (silence);
2. the latency of ``audio_level`` (RMS over 1 s = 16000 samples) over real RPyC on
   loopback, and of ``audio_samples`` for 10 s of sound, against ``virtualpy-lab sim``;
3. what a stream's sound adds to reading it (``audio = { kind = "stream" }``): this
   process's CPU reading an ffmpeg-made 640x360 H.264 + AAC (48 kHz stereo) file for
   ``--secs``, with its sound demuxed, decoded, resampled to 48 kHz mono and put in a
   ring, minus the same without (needs the ffmpeg binary).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import lease_device, summary, wait_for_screen

from lab_daemon.audio import AudioRing, AudioThread
from lab_daemon.devices.av_video import AvVideo
from lab_daemon.devices.sim import SimDevice
from lab_daemon.devices.stream_audio import StreamAudio
from lab_daemon.host import LabHost
from lab_daemon.sim import SimulatedBox
from pytest_virtualpy.lab.local import start_sim_lab


def thread_cpu_seconds(thread: threading.Thread) -> float:
    """User+system CPU time of one thread of this process (Linux /proc)."""
    with open(f"/proc/self/task/{thread.native_id}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def audio_thread_cpu(secs: float, live: bool) -> tuple[float, int]:
    """% of one core the audio thread used over ``secs``, and the chunks it read."""
    box = SimulatedBox("bench-audio", boot_secs=0, width=320, height=180, fps=10)
    host = LabHost("bench", [SimDevice(box)])
    rt = host.runtimes[0]
    thread = next(w for w in rt.workers if isinstance(w, AudioThread))
    host.start()
    try:
        if live:
            box.press_key("KEY_OK")  # home's first tile: Live TV
            time.sleep(1.0)
            assert box.screen == "live_tv" and rt.audio.level_db(0.5) > -30
        c0, w0, n0 = thread_cpu_seconds(thread), time.monotonic(), thread.chunks
        time.sleep(secs)
        used = thread_cpu_seconds(thread) - c0
        return 100 * used / (time.monotonic() - w0), thread.chunks - n0
    finally:
        host.stop()


def call_latency(calls: int) -> tuple[list[float], list[float]]:
    lab = start_sim_lab(1, boot_secs=0.5)
    started = time.time()
    try:
        device = lease_device(lab)
        wait_for_screen(device, "home")
        device.press("KEY_OK")
        wait_for_screen(device, "live_tv")
        time.sleep(1.5)
        level = []
        for _ in range(calls):
            t0 = time.perf_counter()
            assert device.audio_level(1.0)["level_db"] > -30
            level.append((time.perf_counter() - t0) * 1000)
        while time.time() - started < 11.0:  # until the ring holds 10 s of sound
            time.sleep(0.2)
        samples = []
        for _ in range(max(5, calls // 30)):
            end = time.time()
            t0 = time.perf_counter()
            meta, data = device.audio_samples(end - 10, end)
            samples.append((time.perf_counter() - t0) * 1000)
            assert meta["samples"] > 9.5 * meta["rate"] and len(data) == 2 * meta["samples"]
        return level, samples
    finally:
        lab.stop()


def stream_cpu(media: str, secs: float, with_audio: bool) -> float:
    """% of one core this process used reading ``media`` for ``secs`` (paced, looping)."""
    audio = StreamAudio(48000, name="bench") if with_audio else None
    video = AvVideo(media, name="bench", audio=audio, loop=True)
    thread = None
    if audio is not None:
        thread = AudioThread("bench", audio, AudioRing(48000, 130.0))
        thread.start()
    try:
        video.read()
        c0, w0 = time.process_time(), time.monotonic()
        while time.monotonic() - w0 < secs:
            video.read()
        return 100 * (time.process_time() - c0) / (time.monotonic() - w0)
    finally:
        if thread is not None:
            thread.stop()
        video.close()
        if audio is not None:
            audio.close()


def make_media(folder: str) -> str:
    path = os.path.join(folder, "av.mp4")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc=s=640x360:r=30:d=10", "-f", "lavfi", "-i",
         "sine=frequency=1000:sample_rate=48000:d=10", "-ac", "2", "-c:v", "libx264",
         "-preset", "ultrafast", "-c:a", "aac", path],
        check=True,
    )  # fmt: skip
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secs", type=float, default=20.0)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    print(f"audio thread of one simulated device (16 kHz, 20 ms chunks), {args.secs:g} s each:")
    for live in (True, False):
        cpu, chunks = audio_thread_cpu(args.secs, live)
        what = "live TV (tone)" if live else "home (silence)"
        print(f"  {what:15s} {cpu:5.2f} % of one core, {chunks / args.secs:.1f} chunks/s")
    level, samples = call_latency(args.calls)
    print(f"audio_level(1 s) over RPyC, ms:     {summary(level)}")
    print(f"audio_samples(10 s) over RPyC, ms:  {summary(samples)}")
    if shutil.which("ffmpeg") is None:
        print("stream audio: skipped (no ffmpeg binary)")
        return
    with tempfile.TemporaryDirectory() as folder:
        media = make_media(folder)
        without = stream_cpu(media, args.secs, with_audio=False)
        with_sound = stream_cpu(media, args.secs, with_audio=True)
    print(
        f"640x360 H.264 file read with PyAV: {without:.1f} % of one core; with its AAC "
        f"sound to the ring: {with_sound:.1f} % (+{with_sound - without:.1f})"
    )


if __name__ == "__main__":
    main()

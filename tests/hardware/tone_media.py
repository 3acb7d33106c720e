"""Media for the sound-and-picture tests, and how they measure lip sync through the daemon.

The media are made by ffmpeg: 1 s black and silent, 1.5 s white with a 1 kHz tone, 1 s
black and silent (H.264 + AAC in MP4). The picture turns white when the tone starts, so
the time the daemon finds the tone's onset and the time of the first white frame, both
on the lab host's clock, show whether sound and picture share one.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.imaging import decode_image

FFMPEG = shutil.which("ffmpeg")
#: ffmpeg's sine source: 1/8 of full scale
TONE_DB = 20 * np.log10(0.125 / np.sqrt(2))
#: the media's loop: the tone starts 1 s into each 3.5 s
LOOP_SECS = 3.5


def make_tone_mp4(path: Path) -> Path:
    lavfi = []
    for src in (
        "color=c=black:s=320x240:r=30:d=1",
        "color=c=white:s=320x240:r=30:d=1.5",
        "color=c=black:s=320x240:r=30:d=1",
        "anullsrc=r=48000:cl=mono:d=1",
        "sine=frequency=1000:sample_rate=48000:d=1.5",
        "anullsrc=r=48000:cl=mono:d=1",
    ):
        lavfi += ["-f", "lavfi", "-i", src]
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *lavfi, "-filter_complex",
         "[0:v][3:a][1:v][4:a][2:v][5:a]concat=n=3:v=1:a=1[v][a]", "-map", "[v]", "-map",
         "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def udp_stream(media: Path, port: int):
    """ffmpeg playing ``media`` in a loop, live, as MPEG-TS over UDP."""
    proc = subprocess.Popen(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i",
         str(media), "-c", "copy", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


def first_white_after(dev: DeviceClient, t: float) -> float:
    """The time of the first white frame captured after ``t`` (the ring still holds it)."""
    after = t
    for _ in range(120):
        meta, data = dev.get_frame(fmt="jpeg", after=after)
        if decode_image(data).mean() > 128:
            return meta["time"]
        after = meta["time"]
    pytest.fail("no white frame")


def onset_gap(dev: DeviceClient, timeout: float = 5.0) -> float:
    """Wait for the next tone: its onset minus the first white frame's time, in seconds."""
    heard = dev.wait_for_audio(-40.0, timeout)
    assert heard["ok"], heard
    return heard["time"] - first_white_after(dev, heard["time"] - 0.5)


def onsets(dev: DeviceClient, count: int) -> list[float]:
    """:func:`onset_gap` for ``count`` tone starts, each after a silence."""
    gaps = []
    for _ in range(count):
        assert dev.wait_for_silence(-60.0, 5.0)["ok"]
        gaps.append(onset_gap(dev))
    return gaps


def peak_hz(dev: DeviceClient, secs: float) -> tuple[float, float]:
    end = dev.audio_level(0.1)["time"]
    meta, data = dev.audio_samples(end - secs, end)
    x = np.frombuffer(data, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum)) * meta["rate"] / len(x), meta["rate"]

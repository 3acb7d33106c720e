"""Recorded frames (and sound) of a device between two lab-host times, over RPyC.

The daemon hands the recording out in chunks of at most 4 MB (see
``lab_daemon.recording.methods``); these helpers page through them.

>>> frames = fetch_frames(device, start, end)      # doctest: +SKIP
>>> frames[0].time, frames[0].width, len(frames[0].jpeg)
(1796166135.85, 1280, 15027)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pytest_virtualpy.errors import LabError
from pytest_virtualpy.lab.device import DeviceClient

CHUNK_BYTES = 4 << 20


@dataclass(frozen=True)
class RecordedFrame:
    """One recorded JPEG frame with its capture time (lab host clock) and size."""

    time: float
    width: int
    height: int
    jpeg: bytes


def fetch_frames(device: DeviceClient, start: float, end: float) -> list[RecordedFrame]:
    """Every recorded frame with ``start <= time <= end``, oldest first."""
    out: list[RecordedFrame] = []
    after = 0
    while True:
        meta, data = device.recording_frames(start, end, after, CHUNK_BYTES)
        offset = 0
        for f in meta["frames"]:
            size = int(f["size"])
            out.append(
                RecordedFrame(f["time"], f["width"], f["height"], data[offset : offset + size])
            )
            offset += size
        if not meta["more"] or meta["next"] <= after:
            return out
        after = meta["next"]


def wait_until_recorded(device: DeviceClient, until: float, max_wait: float = 2.0) -> dict:
    """Wait (at most ``max_wait`` s) until the newest recorded frame is past ``until``."""
    deadline = time.monotonic() + max_wait
    while True:
        info = device.recording_info()
        if (info.get("newest") or 0) >= until or time.monotonic() >= deadline:
            return info
        time.sleep(0.1)


def fetch_audio(device: DeviceClient, start: float, end: float) -> tuple[int, float, bytes] | None:
    """``(rate, start_time, int16 LE mono samples)`` of the device's sound, or None.

    None when the device has no audio or its daemon cannot serve it.
    """
    if "audio" not in device.info.get("capabilities", []):
        return None
    try:
        meta, data = device.audio_samples(start, end)
    except LabError:  # an older daemon, or no sound kept: a silent clip
        return None
    if not data:
        return None
    return int(meta["rate"]), float(meta["start"]), bytes(data)

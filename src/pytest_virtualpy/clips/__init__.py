"""Clips of a device's rolling recording: an MP4 with the test's steps as subtitles.

The lab host keeps JPEG frames (``[lab.recording]``); a clip is cut only when asked for,
and encoded here, in the test process, so a Raspberry Pi never runs a video encoder::

    from pytest_virtualpy.clips import make_clip
    clip = make_clip(device, start=t0 - 1, end=t1 + 1, steps=log.steps)
    Path("clip.mp4").write_bytes(clip.mp4)
    Path("clip.vtt").write_text(clip.vtt)

``start``/``end`` are lab-host times; step times are converted with ``offset``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from pytest_virtualpy.clips.clock import clock_offset
from pytest_virtualpy.clips.encode import clip_size, encode_mp4
from pytest_virtualpy.clips.fetch import RecordedFrame, fetch_audio, fetch_frames
from pytest_virtualpy.clips.fetch import wait_until_recorded as wait_until_recorded
from pytest_virtualpy.clips.subtitles import Cue, step_cues, to_webvtt
from pytest_virtualpy.errors import LabError
from pytest_virtualpy.lab.device import DeviceClient

__all__ = [
    "Clip",
    "ClipError",
    "Cue",
    "RecordedFrame",
    "clock_offset",
    "encode_mp4",
    "fetch_frames",
    "make_clip",
    "step_cues",
    "to_webvtt",
    "wait_until_recorded",
]


GAP_SECS = 1.0  # a clip starts at its first recorded frame when that comes this much later


class ClipError(LabError):
    """No clip could be made (no recording, or it does not cover the time asked for)."""


@dataclass(frozen=True)
class Clip:
    """An encoded clip: the MP4, its subtitles as WebVTT, and what went into it."""

    mp4: bytes
    vtt: str
    start: float  # lab-host time of the clip's first instant
    end: float
    frames: int
    width: int
    height: int
    sound: bool
    fetch_secs: float
    encode_secs: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def make_clip(
    device: DeviceClient,
    start: float,
    end: float,
    steps: Iterable = (),
    offset: float = 0.0,
) -> Clip:
    """The recording of ``device`` from ``start`` to ``end`` (lab-host times) as a Clip.

    ``steps`` (``Step`` objects or dicts, on this process's clock, ``offset`` = lab minus
    local) become subtitles. When the recording no longer reaches back to ``start``,
    the clip starts at its oldest frame (``Clip.start`` says so). Raises
    :class:`ClipError` when the recording has no frame in the range.
    """
    t0 = time.perf_counter()
    frames = fetch_frames(device, start, end)
    info = device.recording_info()
    if not frames:
        raise ClipError(
            f"the recording of {device.name} holds no frame from {start:.1f} to {end:.1f} "
            f"(it holds {info.get('oldest')} to {info.get('newest')}, "
            f"[lab.recording] seconds = {info.get('seconds')})"
        )
    if frames[0].time - start > GAP_SECS:  # the recording no longer reaches back so far
        start = frames[0].time
    audio = fetch_audio(device, start, end) if info.get("audio", True) else None
    fetched = time.perf_counter()
    cues = step_cues(steps, start, end, offset)
    mp4 = encode_mp4(frames, start, end, cues, audio)
    w, h = clip_size(frames)
    return Clip(
        mp4,
        to_webvtt(cues),
        start,
        end,
        len(frames),
        w,
        h,
        audio is not None,
        fetched - t0,
        time.perf_counter() - fetched,
    )

"""Recorded JPEG frames (and sound, and step subtitles) to an MP4 a browser plays.

H.264 (libx264, yuv420p, even dimensions, ``+faststart``), each frame at its own
recorded time (variable frame timing, millisecond time base), every frame scaled to one
size, so a change of resolution mid-clip is fine. Sound, when given, is AAC; the steps
go in a ``mov_text`` (tx3g) subtitle track, which players list as a subtitle language.

This runs in the test process, never on the lab host: a lab host only keeps JPEGs.

>>> mp4 = encode_mp4(frames, start, end, cues)            # doctest: +SKIP
"""

from __future__ import annotations

import fractions
import os
import struct
import tempfile
from collections.abc import Sequence

import cv2
import numpy as np

from pytest_virtualpy.clips.fetch import RecordedFrame
from pytest_virtualpy.clips.subtitles import Cue, flatten

MS = fractions.Fraction(1, 1000)
MAX_WIDTH = 1280  # a clip wider than 720p costs encode time and adds little to a report
PRESET = "veryfast"
AUDIO_FRAME = 1024  # samples per AAC frame
ASS_HEADER = (
    b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n"
    b"[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
    b"OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, "
    b"Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
    b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0"
    b"\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, "
    b"Text\n"
)


def clip_size(frames: Sequence[RecordedFrame]) -> tuple[int, int]:
    """One even size for the whole clip: the last frame's (the failure), at most 1280 wide."""
    w, h = frames[-1].width, frames[-1].height
    if w > MAX_WIDTH:
        w, h = MAX_WIDTH, round(h * MAX_WIDTH / w)
    return max(2, w - w % 2), max(2, h - h % 2)


def _picture(frame: RecordedFrame, size: tuple[int, int]) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        image = np.zeros((size[1], size[0], 3), np.uint8)  # a damaged JPEG: a black frame
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def _audio_frames(rate: int, audio_start: float, samples: bytes, start: float, end: float):
    import av

    pcm = np.frombuffer(samples, "<i2").astype(np.float32) / 32768.0
    first = round((audio_start - start) * rate)  # where the sound starts in the clip
    if first < 0:
        pcm, first = pcm[-first:], 0
    pcm = pcm[: max(0, round((end - start) * rate) - first)]
    for i in range(0, len(pcm), AUDIO_FRAME):
        chunk = pcm[i : i + AUDIO_FRAME]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = first + i
        frame.time_base = fractions.Fraction(1, rate)
        yield frame


def encode_mp4(
    frames: Sequence[RecordedFrame],
    start: float,
    end: float,
    cues: Sequence[Cue] = (),
    audio: tuple[int, float, bytes] | None = None,
) -> bytes:
    """An MP4 of ``frames`` from ``start`` to ``end`` (lab-host times) with subtitles ``cues``.

    ``audio`` is ``(rate, start_time, int16 LE mono samples)``. The first frame shows from
    the clip's start, the last until its end.
    """
    import av  # PyAV costs ~0.1 s of CPU to import: only processes that make a clip pay it

    if not frames:
        raise ValueError("no frames to encode")
    size = clip_size(frames)
    fd, path = tempfile.mkstemp(suffix=".mp4", prefix="virtualpy-clip-")
    os.close(fd)
    try:
        with av.open(path, "w", format="mp4", container_options={"movflags": "+faststart"}) as out:
            video = out.add_stream("libx264", options={"preset": PRESET, "tune": "zerolatency"})
            video.width, video.height = size
            video.pix_fmt = "yuv420p"
            video.codec_context.time_base = MS
            sound = None
            if audio is not None:
                sound = out.add_stream("aac", rate=audio[0], layout="mono")
            subs = None
            if cues:
                subs = out.add_stream("mov_text")
                subs.codec_context.subtitle_header = ASS_HEADER
                subs.time_base = MS
            last_pts = -1
            span = max(1, round((end - start) * 1000))
            times = [max(0, round((f.time - start) * 1000)) for f in frames]
            times[0] = 0
            for f, pts in zip(frames, times, strict=True):
                if pts <= last_pts:
                    continue  # two frames on one millisecond: keep the first
                _encode(out, video, _picture(f, size), pts)
                last_pts = pts
            if span > last_pts:  # hold the last picture until the clip's end
                _encode(out, video, _picture(frames[-1], size), span)
            out.mux(video.encode())
            if sound is not None:
                for frame in _audio_frames(audio[0], audio[1], audio[2], start, end):
                    out.mux(sound.encode(frame))
                out.mux(sound.encode())
            if subs is not None:
                for c in flatten(cues):
                    _subtitle(out, subs, c)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def _encode(out, video, image: np.ndarray, pts: int) -> None:
    import av

    frame = av.VideoFrame.from_ndarray(image, format="bgr24")
    frame.pts = pts
    frame.time_base = MS
    out.mux(video.encode(frame))


def _subtitle(out, subs, cue: Cue) -> None:
    """A mov_text sample: the text's length (2 bytes, big-endian), then its UTF-8."""
    import av

    text = cue.text.encode("utf-8")[:65535]
    packet = av.Packet(struct.pack(">H", len(text)) + text)
    packet.stream = subs
    packet.time_base = MS
    packet.pts = packet.dts = round(cue.start * 1000)
    packet.duration = max(1, round((cue.end - cue.start) * 1000))
    out.mux(packet)

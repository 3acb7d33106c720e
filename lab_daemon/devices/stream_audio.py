"""Sound decoded by PyAV: the audio track of a device's video stream, and the queue every
PyAV-fed audio source shares.

``lab.toml``::

    video = { source = "udp://0.0.0.0:5000" }
    audio = { kind = "stream" }              # the same stream's sound
    audio = { kind = "stream", rate = 16000 }

The video driver (:class:`~lab_daemon.devices.av_video.AvVideo`) demuxes the audio track
beside the picture and hands each decoded frame, stamped on the same clock as the frames,
to :meth:`QueuedAudio.feed`: a file's sound at its paced presentation time, a live
stream's at its pts shifted by the picture's pts-to-arrival offset, so sound and picture
keep the stream's own lip sync. Frames are mixed to mono and resampled to ``rate`` with
``av.AudioResampler``. :meth:`QueuedAudio.read` hands a chunk to the daemon once it has
been heard (its end is due), so sound decoded ahead of a paced picture waits for it.
While the stream is lost, or carries no sound, :meth:`read` yields digital silence at
real time, as the video yields black frames.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, ClassVar

import av
import numpy as np

from lab_daemon.devices.base import AudioSource
from lab_daemon.devices.options import Option
from pytest_virtualpy.errors import ConfigError

log = logging.getLogger(__name__)

RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
#: most sound held between the decoder and the daemon (older chunks are dropped)
QUEUE_SECS = 5.0
#: silent chunk length while the source is lost
SILENCE_SECS = 0.02


def check_rate(rate: int, where: str) -> int:
    if rate not in RATES:
        raise ConfigError(f"{where}: 'rate' must be one of {', '.join(map(str, RATES))}")
    return rate


class QueuedAudio(AudioSource):
    """Decoded sound, queued by a reader thread and paced out to the daemon."""

    def __init__(self, rate: int = 48000, name: str = ""):
        self.rate = int(rate)
        self.name = name
        #: True while sound comes from the source; False while it is lost (silence)
        self.signal = False
        self.last_error: str | None = None
        self.frames_decoded = 0
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[np.ndarray, float]] = collections.deque()
        self._queued = 0  # samples in the queue
        self._resampler: av.AudioResampler | None = None
        self._last_end: float | None = None  # the end time of the last chunk handed out
        self._closed = False

    # --- the reader thread's side ----------------------------------------------------

    def feed(self, frame: av.AudioFrame, t: float) -> None:
        """Queue decoded ``frame``, whose first sample was heard at ``t``."""
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=self.rate)
        offset = 0
        chunks = []
        for out in self._resampler.resample(frame):
            samples = out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
            chunks.append((samples, t + offset / self.rate))
            offset += len(samples)
        with self._cond:
            if not self.signal:
                log.info("audio %s: sound (%d Hz)", self.name, frame.sample_rate)
            self.signal = True
            self.frames_decoded += 1
            for chunk in chunks:
                self._queue.append(chunk)
                self._queued += len(chunk[0])
            while self._queued > QUEUE_SECS * self.rate and self._queue:
                self._queued -= len(self._queue.popleft()[0])
            self._cond.notify_all()

    def lost(self, reason: str) -> None:
        """The source stopped delivering sound: silence until :meth:`feed` again."""
        with self._cond:
            if self.signal:
                log.warning("audio %s: lost: %s", self.name, reason)
            self.signal = False
            self.last_error = reason
            self._resampler = None  # the next stream may have another format
            self._cond.notify_all()

    def queued_secs(self) -> float:
        with self._cond:
            return self._queued / self.rate

    # --- the daemon's side -------------------------------------------------------------

    def read(self) -> tuple[np.ndarray, float]:
        """The next chunk once its last sample is due; silence at real time while lost."""
        with self._cond:
            while True:
                now = time.time()
                if self._queue:
                    samples, t = self._queue[0]
                    end = t + len(samples) / self.rate
                    if end <= now:
                        self._queue.popleft()
                        self._queued -= len(samples)
                        self._last_end = end
                        return samples, t
                    self._cond.wait(min(end - now, 0.25))
                elif self._closed:
                    self._cond.wait(0.1)
                    return np.zeros(0, np.int16), now
                elif not self.signal:
                    start = self._last_end
                    if start is None or not now - 1.0 < start <= now:
                        start = now - SILENCE_SECS
                    end = start + SILENCE_SECS
                    if end <= now:
                        self._last_end = end
                        n = round(SILENCE_SECS * self.rate)
                        return np.zeros(n, np.int16), start
                    self._cond.wait(end - now)
                else:
                    self._cond.wait(0.25)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self.signal = False
            self._cond.notify_all()

    def status(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "rate": self.rate,
            "frames_decoded": self.frames_decoded,
            "last_error": self.last_error,
        }


class StreamAudio(QueuedAudio):
    """The sound of the device's PyAV video source (``audio = { kind = "stream" }``)."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "rate": Option(int, default=48000, help="samples per second kept (8000-48000)"),
    }

    @classmethod
    def from_options(cls, opts: dict, device: str) -> StreamAudio:
        """The factory then hands it to the device's video (``from_options(..., audio=)``)."""
        return cls(check_rate(opts["rate"], f"device {device!r}: audio"), name=device)

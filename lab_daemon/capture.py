"""Capture threads and the bounded ring of timestamped frames they fill.

One thread per device reads its :class:`VideoSource` at capture rate. Readers
(match loops, screenshot requests) never block the capture: they take frames
from the ring, and a reader that falls behind skips ahead instead of holding
memory.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterator

from lab_daemon import lease_guard
from lab_daemon.devices.base import VideoSource
from pytest_virtualpy.errors import LabError
from pytest_virtualpy.vision import Frame

log = logging.getLogger(__name__)

#: how long a reader waits for a frame before calling the capture stalled
STALL_SECS = 3.0


class FrameRing:
    """A bounded ring of :class:`Frame` objects with sequence numbers."""

    def __init__(self, size: int = 32):
        self._frames: collections.deque[tuple[int, Frame]] = collections.deque(maxlen=size)
        self._cond = threading.Condition()
        self._seq = 0
        self.closed = False

    def append(self, frame: Frame) -> None:
        with self._cond:
            self._seq += 1
            self._frames.append((self._seq, frame))
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def _wait(self, predicate, timeout: float) -> bool:
        """``Condition.wait_for`` in slices, stopping (LeaseLost) if the call's lease ends."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._cond.wait(min(left, lease_guard.SLICE_SECS))
            lease_guard.check()
        return True

    def latest(self, timeout: float = STALL_SECS) -> Frame:
        """The newest frame, waiting for the first one if the ring is empty."""
        lease_guard.check()
        with self._cond:
            if not self._wait(lambda: self._frames or self.closed, timeout):
                raise LabError("video capture stalled: no frame received")
            if not self._frames:
                raise LabError("video capture is stopped")
            return self._frames[-1][1]

    def _next_after(self, seq: int, timeout: float, latest: bool) -> tuple[int, Frame]:
        with self._cond:
            ok = self._wait(lambda: self._seq > seq or self.closed, timeout)
            if self.closed:
                raise LabError("video capture is stopped")
            if not ok:
                raise LabError(f"video capture stalled: no new frame for {timeout:.0f} s")
            if not latest:
                for s, frame in self._frames:
                    if s > seq:
                        return s, frame
            return self._frames[-1]

    def frames(
        self, since: float | None = None, *, latest: bool = False, stats: dict | None = None
    ) -> Iterator[Frame]:
        """Yield frames in capture order, forever.

        With ``since``, start at the first frame still in the ring whose
        timestamp is >= ``since`` (one frame earlier is included as a reference
        if available); otherwise start with the newest frame. A reader slower
        than capture skips frames that fell out of the ring; with ``latest`` it
        always jumps to the newest frame instead (lowest latency, for waits
        that only care about "now"). ``stats`` counts ``frames`` and ``skipped``.

        Inside a call, a frame is yielded only while the call's lease lives: once it ends
        the next step raises :class:`~pytest_virtualpy.errors.LeaseLost` (see
        :mod:`lab_daemon.lease_guard`).
        """
        with self._cond:
            if since is None or not self._frames:
                seq = self._frames[-1][0] - 1 if self._frames else self._seq
            else:
                seq = self._frames[-1][0] - 1
                for s, f in self._frames:
                    if f.time is not None and f.time >= since:
                        seq = s - 2  # include the frame before, as a reference
                        break
        while True:
            previous = seq
            seq, frame = self._next_after(seq, STALL_SECS, latest)
            if stats is not None:
                stats["frames"] = stats.get("frames", 0) + 1
                stats["skipped"] = stats.get("skipped", 0) + max(0, seq - previous - 1)
            lease_guard.check()
            yield frame


class SourceThread(threading.Thread):
    """Reads a source (``read() -> (value, time)``) into a ring until stopped.

    A failing read is logged (the first time, then every 100th) and retried after half a
    second; it never ends the thread: readers of the ring see a stall instead. Subclasses
    say what a value is (:meth:`keep`) and what to call the thread (``WHAT``).
    """

    WHAT = "capture"

    def __init__(self, name: str, source, ring):
        super().__init__(name=f"{self.WHAT}-{name}", daemon=True)
        self.source = source
        self.ring = ring
        self.errors = 0  # failed reads
        self._stop_event = threading.Event()

    def keep(self, value, t: float) -> None:
        """Put one value read at ``t`` into the ring."""
        raise NotImplementedError

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                value, t = self.source.read()
            except Exception:  # keep the thread alive; readers see a stall
                self.errors += 1
                if self.errors == 1 or self.errors % 100 == 0:
                    log.exception("%s from %s failed (%d times)", self.WHAT, self.name, self.errors)
                self._stop_event.wait(0.5)
                continue
            self.keep(value, t)
        self.ring.close()

    def stop(self) -> None:
        self._stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        if self.ident is not None:  # never started: nothing to wait for
            super().join(timeout)


class CaptureThread(SourceThread):
    """Reads a video source into a :class:`FrameRing` until stopped."""

    def __init__(self, name: str, source: VideoSource, ring: FrameRing):
        super().__init__(name, source, ring)
        self.frames_captured = 0
        self.frames_dropped = 0
        self._period = 1.0 / source.fps
        self._last_time: float | None = None

    def keep(self, array, t: float) -> None:
        if self._last_time is not None and t - self._last_time > 1.5 * self._period:
            self.frames_dropped += round((t - self._last_time) / self._period) - 1
        self._last_time = t
        self.ring.append(Frame(array, time=t))
        self.frames_captured += 1

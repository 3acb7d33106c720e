"""The live pictures: one JPEG producer per device and size, only while someone watches.

A producer is a thread of its own (never the capture thread): at the live rate it takes
the ring's newest frame, scales it and encodes one JPEG that every viewer of that
device and size shares. It starts with its first viewer and stops a moment after its
last one leaves, so an unwatched lab encodes nothing. Viewers only ever take the newest
picture: one that falls behind skips pictures, and nothing queues up for it.

>>> producers = Producers(ring_of=lambda name: ring, fps=5, tile_width=480)  # doctest: +SKIP
>>> with producers.get("sim-0", "tile").watching() as p:                     # doctest: +SKIP
...     seq, jpeg, t = p.next_after(0, timeout=2)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

import cv2

from lab_daemon.capture import FrameRing

log = logging.getLogger(__name__)

LINGER_SECS = 2.0  # a producer outlives its last viewer this long (a page reloading)
SIZES = ("tile", "full")


class JpegProducer:
    """Newest picture of one device at one size, refreshed at ``fps`` while watched."""

    def __init__(self, name: str, ring: FrameRing, width: int | None, fps: float, quality: int):
        self.name = name
        self._ring = ring
        self._width = width  # None: the capture's own size
        self._period = 1.0 / fps
        self._quality = int(quality)
        self._cond = threading.Condition()
        self._watchers = 0
        self._left_at = 0.0  # when the last watcher left
        self._thread: threading.Thread | None = None
        self._closed = False
        self._seq = 0
        self._jpeg = b""
        self._time = 0.0
        self.encoded = 0  # pictures made, for the status page and the benchmark

    @property
    def running(self) -> bool:
        return self._thread is not None

    @contextlib.contextmanager
    def watching(self) -> Iterator[JpegProducer]:
        """Count a viewer in for the block; the producer runs while anyone is in."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the live view is stopping")
            self._watchers += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"live-{self.name}", daemon=True
                )
                self._thread.start()
        try:
            yield self
        finally:
            with self._cond:
                self._watchers -= 1
                if not self._watchers:
                    self._left_at = time.monotonic()

    def next_after(self, seq: int, timeout: float) -> tuple[int, bytes, float] | None:
        """The newest picture if it is newer than ``seq`` (waiting up to ``timeout`` for
        one): ``(seq, jpeg, capture_time)``; None if none came. A ``seq`` from the
        future (a restarted daemon) counts as old."""
        with self._cond:
            if seq > self._seq:
                seq = 0
            ok = self._cond.wait_for(lambda: self._seq > seq or self._closed, timeout)
            if not ok or self._closed:
                return None
            return self._seq, self._jpeg, self._time

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=2)

    def _keep_going(self) -> bool:
        with self._cond:
            idle = not self._watchers and time.monotonic() - self._left_at > LINGER_SECS
            if self._closed or idle:
                self._thread = None
                return False
            return True

    def _run(self) -> None:
        last_time = None
        while self._keep_going():
            started = time.monotonic()
            try:
                frame = self._ring.latest(timeout=self._period)
                if frame.time != last_time:
                    last_time = frame.time
                    self._publish(self._encode(frame), frame.time or 0.0)
            except Exception as e:  # no frame yet, capture stopped: viewers just wait
                log.debug("live picture of %s: %s", self.name, e)
            with self._cond:
                self._cond.wait(max(0.0, started + self._period - time.monotonic()))

    def _encode(self, frame) -> bytes:
        height, width = frame.shape[:2]
        if self._width and self._width < width:
            size = (self._width, max(1, round(height * self._width / width)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self._quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return data.tobytes()

    def _publish(self, jpeg: bytes, t: float) -> None:
        with self._cond:
            self._seq += 1
            self._jpeg, self._time = jpeg, t
            self.encoded += 1
            self._cond.notify_all()


class Producers:
    """The producers of a lab, made on first use: one per (device, size)."""

    def __init__(
        self, ring_of: Callable[[str], FrameRing], fps: float, tile_width: int, quality: int = 70
    ):
        self._ring_of = ring_of  # raises for an unknown device
        self._fps, self._tile_width, self._quality = fps, tile_width, quality
        self._lock = threading.Lock()
        self._producers: dict[tuple[str, str], JpegProducer] = {}

    def get(self, device: str, size: str) -> JpegProducer:
        if size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
        with self._lock:
            p = self._producers.get((device, size))
            if p is None:
                width = self._tile_width if size == "tile" else None
                p = JpegProducer(
                    f"{device}-{size}", self._ring_of(device), width, self._fps, self._quality
                )
                self._producers[device, size] = p
            return p

    def running(self) -> list[str]:
        """``device/size`` of every producer now encoding."""
        with self._lock:
            return sorted(f"{d}/{s}" for (d, s), p in self._producers.items() if p.running)

    def close(self) -> None:
        with self._lock:
            producers = list(self._producers.values())
        for p in producers:
            p.close()

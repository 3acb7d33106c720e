"""Who watches the live page, and how much each may take.

A viewer is an open page (known by the random id its script sends with every picture
request, gone after :data:`IDLE_SECS` without one) or an open MJPEG stream (gone when it
closes). At most ``max_viewers`` at once; each has a byte :class:`Budget`
(``max_kbps``) and takes at most ``fps`` pictures a second per device.

>>> table = ViewerTable(max_viewers=1, bytes_per_sec=500_000, fps=5)
>>> page = table.page("3f9c")
>>> table.page("other") is None        # full: that viewer gets a 503
True
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator

IDLE_SECS = 5.0  # a page that asked for no picture this long has gone
BURST_SECS = 0.5  # how much unused budget a viewer may save up
VIEWER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class Budget:
    """A byte rate: :meth:`delay` says how long to wait before sending more.

    Over any stretch of ``T`` seconds at most ``rate * (T + BURST_SECS)`` bytes plus one
    picture go out, however the viewer asks.
    """

    def __init__(self, bytes_per_sec: float, clock: Callable[[], float] = time.monotonic):
        self._rate = float(bytes_per_sec)
        self._clock = clock
        self._free = clock() - BURST_SECS  # the time the bytes sent so far are paid off
        self._lock = threading.Lock()

    def delay(self) -> float:
        with self._lock:
            return max(0.0, self._free - self._clock())

    def charge(self, nbytes: int) -> None:
        with self._lock:
            self._free = max(self._free, self._clock() - BURST_SECS) + nbytes / self._rate


class Viewer:
    """One viewer's allowance: its byte budget and its picture rate per device."""

    def __init__(self, key: str, bytes_per_sec: float, fps: float):
        self.key = key
        self.budget = Budget(bytes_per_sec)
        self._period = 1.0 / fps
        self._next: dict[str, float] = {}  # device/size -> earliest next picture
        self._lock = threading.Lock()
        self.seen = time.monotonic()
        self.bytes_sent = 0

    def wait_secs(self, what: str) -> float:
        """How long until this viewer may have its next picture of ``what``; books it."""
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(what, 0.0))
            self._next[what] = at + self._period
            return max(at - now, self.budget.delay())

    def sent(self, nbytes: int) -> None:
        self.budget.charge(nbytes)
        with self._lock:
            self.bytes_sent += nbytes


class ViewerTable:
    """The viewers of one lab's live page, bounded by ``max_viewers``."""

    def __init__(self, max_viewers: int, bytes_per_sec: float, fps: float):
        self.max_viewers = max_viewers
        self._bytes_per_sec, self._fps = bytes_per_sec, fps
        self._lock = threading.Lock()
        self._pages: dict[str, Viewer] = {}
        self._streams = 0
        self._stream_ids = 0

    def _count(self) -> int:
        now = time.monotonic()
        for key in [k for k, v in self._pages.items() if now - v.seen > IDLE_SECS]:
            del self._pages[key]
        return len(self._pages) + self._streams

    def count(self) -> int:
        with self._lock:
            return self._count()

    def page(self, viewer_id: str) -> Viewer | None:
        """The page viewer ``viewer_id`` (made if there is room), or None when full."""
        with self._lock:
            viewer = self._pages.get(viewer_id)
            if viewer is None:
                if self._count() >= self.max_viewers:
                    return None
                viewer = self._pages[viewer_id] = Viewer(viewer_id, self._bytes_per_sec, self._fps)
            viewer.seen = time.monotonic()
            return viewer

    @contextlib.contextmanager
    def stream(self) -> Iterator[Viewer | None]:
        """A viewer for one MJPEG stream, for as long as the block runs; None when full."""
        with self._lock:
            if self._count() >= self.max_viewers:
                viewer = None
            else:
                self._streams += 1
                self._stream_ids += 1
                viewer = Viewer(f"stream-{self._stream_ids}", self._bytes_per_sec, self._fps)
        try:
            yield viewer
        finally:
            if viewer is not None:
                with self._lock:
                    self._streams -= 1


def valid_viewer_id(value: str | None) -> bool:
    return bool(value) and VIEWER_ID.fullmatch(value) is not None

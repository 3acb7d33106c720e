"""A device's recent sound: a bounded ring of int16 mono samples stamped on the video clock.

Sources deliver chunks ``(samples, time of the first sample)``. The ring keeps each chunk's
time as an anchor, so sample times never drift from the source's clock (a capture card's
sample clock runs a few ppm off the host's); a gap in the stamps longer than
:data:`GAP_SECS` is filled with silence and an overlap is dropped, so the samples stay in
time order and a clip's sound stays in step with its picture.

>>> ring = AudioRing(16000, seconds=5)
>>> ring.append(np.zeros(320, np.int16), t=1000.0)
>>> ring.latest_time()
1000.02
"""

from __future__ import annotations

import bisect
import math
import threading
import time

import numpy as np

from pytest_virtualpy.errors import LabError

#: no chunk for this long (s) and the capture counts as stalled
STALL_SECS = 3.0
#: stamps further apart than this from where the last chunk ended are a gap or an overlap
GAP_SECS = 0.1
#: the level of digital silence, in dBFS (a floor instead of -inf)
FLOOR_DB = -120.0
_COMPACT = 4096


class AudioRing:
    """The newest ``seconds`` of one device's sound (see the module docstring).

    Levels are RMS relative to full scale: a full-scale square wave is 0 dBFS, a
    full-scale sine -3 dBFS, digital silence :data:`FLOOR_DB`.
    """

    def __init__(self, rate: int, seconds: float, *, stall_secs: float = STALL_SECS):
        if not 1000 <= int(rate) <= 192000:
            raise ValueError(f"audio rate must be 1000..192000 Hz, got {rate!r}")
        self.rate = int(rate)
        self.seconds = float(seconds)
        self.capacity = max(1, math.ceil(self.seconds * self.rate))
        self.stall_secs = float(stall_secs)
        self._buf = np.zeros(self.capacity, np.int16)
        self._written = 0  # samples ever written; the absolute index of the next one
        self._idx: list[int] = []  # anchors: absolute index of a chunk's first sample ...
        self._times: list[float] = []  # ... and its time
        self._lo = 0  # anchors before this are dropped
        self._cond = threading.Condition()
        self._created = time.monotonic()
        self._arrived: float | None = None  # monotonic time of the last chunk
        self.closed = False
        self.chunks = 0
        self.gaps = 0  # gaps filled with silence
        self.overlaps = 0  # chunks (partly) dropped as overlapping

    # --- writing ---------------------------------------------------------------------

    def append(self, samples: np.ndarray, t: float) -> None:
        """Add a chunk of int16 mono samples whose first sample was heard at ``t``."""
        data = np.asarray(samples).reshape(-1).astype(np.int16, copy=False)
        with self._cond:
            self._arrived = time.monotonic()
            self.chunks += 1
            if self._written:
                expected = self._end_time()
                if t > expected + GAP_SECS:
                    self.gaps += 1
                    self._write(np.zeros(min(self.capacity, round((t - expected) * self.rate))))
                elif t < expected - GAP_SECS:
                    self.overlaps += 1
                    drop = round((expected - t) * self.rate)
                    data, t = data[drop:], t + drop / self.rate
                t = max(t, self._times[-1])  # anchor times never go backwards
            if len(data):
                self._idx.append(self._written)
                self._times.append(float(t))
                self._write(data)
                self._trim()
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def _write(self, data: np.ndarray) -> None:
        n = len(data)
        if n >= self.capacity:
            data, self._written = data[-self.capacity :], self._written + n - self.capacity
            n = self.capacity
        start = self._written % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start : start + first] = data[:first]
        self._buf[: n - first] = data[first:]
        self._written += n

    def _trim(self) -> None:
        oldest = self._oldest()
        # keep the last anchor at or before the oldest sample: it dates that sample
        while self._lo + 1 < len(self._idx) and self._idx[self._lo + 1] <= oldest:
            self._lo += 1
        if self._lo > _COMPACT:
            del self._idx[: self._lo], self._times[: self._lo]
            self._lo = 0

    # --- index <-> time (under the lock) ---------------------------------------------------

    def _oldest(self) -> int:
        return max(0, self._written - self.capacity)

    def _time_of(self, i: int) -> float:
        k = max(self._lo, bisect.bisect_right(self._idx, i, lo=self._lo) - 1)
        return self._times[k] + (i - self._idx[k]) / self.rate

    def _end_time(self) -> float:
        return self._time_of(self._written)

    def _index_at(self, t: float) -> int:
        """The first held sample heard at or after ``t`` (``_written`` if none is)."""
        k = bisect.bisect_right(self._times, t, lo=self._lo) - 1
        if k < self._lo:
            return self._oldest()
        upper = self._idx[k + 1] if k + 1 < len(self._idx) else self._written
        i = self._idx[k] + math.ceil((t - self._times[k]) * self.rate - 1e-6)
        return max(self._oldest(), min(i, upper))

    def _read(self, a: int, b: int) -> np.ndarray:
        start, n = a % self.capacity, b - a
        if start + n <= self.capacity:
            return self._buf[start : start + n].copy()
        return np.concatenate((self._buf[start:], self._buf[: n - (self.capacity - start)]))

    # --- reading -----------------------------------------------------------------------

    def latest_time(self) -> float | None:
        """The time up to which sound has arrived (just after the newest sample), or None."""
        with self._cond:
            return self._end_time() if self._written else None

    def oldest_time(self) -> float | None:
        """The time of the oldest sample still held, or None."""
        with self._cond:
            return self._time_of(self._oldest()) if self._written else None

    def samples(self, start: float, end: float) -> tuple[float, np.ndarray]:
        """``(time of the first returned sample, int16 samples)`` heard in ``[start, end]``,
        as far as the ring still holds them (an empty array if it holds none)."""
        with self._cond:
            if not self._written:
                return float(start), np.zeros(0, np.int16)
            a = self._index_at(start)
            b = self._index_at(end + 0.5 / self.rate)
            if b <= a:
                return float(start), np.zeros(0, np.int16)
            return self._time_of(a), self._read(a, b)

    def level_db(self, secs: float = 1.0, end: float | None = None) -> float:
        """RMS level (dBFS) of the ``secs`` before ``end`` (default: the newest sample).

        Digital silence is :data:`FLOOR_DB`. Raises :class:`LabError` when no sound has
        arrived for longer than ``stall_secs`` ("audio capture stalled"), or when the ring
        no longer (or not yet) holds sound for that time.
        """
        with self._cond:
            self._check_flowing()
            latest = self._end_time()
            end = latest if end is None else min(float(end), latest)
            a, b = self._index_at(end - max(float(secs), 0.0)), self._index_at(end)
            if b <= a:
                b = min(self._written, a + 1)
            if b <= a:
                raise LabError(
                    f"no sound held for {secs:g} s before {end:.3f}: the ring holds "
                    f"{self._time_of(self._oldest()):.3f} to {latest:.3f}"
                )
            return rms_db(self._read(a, b))

    def wait_newer(self, t: float | None, timeout: float) -> bool:
        """Wait up to ``timeout`` s for sound newer than ``t``; whether it came."""
        with self._cond:
            return (
                self._cond.wait_for(
                    lambda: self.closed or (self._written and (t is None or self._end_time() > t)),
                    timeout,
                )
                and not self.closed
            )

    def _check_flowing(self) -> None:
        """Raise LabError unless sound is arriving (waiting, at first, for the first)."""
        if self.closed:
            raise LabError("audio capture is stopped")
        since = self._arrived if self._arrived is not None else self._created
        left = self.stall_secs - (time.monotonic() - since)
        if not self._written and left > 0:
            self._cond.wait_for(lambda: self._written or self.closed, left)
            if self.closed:
                raise LabError("audio capture is stopped")
            since = self._arrived if self._arrived is not None else self._created
        idle = time.monotonic() - since
        if idle > self.stall_secs or not self._written:
            raise LabError(
                f"audio capture stalled: no sound received for {idle:.1f} s "
                "(is the device's audio source connected? see the daemon's log)"
            )

    def stats(self) -> dict:
        """For health reports."""
        with self._cond:
            idle = time.monotonic() - (self._arrived or self._created)
            return {
                "rate": self.rate,
                "chunks": self.chunks,
                "gaps": self.gaps,
                "overlaps": self.overlaps,
                "last_chunk_age_secs": round(idle, 3),
            }


def rms_db(samples: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS, floored at :data:`FLOOR_DB`.

    >>> rms_db(np.zeros(10, np.int16))
    -120.0
    >>> round(rms_db(np.full(10, 32767, np.int16)), 1)
    -0.0
    """
    if not len(samples):
        return FLOOR_DB
    # int64, not float64: a float dot product goes to (multi-threaded) BLAS, whose idle
    # threads then spin for a while after every call: +8% of a core for one look a second
    x = samples.astype(np.int64)
    ms = float(np.dot(x, x)) / len(x)
    if ms <= 0:
        return FLOOR_DB
    return max(FLOOR_DB, 10.0 * math.log10(ms / 32768.0**2))

"""Who may start a handshake: caps on connections in the handshake, pauses after failures.

Before a client has proven the token it costs the daemon a thread and a descriptor,
so the number of such connections is capped in total and per address; beyond the
cap a new connection is turned away at once (told ``BUSY``; a real client retries
within its connect timeout). An address that fails authentication too often within
a window is paused for a few seconds: its new connections are turned away too (also
``BUSY``, so a real client sharing the address just waits). Each failure is logged
with the address (rate-limited, so a flood cannot fill the disk).

>>> a = Admission(max_total=2, max_per_address=1)
>>> a.admit("10.0.0.9") is None, a.admit("10.0.0.9") is not None
(True, True)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque

log = logging.getLogger("lab_daemon.admission")


class RateLimitedLog:
    """Log one line per ``key`` at most every ``every_secs``, saying how many were skipped."""

    def __init__(self, logger: logging.Logger, every_secs: float = 10.0):
        self._log = logger
        self._every = every_secs
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def warning(self, key: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -1e9) < self._every:
                self._skipped[key] += 1
                return
            self._last[key] = now
            skipped, self._skipped[key] = self._skipped[key], 0
            if len(self._last) > 4096:  # forget quiet keys rather than grow without bound
                self._last = {k: t for k, t in self._last.items() if now - t < self._every}
        suffix = f" (and {skipped} more like it)" if skipped else ""
        self._log.warning(msg + suffix, *args)


class Admission:
    """Counts connections in the handshake and failed authentications, per address."""

    def __init__(
        self,
        *,
        max_total: int = 32,
        max_per_address: int = 8,
        failures_allowed: int = 5,
        failure_window_secs: float = 60.0,
        pause_secs: float = 5.0,
    ):
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.failures_allowed = failures_allowed
        self.failure_window_secs = failure_window_secs
        self.pause_secs = pause_secs
        self._lock = threading.Lock()
        self._in_handshake: dict[str, int] = defaultdict(int)
        self._failures: dict[str, deque[float]] = {}
        self._paused_until: dict[str, float] = {}
        self.log = RateLimitedLog(log)

    def admit(self, address: str) -> bytes | None:
        """Count a new connection in; or return the line to send it before closing it."""
        now = time.monotonic()
        with self._lock:
            until = self._paused_until.get(address, 0.0)
            if until > now:
                why = (
                    f"BUSY too many failed authentications from {address}; this address is "
                    f"paused for {until - now:.0f} s more: check the token"
                )
                self.log.warning(
                    f"paused:{address}", "turned away %s: paused after failures", address
                )
                return why.encode()
            self._paused_until.pop(address, None)
            total = sum(self._in_handshake.values())
            if total >= self.max_total or self._in_handshake[address] >= self.max_per_address:
                self.log.warning(
                    f"busy:{address}",
                    "turned away %s: %d connections in the handshake (%d from it; caps %d, %d)",
                    address,
                    total,
                    self._in_handshake[address],
                    self.max_total,
                    self.max_per_address,
                )
                return b"BUSY too many connections are authenticating; retry shortly"
            self._in_handshake[address] += 1
            return None

    def done(self, address: str) -> None:
        """The connection left the handshake (authenticated, refused or gone)."""
        with self._lock:
            self._in_handshake[address] -= 1
            if self._in_handshake[address] <= 0:
                del self._in_handshake[address]

    def failed(self, address: str, why: str) -> None:
        """Count a failed authentication; pause the address once it failed too often."""
        now = time.monotonic()
        with self._lock:
            times = self._failures.setdefault(address, deque())
            times.append(now)
            while times and times[0] < now - self.failure_window_secs:
                times.popleft()
            paused = len(times) >= self.failures_allowed
            if paused:
                self._paused_until[address] = now + self.pause_secs
                times.clear()
            if len(self._failures) > 4096:
                self._failures = {a: t for a, t in self._failures.items() if t}
        self.log.warning(f"failed:{address}", "failed authentication from %s: %s", address, why)
        if paused:
            log.warning(
                "pausing %s for %.0f s after %d failed authentications within %.0f s",
                address,
                self.pause_secs,
                self.failures_allowed,
                self.failure_window_secs,
            )

    def in_handshake(self) -> int:
        with self._lock:
            return sum(self._in_handshake.values())

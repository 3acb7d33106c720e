"""A device's serial console as the daemon keeps it: unread output plus a log.

Clients read and ``expect`` against the unread part; everything that ever
arrived is also kept (bounded) as the device's serial log, so a test's console
output can be attached to its report even if the test never read it.

Both are views of one byte stream, numbered by absolute offset: the unread part
is always its tail. A test takes the log offset when it starts and calls
:meth:`Console.discard` with it, so that output from before the test (an earlier
test's, or a boot nobody read) is in no read or expect of the test.
"""

from __future__ import annotations

import re
import threading
import time

from lab_daemon.devices.base import SerialPort
from pytest_virtualpy.errors import PatternError

LOG_LIMIT = 1 << 20  # bytes of serial log kept per device
UNREAD_LIMIT = 1 << 20  # bytes of unread output kept; older unread output is dropped
MAX_PATTERN_CHARS = 1000  # longest regular expression ``expect`` accepts


def compile_pattern(pattern: str) -> re.Pattern[bytes]:
    """Compile an ``expect`` pattern; :class:`PatternError` (a ValueError) if it is bad.

    The pattern comes off the network: its length is bounded, and whatever the
    regex compiler raises is the caller's mistake, never the daemon's.
    """
    if not isinstance(pattern, str):
        raise PatternError(f"pattern must be a str, got {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(
            f"pattern too long: {len(pattern)} characters (at most {MAX_PATTERN_CHARS}), "
            f"starting {pattern[:40]!r}"
        )
    try:
        return re.compile(pattern.encode())
    except (re.error, OverflowError, RecursionError) as e:
        raise PatternError(f"bad regular expression {pattern!r}: {e}") from None


class Console:
    """Buffers a :class:`SerialPort` for read/expect and keeps a rolling log."""

    def __init__(self, port: SerialPort):
        self.port = port
        self._unread = bytearray()
        self._log = bytearray()
        self._log_offset = 0  # bytes dropped from the front of the log
        self._lock = threading.Lock()

    def _pull(self) -> None:
        data = self.port.read_available()
        if data:
            self._unread += data
            if len(self._unread) > UNREAD_LIMIT:
                del self._unread[: len(self._unread) - UNREAD_LIMIT]
            self._log += data
            if len(self._log) > LOG_LIMIT:
                cut = len(self._log) - LOG_LIMIT
                del self._log[:cut]
                self._log_offset += cut

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def discard(self, before: int) -> int:
        """Drop unread output that was logged before absolute offset ``before``.

        Output from ``before`` on stays unread. Returns how many bytes were dropped.
        """
        with self._lock:
            self._pull()
            unread_start = self._log_offset + len(self._log) - len(self._unread)
            n = max(0, min(len(self._unread), before - unread_start))
            del self._unread[:n]
            return n

    def read(self, timeout: float) -> bytes:
        """Return unread output, waiting up to ``timeout`` for some to arrive."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._pull()
            while not self._unread and time.monotonic() < deadline:
                self.port.wait_for_data(min(0.1, max(0.0, deadline - time.monotonic())))
                self._pull()
            data = bytes(self._unread)
            self._unread.clear()
            return data

    def expect(self, pattern: str, timeout: float) -> dict:
        """Wait until ``pattern`` (a regex) appears in unread output.

        On a match, output up to and including the match is consumed. Returns
        ``{"matched", "match", "groups", "before"}``; on timeout ``before`` holds
        everything read so far (left unread for the next call). A bad pattern
        raises :class:`PatternError`.
        """
        regex = compile_pattern(pattern)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                self._pull()
                unread = bytes(self._unread)  # a match must not see the buffer change
                m = regex.search(unread)
                if m:
                    before = unread[: m.start()]
                    del self._unread[: m.end()]
                    return {
                        "matched": True,
                        "match": m.group(0).decode(errors="replace"),
                        "groups": [
                            g.decode(errors="replace") if g is not None else None
                            for g in m.groups()
                        ],
                        "before": before.decode(errors="replace"),
                    }
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return {
                        "matched": False,
                        "match": None,
                        "groups": [],
                        "before": self._unread.decode(errors="replace"),
                    }
                self.port.wait_for_data(min(0.1, remaining))

    def log(self, since: int = 0) -> tuple[int, bytes]:
        """Everything logged from absolute byte offset ``since``; and the end offset."""
        with self._lock:
            self._pull()
            start = max(0, since - self._log_offset)
            return self._log_offset + len(self._log), bytes(self._log[start:])

"""A device's serial console as the daemon keeps it: unread output plus a log.

Clients read and ``expect`` against the unread part; everything that ever
arrived is also kept (bounded) as the device's serial log, so a test's console
output can be attached to its report even if the test never read it.
"""

from __future__ import annotations

import re
import threading
import time

from lab_daemon.devices.base import SerialPort

LOG_LIMIT = 1 << 20  # bytes of serial log kept per device


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
            self._log += data
            if len(self._log) > LOG_LIMIT:
                cut = len(self._log) - LOG_LIMIT
                del self._log[:cut]
                self._log_offset += cut

    def write(self, data: bytes) -> None:
        self.port.write(data)

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
        everything read so far (left unread for the next call).
        """
        regex = re.compile(pattern.encode())
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

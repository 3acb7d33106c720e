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

import threading
import time

import regex

from lab_daemon import lease_guard
from lab_daemon.devices.base import SerialPort
from pytest_virtualpy.errors import BadArgument, PatternError

LOG_LIMIT = 1 << 20  # bytes of serial log kept per device
UNREAD_LIMIT = 1 << 20  # bytes of unread output kept; older unread output is dropped
MAX_PATTERN_CHARS = 1000  # longest regular expression ``expect`` accepts
MAX_REPEAT = 1000  # largest counted repeat ``{n}`` in a pattern
MAX_REPEAT_PRODUCT = 100_000  # counted repeats multiplied together (compiling expands them)
MATCH_TIMEOUT_SECS = 0.25  # one search of the unread output; longer means a costly pattern
MAX_WRITE_BYTES = 64 << 10  # bytes one ``write`` sends

_REPEAT = regex.compile(r"\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}")


def compile_pattern(pattern: str) -> regex.Pattern:
    r"""Compile an ``expect`` pattern; :class:`PatternError` (a ValueError) if it is bad.

    The pattern comes off the network: its length and its counted repeats are bounded
    (compiling ``(a{1000}){1000}`` alone takes a second), and whatever the regex
    compiler raises is the caller's mistake, never the daemon's. Matching is bounded in
    time too (see :func:`search`).

    >>> compile_pattern(r"login: (\w+)").search(b"stb login: root").group(1)
    b'root'
    """
    if not isinstance(pattern, str):
        raise PatternError(f"pattern must be a str, got {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(
            f"pattern too long: {len(pattern)} characters (at most {MAX_PATTERN_CHARS}), "
            f"starting {pattern[:40]!r}"
        )
    product = 1
    for low, high in _REPEAT.findall(pattern):
        n = max(int(v) for v in (low or "0", high or "0"))
        if n > MAX_REPEAT:
            raise PatternError(
                f"pattern {pattern[:60]!r} repeats {n} times; at most {MAX_REPEAT} per repeat"
            )
        product *= max(1, n)
    if product > MAX_REPEAT_PRODUCT:
        raise PatternError(
            f"pattern {pattern[:60]!r} has counted repeats that multiply to {product} "
            f"(at most {MAX_REPEAT_PRODUCT}); use fewer or smaller {{n}} repeats"
        )
    try:
        return regex.compile(pattern.encode("utf-8", "surrogateescape"))
    except (regex.error, OverflowError, RecursionError, ValueError, MemoryError) as e:
        raise PatternError(f"bad regular expression {pattern[:200]!r}: {e}") from None


def search(compiled: regex.Pattern, data: bytes):
    """``compiled.search(data)`` in at most :data:`MATCH_TIMEOUT_SECS` (the regex package
    releases the GIL while it matches bytes); a costlier pattern is a PatternError."""
    try:
        return compiled.search(data, timeout=MATCH_TIMEOUT_SECS)
    except TimeoutError:
        raise PatternError(
            f"pattern {compiled.pattern[:60]!r} is too costly: one search of "
            f"{len(data)} bytes of serial output took over {MATCH_TIMEOUT_SECS:g} s. "
            "Avoid nested repeats such as (a+)+ and anchor the pattern to literal text"
        ) from None


class Console:
    """Buffers a :class:`SerialPort` for read/expect and keeps a rolling log."""

    def __init__(self, port: SerialPort):
        self.port = port
        self._unread = bytearray()
        self._log = bytearray()
        self._log_offset = 0  # bytes dropped from the front of the log
        self.dropped = 0  # unread bytes dropped because nobody read them in time
        self._lock = threading.Lock()

    def _pull(self) -> None:
        data = self.port.read_available()
        if data:
            self._unread += data
            if len(self._unread) > UNREAD_LIMIT:
                cut = len(self._unread) - UNREAD_LIMIT
                del self._unread[:cut]
                self.dropped += cut
            self._log += data
            if len(self._log) > LOG_LIMIT:
                cut = len(self._log) - LOG_LIMIT
                del self._log[:cut]
                self._log_offset += cut

    def write(self, data: bytes) -> None:
        """Send ``data`` (at most :data:`MAX_WRITE_BYTES`) to the device."""
        if len(data) > MAX_WRITE_BYTES:
            raise BadArgument(
                f"a serial write is at most {MAX_WRITE_BYTES} bytes, got {len(data)}: "
                "send it in pieces"
            )
        self.port.write(data)

    def _unread_start(self) -> int:
        """Absolute offset of the first unread byte (call with the lock held)."""
        return self._log_offset + len(self._log) - len(self._unread)

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
                lease_guard.check()  # a lost lease never reads the next holder's output
                self._pull()
            lease_guard.check()
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
        compiled = compile_pattern(pattern)
        deadline = time.monotonic() + timeout
        seen = None
        while True:
            lease_guard.check()
            with self._lock:  # copy under the lock; match outside it
                self._pull()
                unread = bytes(self._unread)
                start = self._unread_start()
            m = search(compiled, unread) if seen != (start, len(unread)) else None
            seen = (start, len(unread))
            if m:
                lease_guard.check()  # the lease may have ended while the search ran
                with self._lock:  # consume what the match covered (unless already gone)
                    n = start + m.end() - self._unread_start()
                    del self._unread[: max(0, min(len(self._unread), n))]
                return {
                    "matched": True,
                    "match": m.group(0).decode(errors="replace"),
                    "groups": [
                        g.decode(errors="replace") if g is not None else None for g in m.groups()
                    ],
                    "before": unread[: m.start()].decode(errors="replace"),
                }
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {
                    "matched": False,
                    "match": None,
                    "groups": [],
                    "before": unread.decode(errors="replace"),
                }
            self.port.wait_for_data(min(0.1, remaining))

    def log(self, since: int = 0) -> tuple[int, bytes]:
        """Everything logged from absolute byte offset ``since``; and the end offset."""
        with self._lock:
            self._pull()
            start = max(0, since - self._log_offset)
            return self._log_offset + len(self._log), bytes(self._log[start:])

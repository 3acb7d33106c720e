"""Bounds every exposed call shares: argument sizes, calls in flight, and CPU priority.

An argument off the network is checked before any method sees it: a str of at most
:data:`MAX_STR_CHARS` characters, bytes of at most :data:`MAX_BYTES`, tuples at most
:data:`MAX_TUPLE_ITEMS` long and :data:`MAX_TUPLE_DEPTH` deep. The error names the
argument and the limit, so the caller knows what to change.

A connection is served by one daemon thread, so it has one call in flight; a lease is
bound to one connection. :data:`MAX_CALLS_PER_CONNECTION` makes that explicit for any
server that would serve a connection from several threads.

Threads serving clients run at a lower CPU priority (``nice`` + :data:`CALL_NICE`) than
the capture, audio and recording threads, so frame-local vision work for any number of
clients cannot starve a device's capture on a small lab host.

>>> check_args("press", ["lease_id", "key"], ("abc", "KEY_OK"))
>>> check_args("press", ["lease_id", "key"], ("abc", "K" * 70000))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pytest_virtualpy.errors.BadArgument: press(): argument key is too long: 70000 characters; ...
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from lab_daemon.connection import LOCAL
from pytest_virtualpy.errors import BadArgument

log = logging.getLogger(__name__)

MAX_STR_CHARS = 64 << 10
MAX_BYTES = 8 << 20
MAX_TUPLE_ITEMS = 64
MAX_TUPLE_DEPTH = 3
MAX_CALLS_PER_CONNECTION = 4
CALL_NICE = 10

_PLAIN = (str, bytes, int, float, bool, type(None))
_lock = threading.Lock()
_in_flight: Counter[str] = Counter()
_thread_state = threading.local()  # .niced: this thread runs lowered already


def _check(method: str, what: str, value: Any, depth: int) -> None:
    kind = type(value)
    if kind is str and len(value) > MAX_STR_CHARS:
        raise BadArgument(
            f"{method}(): argument {what} is too long: {len(value)} characters; "
            f"at most {MAX_STR_CHARS}"
        )
    if kind is bytes and len(value) > MAX_BYTES:
        raise BadArgument(
            f"{method}(): argument {what} is too long: {len(value)} bytes; at most {MAX_BYTES} "
            "(send a smaller image or split the data)"
        )
    if kind is int and abs(value).bit_length() > 100:
        raise BadArgument(f"{method}(): argument {what} is an integer beyond 2**100")
    if kind is tuple:
        if depth >= MAX_TUPLE_DEPTH:
            raise BadArgument(
                f"{method}(): argument {what} nests tuples more than {MAX_TUPLE_DEPTH} deep"
            )
        if len(value) > MAX_TUPLE_ITEMS:
            raise BadArgument(
                f"{method}(): argument {what} has {len(value)} items; at most {MAX_TUPLE_ITEMS}"
            )
        for i, item in enumerate(value):
            _check(method, f"{what}[{i}]", item, depth + 1)
    elif kind not in _PLAIN:
        raise BadArgument(
            f"{method}() takes plain values only (str, bytes, numbers, tuples); "
            f"argument {what} is a {kind.__name__}"
        )


def check_args(method: str, names: Sequence[str], args: tuple) -> None:
    """Refuse (:class:`BadArgument`) any argument that is not a plain value within bounds."""
    for i, value in enumerate(args):
        _check(method, names[i] if i < len(names) else f"#{i + 1}", value, 0)


def _lower_priority() -> None:
    """Run the calling (client-serving) thread below the capture threads, once per thread."""
    if getattr(_thread_state, "niced", False):
        return
    _thread_state.niced = True
    tid = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, nice + CALL_NICE))


@contextlib.contextmanager
def in_flight(peer: Any, method: str) -> Iterator[None]:
    """Count one call of ``peer``'s connection for as long as it runs.

    More than :data:`MAX_CALLS_PER_CONNECTION` at once is refused. Calls from a real
    connection (not the in-process :data:`~lab_daemon.connection.LOCAL` peer) run at
    lowered priority.
    """
    key = getattr(peer, "conn_id", LOCAL.conn_id)
    with _lock:
        if _in_flight[key] >= MAX_CALLS_PER_CONNECTION:
            raise BadArgument(
                f"{method}(): this connection already has {_in_flight[key]} calls in flight "
                f"(at most {MAX_CALLS_PER_CONNECTION}); wait for one to return"
            )
        _in_flight[key] += 1
    if key != LOCAL.conn_id:
        _lower_priority()
    try:
        yield
    finally:
        with _lock:
            _in_flight[key] -= 1
            if not _in_flight[key]:
                del _in_flight[key]

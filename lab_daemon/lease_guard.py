"""The lease a call runs under, so that a long call stops the moment that lease ends.

:meth:`ServiceBase._rt <lab_daemon.exposing.ServiceBase._rt>` enters the caller's lease
for the rest of the call (one connection is served by one thread, so the lease is kept
per thread) and the exposed-method wrapper leaves it when the call returns. The loops
that wait (frame waits in :class:`~lab_daemon.capture.FrameRing`, serial reads and
expects, audio waits, a power cycle's off period) call :func:`check` between steps: once
the lease is released, expires or its connection closes, ``check`` raises
:class:`~pytest_virtualpy.errors.LeaseLost` and the call never touches the device again.
Outside a call (capture, recording and monitoring threads) there is no lease and
``check`` does nothing.

>>> check()  # no lease entered on this thread: nothing to stop
>>> sleep(0.01)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pytest_virtualpy.errors import LeaseLost

if TYPE_CHECKING:
    from lab_daemon.leases import Lease, LeaseTable

#: the longest a waiting loop sleeps between two looks at its lease
SLICE_SECS = 0.1

_local = threading.local()


#: how often a waiting loop asks whether its client hung up (a poll of its socket)
HANGUP_LOOK_SECS = 0.25


def enter(table: LeaseTable, lease: Lease, gone: Callable[[], bool] | None = None) -> None:
    """Run the rest of this thread's call under ``lease`` (of ``table``).

    ``gone`` says whether the caller's connection has hung up: its thread is busy in this
    call, so nobody else would notice, and the lease would outlive its holder by a TTL.
    """
    _local.held = (table, lease)
    _local.gone = gone
    _local.looked = time.monotonic()


def leave() -> None:
    """The call is over: nothing to guard on this thread any more."""
    _local.held = _local.gone = None


def current() -> Lease | None:
    """The lease this thread's call runs under, if any."""
    held = getattr(_local, "held", None)
    return held[1] if held else None


def check() -> None:
    """Raise :class:`LeaseLost` if the current call's lease has ended (or just expired)."""
    held = getattr(_local, "held", None)
    if held is None:
        return
    table, lease = held
    if not lease.revoked.is_set() and table.clock() < lease.expires:
        _check_hangup(table, lease)
        return
    if not lease.revoked.is_set() and table.alive(lease):  # renewed just now
        _check_hangup(table, lease)
        return
    raise LeaseLost(f"{lease.reason}; the call was stopped and did not touch the device again")


def _check_hangup(table: LeaseTable, lease: Lease) -> None:
    """End the connection's leases and raise :class:`LeaseLost` if its client hung up."""
    gone = getattr(_local, "gone", None)
    now = time.monotonic()
    if gone is None or now - _local.looked < HANGUP_LOOK_SECS:
        return
    _local.looked = now
    if gone():
        table.drop_connection(lease.conn_id)  # the device goes to the next waiter now
        raise LeaseLost("the client's connection closed during the call")


def sleep(secs: float) -> None:
    """Sleep ``secs`` seconds, or raise :class:`LeaseLost` as soon as the lease ends."""
    deadline = time.monotonic() + secs
    held = getattr(_local, "held", None)
    while True:
        check()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if held is None:
            time.sleep(left)
        else:
            held[1].revoked.wait(min(left, SLICE_SECS))

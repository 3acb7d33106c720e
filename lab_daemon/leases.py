"""Exclusive, expiring, bound device leases and the fair queue of those waiting for one.

Each device is either FREE or LEASED. A lease is bound to the connection that took it:
only that connection drives the device; its companion (the client's lease keeper) may
renew or release it with the lease's ``key``. A lease ends when it is released, when it
is not renewed before its expiry, or when its connection closes; its ``revoked`` event is
then set, so that a long call running under it stops (see :mod:`lab_daemon.lease_guard`).

Clients that find every device they could use busy wait here, in the daemon, in arrival
order: when a device frees, the longest-waiting client it can serve gets it. Waiters
sleep on one condition with a timeout up to the next expiry, so an expired lease hands
its device on without anyone polling.

>>> table = LeaseTable(["stb-1"])
>>> lease = table.acquire("stb-1", "ci-job-7", 30)
>>> table.snapshot()["stb-1"]["owner"]
'ci-job-7'
>>> table.release(lease.lease_id)
True
"""

from __future__ import annotations

import collections
import enum
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from lab_daemon.connection import LOCAL
from lab_daemon.numbers import number
from pytest_virtualpy.errors import DeviceUnavailable, LeaseLost

MIN_TTL_SECS = 1.0
MAX_TTL_SECS = 3600.0
MAX_WAIT_SECS = 6 * 3600.0  # a nightly job may queue behind others for hours
MAX_TEST_NAME = 300  # characters of a test's name kept with its lease
MAX_WAITERS = 256  # clients waiting on one lab at once
MAX_WAITERS_PER_CONNECTION = 16
MAX_TICKET = 64  # characters of a wait's ticket
_ENDED_KEPT = 4096  # ended lease ids remembered, to say why they ended
GONE_POLL_SECS = 1.0  # how often a waiter looks whether its client is still there

LOCAL_CONN = LOCAL.conn_id  # the connection id of in-process callers

RELEASED = "the device lease was released (by its holder or its lease keeper)"
EXPIRED = "the device lease expired (it was not renewed in time)"
DISCONNECTED = "the device lease ended: the connection that took it closed"
ELSEWHERE = (
    "this lease is held by another connection: a lease works only on the connection "
    "that took it (its lease keeper may renew or release it with the lease's key)"
)


class LeaseState(enum.Enum):
    FREE = "free"
    LEASED = "leased"


@dataclass(eq=False)
class Lease:
    lease_id: str
    device: str
    owner: str
    expires: float  # on the table's clock
    ttl: float
    conn_id: str = LOCAL_CONN  # the connection the lease is bound to
    key: str = field(default_factory=lambda: secrets.token_hex(16))  # for its lease keeper
    since: float = field(default_factory=time.time)  # wall clock, for "held since"
    test: str | None = None  # the test running on the device, as its holder said
    revoked: threading.Event = field(default_factory=threading.Event)  # set when it ends
    reason: str = ""  # why it ended

    def end(self, reason: str) -> None:
        if not self.revoked.is_set():
            self.reason = reason
            self.revoked.set()

    def to_dict(self, now: float) -> dict:
        """Public view of the lease; the id and key stay secret."""
        return {
            "device": self.device,
            "owner": self.owner,
            "expires_in": round(max(0.0, self.expires - now), 3),
            "ttl": self.ttl,
            "since": round(self.since, 3),
            "test": self.test,
        }


@dataclass(eq=False)
class Waiter:
    """One client waiting for any of ``candidates`` (device names)."""

    owner: str
    candidates: tuple[str, ...]
    ttl: float
    conn_id: str
    ticket: str | None = None
    lease: Lease | None = None  # set when a device is granted
    cancelled: str | None = None  # why the wait ended without one


class LeaseTable:
    """Thread-safe lease bookkeeping and queue for a fixed set of device names."""

    def __init__(
        self,
        devices: Iterable[str],
        clock: Callable[[], float] = time.monotonic,
        lab: str = "this lab",
    ):
        self.clock = clock
        self.lab = lab
        self._cond = threading.Condition()
        self._by_device: dict[str, Lease | None] = dict.fromkeys(devices)
        self._by_id: dict[str, Lease] = {}
        self._ended: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._queue: list[Waiter] = []

    # --- internals: the lock (``self._cond``) is held ---------------------------------

    def _end(self, lease: Lease, reason: str) -> None:
        lease.end(reason)
        self._by_id.pop(lease.lease_id, None)
        if self._by_device.get(lease.device) is lease:
            self._by_device[lease.device] = None
        self._ended[lease.lease_id] = reason
        while len(self._ended) > _ENDED_KEPT:
            self._ended.popitem(last=False)

    def _expire(self, now: float) -> None:
        ended = False
        for lease in list(self._by_id.values()):
            if lease.expires <= now:
                self._end(lease, EXPIRED)
                ended = True
        if ended:
            self._dispatch()

    def _grant(self, device: str, owner: str, ttl: float, conn_id: str) -> Lease:
        lease = Lease(secrets.token_hex(12), device, owner, self.clock() + ttl, ttl, conn_id)
        self._by_device[device] = lease
        self._by_id[lease.lease_id] = lease
        return lease

    def _dispatch(self) -> None:
        """Give every free device to the longest-waiting client it can serve."""
        granted = False
        for device, holder in self._by_device.items():
            if holder is not None:
                continue
            for waiter in self._queue:
                if device in waiter.candidates:
                    waiter.lease = self._grant(device, waiter.owner, waiter.ttl, waiter.conn_id)
                    self._queue.remove(waiter)
                    granted = True
                    break
        if granted:
            self._cond.notify_all()

    def _live(self, lease_id: str) -> Lease:
        """The live lease with this id, or :class:`LeaseLost` saying why not."""
        self._expire(self.clock())
        lease = self._by_id.get(lease_id)
        if lease is not None:
            return lease
        reason = self._ended.get(lease_id)
        raise LeaseLost(reason or "unknown lease; lease a device before using it")

    def _authorised(
        self, lease_id: str, conn_id: str | None, key: str | None = None, keyed: bool = False
    ) -> Lease:
        """The live lease, if ``conn_id`` holds it (or, when ``keyed``, ``key`` is its key)."""
        lease = self._live(lease_id)
        if conn_id is None or conn_id == lease.conn_id:
            return lease
        if keyed and isinstance(key, str) and secrets.compare_digest(key, lease.key):
            return lease
        raise LeaseLost(ELSEWHERE)

    def _busy(self, candidates: Sequence[str], waited: float | None) -> DeviceUnavailable:
        now = self.clock()
        held = [(d, self._by_device[d]) for d in candidates if self._by_device[d] is not None]
        if waited is None and len(candidates) == 1 and held:
            (device, lease), *_ = held
            return DeviceUnavailable(
                f"device {device!r} is leased by {lease.owner} for another "
                f"{lease.expires - now:.1f} s"
            )
        holders = ", ".join(
            f"{d} by {lease.owner}" + (f" (running {lease.test})" if lease.test else "")
            for d, lease in held
        )
        if waited is None:
            return DeviceUnavailable(f"all {len(candidates)} devices are leased: {holders}")
        return DeviceUnavailable(
            f"{', '.join(candidates)} still busy after waiting {waited:g} s on lab "
            f"{self.lab}; holders: {holders}"
        )

    # --- taking, keeping and giving back --------------------------------------------

    def acquire(
        self,
        device: str | None,
        owner: str,
        ttl: float,
        *,
        wait_secs: float = 0.0,
        candidates: Sequence[str] | None = None,
        conn_id: str = LOCAL_CONN,
        ticket: str | None = None,
        gone: Callable[[], bool] | None = None,
    ) -> Lease:
        """Lease ``device`` (None: the first free of ``candidates``, default all) to
        ``owner``, waiting up to ``wait_secs`` in arrival order for one to free.

        ``gone()`` says whether the waiting client has hung up (it is asked every
        :data:`GONE_POLL_SECS`): a client killed while it waits loses its place at once.
        """
        ttl = number(ttl, "ttl_secs", MIN_TTL_SECS, MAX_TTL_SECS)
        wait = number(wait_secs, "wait_secs", 0.0, MAX_WAIT_SECS)
        if ticket is not None and (
            not isinstance(ticket, str) or not 0 < len(ticket) <= MAX_TICKET
        ):
            raise ValueError(f"ticket must be a string of 1 to {MAX_TICKET} characters")
        with self._cond:
            if device is not None and device not in self._by_device:
                raise DeviceUnavailable(
                    f"no device {device!r} on this lab; devices: {', '.join(self._by_device)}"
                )
            if candidates is None:
                candidates = [device] if device is not None else list(self._by_device)
            candidates = tuple(d for d in candidates if d in self._by_device)
            if not candidates:
                raise DeviceUnavailable(f"no device on lab {self.lab} to lease")
            self._expire(self.clock())
            for d in candidates:  # nobody waits for a free device: take it
                if self._by_device[d] is None:
                    return self._grant(d, owner, ttl, conn_id)
            if wait <= 0:
                raise self._busy(candidates, None)
            waiter = self._enqueue(Waiter(owner, candidates, ttl, conn_id, ticket))
            deadline = time.monotonic() + wait
            try:
                while waiter.lease is None and waiter.cancelled is None:
                    now = self.clock()
                    self._expire(now)
                    left = deadline - time.monotonic()
                    if waiter.lease is not None or left <= 0:
                        break
                    if gone is not None and gone():
                        waiter.cancelled = "the wait ended: its client hung up"
                        break
                    next_expiry = min(
                        (lease.expires - now for lease in self._by_id.values()), default=left
                    )
                    if gone is not None:
                        next_expiry = min(next_expiry, GONE_POLL_SECS)
                    self._cond.wait(max(0.001, min(left, next_expiry + 0.001)))
            finally:
                if waiter in self._queue:
                    self._queue.remove(waiter)
            if waiter.lease is not None:
                return waiter.lease
            if waiter.cancelled is not None:
                raise DeviceUnavailable(waiter.cancelled)
            raise self._busy(candidates, wait)

    def _enqueue(self, waiter: Waiter) -> Waiter:
        if waiter.ticket is not None and any(w.ticket == waiter.ticket for w in self._queue):
            raise ValueError(
                f"ticket {waiter.ticket!r} already names a wait; use a fresh random one per wait"
            )
        if len(self._queue) >= MAX_WAITERS:
            raise DeviceUnavailable(
                f"{len(self._queue)} clients already wait for a device of lab {self.lab} "
                f"(at most {MAX_WAITERS}); try again later or add devices"
            )
        mine = sum(w.conn_id == waiter.conn_id for w in self._queue)
        if mine >= MAX_WAITERS_PER_CONNECTION:
            raise DeviceUnavailable(
                f"this connection already waits {mine} times on lab {self.lab} "
                f"(at most {MAX_WAITERS_PER_CONNECTION}); cancel a wait first"
            )
        self._queue.append(waiter)
        return waiter

    def cancel_wait(self, ticket: str) -> bool:
        """Drop the wait named ``ticket`` at once (its ``acquire`` raises); False if none."""
        with self._cond:
            for waiter in self._queue:
                if waiter.ticket == ticket:
                    waiter.cancelled = "the wait was cancelled (its client got a device elsewhere)"
                    self._queue.remove(waiter)
                    self._cond.notify_all()
                    return True
            return False

    def check(self, lease_id: str, conn_id: str | None = None) -> Lease:
        """The live lease with this id, held by ``conn_id`` (None: any), or
        :class:`LeaseLost` saying why not."""
        with self._cond:
            return self._authorised(lease_id, conn_id)

    def alive(self, lease: Lease) -> bool:
        """Whether ``lease`` is still live (ending it now if its time ran out)."""
        with self._cond:
            self._expire(self.clock())
            return not lease.revoked.is_set()

    def renew(self, lease_id: str, conn_id: str | None = None, key: str | None = None) -> Lease:
        """Extend a live lease by its TTL: on its connection, or anywhere with its key."""
        with self._cond:
            lease = self._authorised(lease_id, conn_id, key, keyed=True)
            lease.expires = self.clock() + lease.ttl
            return lease

    def set_test(
        self, lease_id: str, test: str | None, conn_id: str | None = None, key: str | None = None
    ) -> Lease:
        """Note which test the holder runs now (shown on the live page and in status)."""
        with self._cond:
            lease = self._authorised(lease_id, conn_id, key, keyed=True)
            lease.test = (str(test)[:MAX_TEST_NAME] or None) if test else None
            return lease

    def release(self, lease_id: str, conn_id: str | None = None, key: str | None = None) -> bool:
        """Free the device held by this lease; False if it was not held."""
        with self._cond:
            try:
                lease = self._authorised(lease_id, conn_id, key, keyed=True)
            except LeaseLost as e:
                if str(e) == ELSEWHERE:
                    raise
                return False
            self._end(lease, RELEASED)
            self._dispatch()
            return True

    def drop_connection(self, conn_id: str) -> int:
        """A connection closed: end its leases and its waits. Returns the leases ended."""
        with self._cond:
            mine = [lease for lease in self._by_id.values() if lease.conn_id == conn_id]
            for lease in mine:
                self._end(lease, DISCONNECTED)
            for waiter in [w for w in self._queue if w.conn_id == conn_id]:
                waiter.cancelled = "the wait ended: its connection closed"
                self._queue.remove(waiter)
            self._dispatch()
            self._cond.notify_all()
            return len(mine)

    # --- looking ------------------------------------------------------------------------

    def state(self, device: str) -> LeaseState:
        with self._cond:
            self._expire(self.clock())
            return LeaseState.FREE if self._by_device[device] is None else LeaseState.LEASED

    def holder(self, device: str) -> Lease | None:
        with self._cond:
            self._expire(self.clock())
            return self._by_device.get(device)

    def waiting(self) -> dict[str, int]:
        """For each device, how many waiting clients it could serve."""
        with self._cond:
            return {d: sum(d in w.candidates for w in self._queue) for d in self._by_device}

    def snapshot(self) -> dict[str, dict | None]:
        with self._cond:
            now = self.clock()
            self._expire(now)
            return {
                d: (lease.to_dict(now) if lease else None) for d, lease in self._by_device.items()
            }

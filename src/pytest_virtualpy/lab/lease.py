"""Keep a device lease alive from the test process.

The renewer runs on its own connection so that a long ``wait_for_match`` on the
main connection never starves it. If the test process dies, renewals stop and
the daemon frees the device when the TTL runs out: no stale locks.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

from pytest_virtualpy.errors import DeviceUnavailable, LabConnectionError, LabError, LeaseLost
from pytest_virtualpy.lab.client import LabClient

log = logging.getLogger(__name__)


class LeaseStatus(enum.Enum):
    HELD = "held"
    LOST = "lost"
    RELEASED = "released"
    DEAD = "dead"  # the lab stopped answering the heartbeat


#: how often the keeper renews (its heartbeat), unless a third of the TTL is shorter
HEARTBEAT_SECS = 1.5
#: how long one heartbeat renewal may take before it counts as unanswered
HEARTBEAT_TIMEOUT_SECS = 4.0
#: no answered heartbeat for this long: the lab is dead (hung daemon, stalled network).
#: Generous: a loaded but healthy daemon answers renewals in milliseconds.
DEAD_AFTER_SECS = 10.0


def acquire(
    client: LabClient,
    device: str | None,
    owner: str,
    ttl_secs: float,
    wait_secs: float,
    poll_secs: float = 0.5,
) -> dict:
    """Lease ``device`` (None: any free one), waiting up to ``wait_secs`` for one to be free."""
    deadline = time.monotonic() + wait_secs
    while True:
        try:
            return client.lease(device, owner, ttl_secs)
        except DeviceUnavailable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(poll_secs)


class LeaseKeeper:
    """Renews one lease, and is the heartbeat that tells a dead lab from a busy one.

    It renews every :data:`HEARTBEAT_SECS` (or a third of the TTL, if shorter) on its
    own companion connection, with a short per-call expiry. Each connection is served
    by its own daemon thread, so a healthy daemon answers promptly even while the main
    connection runs a minute-long ``wait_for_match``. When no renewal has been answered
    for ``dead_after_secs`` (the daemon is hung, stopped or the network stalled), the
    keeper calls ``on_dead(reason)`` once: the session passes the main connection's
    :meth:`LabClient.abort`, which ends its call in flight at once.

    >>> keeper = LeaseKeeper(connect, lease["lease_id"], 30, on_dead=client.abort)  # doctest: +SKIP
    >>> keeper.start()  # doctest: +SKIP
    """

    def __init__(
        self,
        connect: Callable[[], LabClient],
        lease_id: str,
        ttl_secs: float,
        *,
        on_dead: Callable[[str], None] | None = None,
        key: str | None = None,
        heartbeat_secs: float = HEARTBEAT_SECS,
        dead_after_secs: float = DEAD_AFTER_SECS,
    ):
        self._connect = connect
        self.lease_id = lease_id
        self.key = key  # the lease reply's "key": renewals come from another connection
        self.ttl_secs = ttl_secs
        self.status = LeaseStatus.HELD
        self.reason = ""
        self.on_dead = on_dead
        self.period_secs = min(heartbeat_secs, ttl_secs / 3)
        self.dead_after_secs = dead_after_secs
        self._answered = time.monotonic()  # when the daemon last answered a renewal
        self._misses = 0  # renewals unanswered since then
        self._stop = threading.Event()
        self._client: LabClient | None = None
        self._thread = threading.Thread(target=self._run, name="virtualpy-lease", daemon=True)
        self._watchdog = threading.Thread(
            target=self._watch, name="virtualpy-lab-watchdog", daemon=True
        )

    def start(self) -> LeaseKeeper:
        self._answered = time.monotonic()
        self._thread.start()
        self._watchdog.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period_secs):
            try:
                client = self._client
                if client is None or client.closed:
                    client = self._client = self._connect()
                    client.call_margin_secs = HEARTBEAT_TIMEOUT_SECS
            except LabError as e:  # a refused or timed-out (re)connection is no answer
                self._missed(e)
                continue
            try:
                client.renew(self.lease_id, self.key)
                self._answered, self._misses = time.monotonic(), 0
            except LeaseLost as e:
                self.status, self.reason = LeaseStatus.LOST, str(e)
                log.warning("device lease lost: %s", e)
                break
            except LabConnectionError as e:  # no answer: retry while the TTL allows
                self._missed(e)
                self._drop_client()
            except LabError as e:  # the daemon answered, with an error: it is alive
                self._answered, self._misses = time.monotonic(), 0
                log.warning("could not renew the device lease: %s", e)
                self._drop_client()
        self._drop_client()

    def _missed(self, error: LabError) -> None:
        if not self._misses:  # once per outage, not every heartbeat
            log.warning("could not renew the device lease: %s", error)
        self._misses += 1

    def _watch(self) -> None:
        """Declare the lab dead once the heartbeat has gone unanswered too long.

        Silence alone is not enough: a renewal must also have failed, so a test process
        that was itself paused (a debugger, a suspended laptop) does not blame the lab.
        """
        while not self._stop.wait(0.25):
            silent = time.monotonic() - self._answered
            if silent < self.dead_after_secs or not self._misses:
                continue
            reason = (
                f"stopped answering: the lease keeper's heartbeat got no reply for "
                f"{silent:.0f} s (the daemon is hung, or the network to it is cut or "
                "stalled); check the lab host"
            )
            self.status, self.reason = LeaseStatus.DEAD, reason
            log.warning("lab declared dead: %s", reason)
            self._stop.set()
            if self.on_dead is not None:  # first: the test's call in flight must end
                self.on_dead(reason)
            self._drop_client()
            return

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.abort("is no longer used by the lease keeper")
            client.close()

    def check(self) -> None:
        """Raise :class:`LeaseLost` if renewal has failed for good, or
        :class:`LabConnectionError` if the lab stopped answering."""
        if self.status is LeaseStatus.LOST:
            raise LeaseLost(self.reason)
        if self.status is LeaseStatus.DEAD:
            raise LabConnectionError(self.reason)

    def stop(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None:  # wake a renewal stuck on a hung daemon
            client.abort("is no longer used by the lease keeper")
        self._thread.join(timeout=2)
        self._watchdog.join(timeout=2)
        if self.status is LeaseStatus.HELD:
            self.status = LeaseStatus.RELEASED

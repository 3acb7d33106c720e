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

from pytest_virtualpy.errors import DeviceUnavailable, LabError, LeaseLost
from pytest_virtualpy.lab.client import LabClient

log = logging.getLogger(__name__)


class LeaseStatus(enum.Enum):
    HELD = "held"
    LOST = "lost"
    RELEASED = "released"


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
    """Renews one lease every third of its TTL until stopped."""

    def __init__(self, connect: Callable[[], LabClient], lease_id: str, ttl_secs: float):
        self._connect = connect
        self.lease_id = lease_id
        self.ttl_secs = ttl_secs
        self.status = LeaseStatus.HELD
        self.reason = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="virtualpy-lease", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        client: LabClient | None = None
        while not self._stop.wait(self.ttl_secs / 3):
            try:
                if client is None or client.closed:
                    client = self._connect()
                client.renew(self.lease_id)
            except LeaseLost as e:
                self.status, self.reason = LeaseStatus.LOST, str(e)
                log.warning("device lease lost: %s", e)
                break
            except LabError as e:  # transient: retry next period while the TTL allows
                log.warning("could not renew the device lease: %s", e)
                if client is not None:
                    client.close()
                client = None
        if client is not None:
            client.close()

    def check(self) -> None:
        """Raise :class:`LeaseLost` if renewal has failed for good."""
        if self.status is LeaseStatus.LOST:
            raise LeaseLost(self.reason)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.status is LeaseStatus.HELD:
            self.status = LeaseStatus.RELEASED

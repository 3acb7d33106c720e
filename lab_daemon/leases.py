"""Exclusive, expiring device leases: the daemon's answer to stale locks.

Each device is either FREE or LEASED; a lease that is not renewed before its
expiry becomes FREE again the next time anyone looks, so a killed CI job never
leaves a device locked for longer than its TTL.
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pytest_virtualpy.errors import DeviceUnavailable, LeaseLost

MIN_TTL_SECS = 1.0
MAX_TTL_SECS = 3600.0
MAX_TEST_NAME = 300  # characters of a test's name kept with its lease


class LeaseState(enum.Enum):
    FREE = "free"
    LEASED = "leased"


@dataclass
class Lease:
    lease_id: str
    device: str
    owner: str
    expires: float
    ttl: float
    since: float = field(default_factory=time.time)  # wall clock, for "held since"
    test: str | None = None  # the test running on the device, as its holder said

    def to_dict(self, now: float) -> dict:
        """Public view of the lease; the id stays secret, it is the holder's key."""
        return {
            "device": self.device,
            "owner": self.owner,
            "expires_in": round(max(0.0, self.expires - now), 3),
            "ttl": self.ttl,
            "since": round(self.since, 3),
            "test": self.test,
        }


class LeaseTable:
    """Thread-safe lease bookkeeping for a fixed set of device names."""

    def __init__(self, devices: Iterable[str], clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._by_device: dict[str, Lease | None] = dict.fromkeys(devices)
        self._expired_ids: set[str] = set()

    def _expire(self, now: float) -> None:
        for device, lease in self._by_device.items():
            if lease is not None and lease.expires <= now:
                self._expired_ids.add(lease.lease_id)
                self._by_device[device] = None

    def state(self, device: str) -> LeaseState:
        with self._lock:
            self._expire(self._clock())
            return LeaseState.FREE if self._by_device[device] is None else LeaseState.LEASED

    def holder(self, device: str) -> Lease | None:
        with self._lock:
            self._expire(self._clock())
            return self._by_device.get(device)

    def acquire(self, device: str | None, owner: str, ttl: float) -> Lease:
        """Lease ``device`` (or, if None, the first free device) to ``owner``."""
        ttl = min(max(float(ttl), MIN_TTL_SECS), MAX_TTL_SECS)
        with self._lock:
            now = self._clock()
            self._expire(now)
            if device is None:
                free = [d for d, lease in self._by_device.items() if lease is None]
                if not free:
                    raise DeviceUnavailable(
                        f"all {len(self._by_device)} devices are leased: "
                        + ", ".join(
                            f"{d} by {lease.owner}"
                            for d, lease in self._by_device.items()
                            if lease is not None
                        )
                    )
                device = free[0]
            if device not in self._by_device:
                raise DeviceUnavailable(
                    f"no device {device!r} on this lab; devices: {', '.join(self._by_device)}"
                )
            current = self._by_device[device]
            if current is not None:
                raise DeviceUnavailable(
                    f"device {device!r} is leased by {current.owner} for another "
                    f"{current.expires - now:.1f} s"
                )
            lease = Lease(secrets.token_hex(12), device, owner, now + ttl, ttl)
            self._by_device[device] = lease
            return lease

    def _live(self, lease_id: str) -> Lease:
        """The live lease with this id, or :class:`LeaseLost`; the lock is held."""
        self._expire(self._clock())
        for lease in self._by_device.values():
            if lease is not None and lease.lease_id == lease_id:
                return lease
        if lease_id in self._expired_ids:
            raise LeaseLost("the device lease expired (it was not renewed in time)")
        raise LeaseLost("unknown lease; lease a device before using it")

    def check(self, lease_id: str) -> Lease:
        """Return the live lease with this id, or raise :class:`LeaseLost`."""
        with self._lock:
            return self._live(lease_id)

    def renew(self, lease_id: str) -> Lease:
        """Extend a live lease by its TTL."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            for lease in self._by_device.values():
                if lease is not None and lease.lease_id == lease_id:
                    lease.expires = now + lease.ttl
                    return lease
        return self.check(lease_id)  # raises LeaseLost with the right message

    def set_test(self, lease_id: str, test: str | None) -> Lease:
        """Note which test the holder runs now (shown on the live page and in status)."""
        with self._lock:
            lease = self._live(lease_id)
            lease.test = (str(test)[:MAX_TEST_NAME] or None) if test else None
            return lease

    def release(self, lease_id: str) -> bool:
        """Free the device held by this lease; False if it was not held."""
        with self._lock:
            for device, lease in self._by_device.items():
                if lease is not None and lease.lease_id == lease_id:
                    self._by_device[device] = None
                    return True
            return False

    def snapshot(self) -> dict[str, dict | None]:
        with self._lock:
            now = self._clock()
            self._expire(now)
            return {
                d: (lease.to_dict(now) if lease else None) for d, lease in self._by_device.items()
            }

"""Exclusive, expiring leases: in the table itself and end to end over RPyC."""

from __future__ import annotations

import time

import pytest

from lab_daemon.leases import LeaseState, LeaseTable
from pytest_virtualpy.errors import DeviceUnavailable, LeaseLost
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.lease import LeaseKeeper, LeaseStatus


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_lease_is_exclusive():
    table = LeaseTable(["a", "b"], clock=FakeClock())
    first = table.acquire("a", "alice", 10)
    with pytest.raises(DeviceUnavailable, match="leased by alice"):
        table.acquire("a", "bob", 10)
    assert table.acquire(None, "bob", 10).device == "b"
    with pytest.raises(DeviceUnavailable, match="all 2 devices are leased"):
        table.acquire(None, "carol", 10)
    assert table.check(first.lease_id).owner == "alice"


def test_lease_expires_unless_renewed():
    clock = FakeClock()
    table = LeaseTable(["a"], clock=clock)
    lease = table.acquire("a", "alice", 10)
    clock.t += 8
    table.renew(lease.lease_id)
    clock.t += 8  # 16 s after acquiring, 8 after renewing: still held
    assert table.state("a") is LeaseState.LEASED
    clock.t += 3
    assert table.state("a") is LeaseState.FREE
    with pytest.raises(LeaseLost, match="expired"):
        table.check(lease.lease_id)
    with pytest.raises(LeaseLost):
        table.renew(lease.lease_id)
    assert table.acquire("a", "bob", 10).owner == "bob"


def test_release_frees_and_unknown_ids_are_rejected():
    table = LeaseTable(["a"], clock=FakeClock())
    lease = table.acquire("a", "alice", 10)
    assert table.release(lease.lease_id)
    assert not table.release(lease.lease_id)
    with pytest.raises(LeaseLost, match="unknown lease"):
        table.check("made-up")
    with pytest.raises(DeviceUnavailable, match="no device 'zz'"):
        table.acquire("zz", "alice", 10)


def test_snapshot_does_not_leak_lease_ids():
    table = LeaseTable(["a"], clock=FakeClock())
    lease = table.acquire("a", "alice", 10)
    snap = table.snapshot()
    assert snap["a"]["owner"] == "alice"
    assert lease.lease_id not in repr(snap)


def test_leases_over_rpyc(connect):
    alice, bob = connect(), connect()
    lease = alice.lease(None, "alice", 30)
    with pytest.raises(DeviceUnavailable, match="leased by alice"):
        bob.lease(lease["name"], "bob", 30)
    # bob cannot drive alice's device without her lease id
    with pytest.raises(LeaseLost):
        bob.call("press", "not-a-lease", "KEY_OK", None)
    listing = {d["name"]: d for d in bob.list_devices()}
    assert listing[lease["name"]]["lease"]["owner"] == "alice"
    assert alice.release(lease["lease_id"])
    again = bob.lease(lease["name"], "bob", 30)
    bob.release(again["lease_id"])


def test_unrenewed_lease_expires_over_rpyc(connect):
    alice, bob = connect(), connect()
    lease = alice.lease(None, "alice-killed", 1.0)
    time.sleep(1.3)
    taken = bob.lease(lease["name"], "bob", 30)
    with pytest.raises(LeaseLost, match="expired"):
        DeviceClient(alice, lease).press("KEY_OK")
    bob.release(taken["lease_id"])


def test_keeper_renews_in_background(connect):
    client = connect()
    lease = client.lease(None, "kept", 1.0)
    keeper = LeaseKeeper(connect, lease["lease_id"], 1.0).start()
    try:
        time.sleep(2.5)
        assert keeper.status is LeaseStatus.HELD
        DeviceClient(client, lease).press("KEY_INFO")  # still ours
    finally:
        keeper.stop()
        client.release(lease["lease_id"])
    assert keeper.status is LeaseStatus.RELEASED

"""Exclusive, expiring leases: in the table itself and end to end over RPyC."""

from __future__ import annotations

import threading
import time

import pytest

from lab_daemon.leases import MAX_WAITERS_PER_CONNECTION, LeaseState, LeaseTable
from pytest_virtualpy.errors import DeviceUnavailable, LabConnectionError, LeaseLost
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
    keeper = LeaseKeeper(connect, lease["lease_id"], 1.0, key=lease["key"]).start()
    try:
        time.sleep(2.5)
        assert keeper.status is LeaseStatus.HELD
        DeviceClient(client, lease).press("KEY_INFO")  # still ours
    finally:
        keeper.stop()
        client.release(lease["lease_id"])
    assert keeper.status is LeaseStatus.RELEASED


# --- the queue and the binding, in the table itself (real clock, real threads) -------------


def _in_thread(fn, *args, **kwargs) -> dict:
    out: dict = {}

    def run():
        try:
            out["result"] = fn(*args, **kwargs)
        except Exception as e:
            out["error"] = e
        out["at"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    out["thread"] = thread
    return out


def test_an_expired_lease_hands_its_device_on_without_anyone_polling():
    table = LeaseTable(["a"])
    alice = table.acquire("a", "alice", 1.0, conn_id="c1")  # never renewed
    start = time.monotonic()
    bob = _in_thread(table.acquire, None, "bob", 10, wait_secs=10, conn_id="c2")
    bob["thread"].join(5)
    assert bob["result"].owner == "bob"
    assert 0.8 <= bob["at"] - start < 2.0  # at alice's expiry, not at some later look
    assert alice.revoked.is_set() and "expired" in alice.reason


def test_table_binds_leases_to_their_connection():
    table = LeaseTable(["a"], clock=FakeClock())
    lease = table.acquire("a", "alice", 10, conn_id="c1")
    assert table.check(lease.lease_id, "c1") is lease
    with pytest.raises(LeaseLost, match="held by another connection"):
        table.check(lease.lease_id, "c2")
    with pytest.raises(LeaseLost, match="held by another connection"):
        table.renew(lease.lease_id, "c2")
    assert table.renew(lease.lease_id, "c2", lease.key) is lease  # its keeper, with the key
    with pytest.raises(LeaseLost, match="held by another connection"):
        table.release(lease.lease_id, "c2", "wrong")
    assert table.drop_connection("c1") == 1
    assert lease.revoked.is_set() and "connection that took it closed" in lease.reason
    assert table.state("a") is LeaseState.FREE


def test_waits_are_bounded_and_cancellable():
    table = LeaseTable(["a"])
    table.acquire("a", "holder", 30)
    waits = [
        _in_thread(table.acquire, None, f"w{i}", 10, wait_secs=30, conn_id="c", ticket=f"t{i}")
        for i in range(MAX_WAITERS_PER_CONNECTION)
    ]
    end = time.monotonic() + 5
    while table.waiting()["a"] < MAX_WAITERS_PER_CONNECTION and time.monotonic() < end:
        time.sleep(0.01)
    with pytest.raises(DeviceUnavailable, match="already waits 16 times"):
        table.acquire(None, "greedy", 10, wait_secs=30, conn_id="c")
    with pytest.raises(ValueError, match="already names a wait"):
        table.acquire(None, "copycat", 10, wait_secs=30, conn_id="d", ticket="t0")
    assert table.cancel_wait("t3")
    waits[3]["thread"].join(2)
    assert "cancelled" in str(waits[3]["error"])
    assert table.drop_connection("c") == 0  # no leases, but every wait of c ends
    for w in waits:
        w["thread"].join(2)
        assert isinstance(w.get("error"), DeviceUnavailable)
    assert table.waiting() == {"a": 0}


def test_abort_on_a_connection_already_closed_never_raises(connect):
    """The lease keeper aborts from its own thread; a stream the daemon's death already
    closed must not kill that thread (seen as an unhandled thread exception)."""
    client = connect()
    client._conn._channel.stream.close()  # what EOF from a killed daemon leaves behind
    client.abort("stopped answering")
    with pytest.raises(LabConnectionError, match="stopped answering"):
        client.hello()

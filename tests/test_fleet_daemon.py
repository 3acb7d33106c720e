"""The daemon's fair queue and bound leases, over real RPyC to real daemon processes.

Waiting happens in the daemon, in arrival order; requirements pick the devices a client
may get; a lease works only on the connection that took it (its keeper renews and
releases it elsewhere with the lease's key) and ends when that connection closes.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import subprocess
import sys
import time

import pytest

from pytest_virtualpy.errors import BadArgument, DeviceUnavailable, LeaseLost
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.local import start_sim_lab
from tests.conftest import client_opener, wait_until
from tests.fleet_peers import NEVER, Background, mixed_lab

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    """A daemon with one simulated box, for queueing tests."""
    lab = start_sim_lab(1, fps=10, boot_secs=0.5, workdir=tmp_path_factory.mktemp("solo"))
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    lab = mixed_lab(tmp_path_factory.mktemp("mixed"))
    yield lab
    lab.stop()


@pytest.fixture
def on_solo(solo):
    with client_opener(solo, "fleet-tests") as open_client:
        yield open_client


@pytest.fixture
def on_mixed(mixed):
    with client_opener(mixed, "fleet-tests") as open_client:
        yield open_client


def _waiting(client: LabClient) -> dict[str, int]:
    return {d["name"]: d["waiting"] for d in client.list_devices()}


def _queue(open_client, watcher, owner, count, **kwargs) -> Background:
    """Start a waiting lease on a new connection; return once the daemon counts it."""
    client = open_client()
    before = sum(_waiting(watcher).values())
    call = Background(client.lease, None, owner, 30, **kwargs)
    call.client = client
    wait_until(lambda: sum(_waiting(watcher).values()) >= before + count, timeout=10)
    return call


def test_waiters_get_the_device_in_arrival_order(on_solo):
    holder, watcher = on_solo(), on_solo()
    first = holder.lease(None, "holder", 30)
    waiters = [_queue(on_solo, watcher, f"w{i}", 1, wait_secs=60) for i in range(4)]
    assert _waiting(watcher) == {first["name"]: 4}
    listing = watcher.list_devices()[0]
    assert listing["lease"]["owner"] == "holder"  # the holder is shown beside the queue
    holder.release(first["lease_id"])
    for i, call in enumerate(waiters):  # each gets it in turn, while the later ones wait
        call.join(15)
        assert call.error is None, call.error
        assert call.result["name"] == first["name"]
        assert all(w.running for w in waiters[i + 1 :]), f"w{i} was not served first"
        assert _waiting(watcher) == {first["name"]: len(waiters) - i - 1}
        call.client.release(call.result["lease_id"])


def test_wait_runs_out_naming_the_holders(on_solo):
    holder, other = on_solo(), on_solo()
    lease = holder.lease(None, "nightly-42", 30)
    started = time.monotonic()
    with pytest.raises(DeviceUnavailable, match=r"still busy after waiting 1\.5 s") as e:
        other.lease(None, "impatient", 30, wait_secs=1.5)
    assert 1.4 <= time.monotonic() - started < 10
    assert "holders: " in str(e.value) and "nightly-42" in str(e.value)
    holder.release(lease["lease_id"])


def test_cancel_wait_drops_the_place_at_once(on_solo):
    holder, watcher, canceller = on_solo(), on_solo(), on_solo()
    lease = holder.lease(None, "holder", 30)
    ticket = secrets.token_hex(8)
    cancelled = _queue(on_solo, watcher, "leaves", 1, wait_secs=60, ticket=ticket)
    stays = _queue(on_solo, watcher, "stays", 1, wait_secs=60, ticket=secrets.token_hex(8))
    asked = time.monotonic()
    assert canceller.cancel_wait(ticket) is True
    cancelled.join(5)
    assert cancelled.ended - asked < 2.0
    assert isinstance(cancelled.error, DeviceUnavailable)
    assert "the wait was cancelled" in str(cancelled.error)
    assert sum(_waiting(watcher).values()) == 1
    assert canceller.cancel_wait(ticket) is False  # already gone
    holder.release(lease["lease_id"])
    stays.join(10)
    assert stays.error is None and stays.result["name"] == lease["name"]


def test_a_lease_works_only_on_its_connection(on_solo):
    alice, bob = on_solo(), on_solo()
    lease = alice.lease(None, "alice", 30)
    stolen = DeviceClient(bob, lease)  # bob saw the lease id on the wire
    for call in (
        lambda: stolen.press("KEY_OK"),
        lambda: stolen.get_frame(),
        lambda: stolen.serial_write(b"reboot\n"),
        lambda: stolen.power("off"),
        lambda: stolen.set_test("tests/x.py::hijack"),
    ):
        with pytest.raises(LeaseLost, match="held by another connection"):
            call()
    with pytest.raises(LeaseLost, match="held by another connection"):
        bob.renew(lease["lease_id"])
    with pytest.raises(LeaseLost, match="held by another connection"):
        bob.release(lease["lease_id"])
    with pytest.raises(LeaseLost, match="held by another connection"):
        bob.renew(lease["lease_id"], "not-the-key")
    # the holder's companion connection (its lease keeper) renews with the key
    assert bob.renew(lease["lease_id"], lease["key"])["device"] == lease["name"]
    DeviceClient(alice, lease).press("KEY_INFO")  # still alice's
    assert bob.release(lease["lease_id"], lease["key"]) is True
    with pytest.raises(LeaseLost, match="released"):
        DeviceClient(alice, lease).press("KEY_INFO")


def test_closing_the_holder_connection_frees_its_device_at_once(on_solo):
    alice, bob = on_solo(), on_solo()
    lease = alice.lease(None, "alice", 600)  # a TTL far longer than the test
    waiting = Background(bob.lease, None, "bob", 30, wait_secs=30)
    time.sleep(0.3)
    closed = time.monotonic()
    alice.close()
    waiting.join(10)
    assert waiting.error is None and waiting.result["name"] == lease["name"]
    assert waiting.ended - closed < 3.0
    bob.release(waiting.result["lease_id"])


def test_a_client_killed_while_waiting_loses_its_place(solo, on_solo):
    holder, watcher = on_solo(), on_solo()
    lease = holder.lease(None, "holder", 30)
    script = (
        "import os\n"
        "from pytest_virtualpy.lab.client import LabClient\n"
        "c = LabClient.connect(os.environ['LAB'], os.environ['TOKEN'], client_name='doomed')\n"
        "c.lease(None, 'doomed', 30, wait_secs=120)\n"
    )
    env = dict(os.environ, LAB=solo.address, TOKEN=solo.token)
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        wait_until(lambda: _waiting(watcher)[lease["name"]] == 1, timeout=30)
        proc.kill()
        proc.wait(5)
        killed = time.monotonic()
        wait_until(lambda: _waiting(watcher)[lease["name"]] == 0, timeout=10)
        assert time.monotonic() - killed < 3.0
    finally:
        proc.kill()
    holder.release(lease["lease_id"])
    assert watcher.list_devices()[0]["lease"] is None  # nobody got it: the ghost is gone


def test_a_holder_killed_during_a_long_call_frees_its_device_at_once(solo, on_solo):
    """Its connection's thread is busy in a 60 s wait, yet the hang-up is noticed."""
    watcher = on_solo()
    script = (
        "import os, sys\n"
        "from pytest_virtualpy.lab.client import LabClient\n"
        "from pytest_virtualpy.lab.device import DeviceClient\n"
        "c = LabClient.connect(os.environ['LAB'], os.environ['TOKEN'], client_name='doomed')\n"
        "d = DeviceClient(c, c.lease(None, 'doomed', 600))\n"
        "print('leased', flush=True)\n"
        "d.wait_for_match(bytes.fromhex(os.environ['NEVER']), None, None, 60, 1)\n"
    )
    env = dict(os.environ, LAB=solo.address, TOKEN=solo.token, NEVER=NEVER.hex())
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"leased"
        time.sleep(1.0)  # the wait_for_match is running in the daemon now
        assert watcher.list_devices()[0]["lease"]["owner"] == "doomed"
        proc.kill()
        proc.wait(5)
        killed = time.monotonic()
        lease = watcher.lease(None, "next", 30, wait_secs=20)
        assert time.monotonic() - killed < 3.0  # not the 600 s TTL, nor the 60 s wait
        watcher.release(lease["lease_id"])
    finally:
        proc.kill()


@pytest.mark.parametrize(
    "ttl, wait",
    [(math.nan, 0), (math.inf, 0), (-math.inf, 0), (0.5, 0), (1e9, 0), (30, math.nan), (30, 21601)],
)
def test_non_finite_or_out_of_range_lease_times_are_refused(on_solo, ttl, wait):
    client = on_solo()
    with pytest.raises(BadArgument, match="ttl_secs|wait_secs"):
        client.lease(None, "bad", ttl, wait_secs=wait)
    assert all(d["lease"] is None for d in client.list_devices())  # nothing was leased


def test_key_presses_are_recorded_with_their_lease(on_solo):
    client = on_solo()
    lease = client.lease(None, "recorder", 30)
    device = DeviceClient(client, lease)
    device.press("KEY_INFO")
    assert device.sim_events()[-1]["lease"] == lease["lease_id"]
    client.release(lease["lease_id"])


# --- requirements, on a lab of unlike devices ---------------------------------------------


def test_requirements_pick_the_device(on_mixed):
    client = on_mixed()
    serial = client.lease(None, "s", 30, requirements={"capabilities": ["serial", "remote"]})
    assert serial["name"] == "box"
    tv = client.lease(None, "m", 30, requirements=json.dumps({"model": "plain-tv"}))
    assert tv["name"] == "tv" and tv["capabilities"] == ["video"]
    client.release(serial["lease_id"])
    client.release(tv["lease_id"])


def test_no_device_could_ever_match(on_mixed):
    client = on_mixed()
    with pytest.raises(DeviceUnavailable, match="^no device on lab mixed matches") as e:
        client.lease(None, "x", 30, wait_secs=30, requirements={"model": "acme-4k"})
    message = str(e.value)
    assert "box (model VPY-STB-1: video, remote, power, serial, audio, sim)" in message
    assert "tv (model plain-tv: video)" in message
    with pytest.raises(DeviceUnavailable, match="^no device on lab mixed matches"):
        client.lease("tv", "x", 30, requirements={"capabilities": ["serial"]})
    with pytest.raises(BadArgument, match="unknown capability 'teleport'"):
        client.lease(None, "x", 30, requirements={"capabilities": ["teleport"]})


def test_a_freed_device_goes_to_the_longest_waiter_it_can_serve(on_mixed):
    holder, watcher = on_mixed(), on_mixed()
    box = holder.lease("box", "holder", 60)
    tv = holder.lease("tv", "holder", 60)
    needs_serial = {"capabilities": ["serial"]}
    a = _queue(on_mixed, watcher, "a-serial", 1, wait_secs=60, requirements=needs_serial)
    b = _queue(on_mixed, watcher, "b-any", 2, wait_secs=60)
    c = _queue(on_mixed, watcher, "c-tv", 1, wait_secs=60, requirements={"model": "plain-tv"})
    assert _waiting(watcher) == {"box": 2, "tv": 2}  # a and b could use box; b and c tv
    holder.release(tv["lease_id"])  # a cannot use it; b waited longer than c
    b.join(10)
    assert b.error is None and b.result["name"] == "tv"
    assert a.running and c.running
    holder.release(box["lease_id"])
    a.join(10)
    assert a.error is None and a.result["name"] == "box"
    b.client.release(b.result["lease_id"])
    c.join(10)
    assert c.error is None and c.result["name"] == "tv"
    a.client.release(a.result["lease_id"])
    c.client.release(c.result["lease_id"])

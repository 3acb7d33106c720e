"""A long call stops within 1 s of its lease ending, and never touches the device after.

Each long call runs on the holder's connection while the lease ends one of two ways:
its companion connection (the lease keeper) releases it with the key, or it silently
expires (a 2 s TTL nobody renews). Real daemon process, real RPyC, simulated box.
"""

from __future__ import annotations

import time

import pytest

from pytest_virtualpy.errors import LeaseLost
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.local import start_sim_lab
from tests.conftest import client_opener, wait_until
from tests.fleet_peers import NEVER, Background

pytestmark = pytest.mark.timeout(120)

TTL = 2.0  # the silently expiring lease
WITHIN = 1.0  # the bound: a lost lease stops a call within 1 s


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = start_sim_lab(1, fps=10, boot_secs=0.5, workdir=tmp_path_factory.mktemp("midcall"))
    yield lab
    lab.stop()


@pytest.fixture
def connect(lab):
    with client_opener(lab, "midcall-tests") as open_client:
        yield open_client


def _ready(connect) -> None:
    """Leave the box on, booted and on its home screen (under a lease of its own)."""
    client = connect()
    lease = client.lease(None, "setup", 30, wait_secs=10)
    dev = DeviceClient(client, lease)
    if not dev.power("status")["on"]:
        dev.power("on")
    wait_until(lambda: dev.sim_state()["screen"] not in ("boot", "off"), timeout=20)
    dev.press("KEY_HOME")
    wait_until(lambda: dev.sim_state()["screen"] == "home")
    client.release(lease["lease_id"])


LONG_CALLS = {
    "wait_for_match": lambda d: d.wait_for_match(NEVER, (0, 0, 320, 180), None, 60.0, 1),
    "serial_expect": lambda d: d.serial_expect("this never appears", 60.0),
    "press_and_wait": lambda d: d.press_and_wait("KEY_INFO", None, None, 60.0, 30.0, None),
    "power_cycle": lambda d: d.power("cycle", 3.0),
    "wait_for_audio": lambda d: d.wait_for_audio(0.0, 60.0),  # 0 dBFS: never that loud
}


def _run_until_lease_ends(connect, call: str, how: str) -> tuple[Background, float, dict]:
    """Start ``call`` under a fresh lease, end the lease ``how``; (call, when it ended, lease)."""
    _ready(connect)
    holder, companion = connect(), connect()
    lease = holder.lease(None, "holder", TTL if how == "expiry" else 30)
    granted = time.monotonic()
    running = Background(LONG_CALLS[call], DeviceClient(holder, lease))
    if how == "release":
        time.sleep(1.0)
        assert running.running, f"{call} ended before its lease: {running.error}"
        assert companion.release(lease["lease_id"], lease["key"]) is True
        ended = time.monotonic()
    else:
        ended = granted + TTL  # the daemon's expiry is at most this late
        time.sleep(TTL - 0.8)
        assert running.running, f"{call} ended before its lease: {running.error}"
    running.join(15)
    return running, ended, lease


@pytest.mark.parametrize("how", ["release", "expiry"])
@pytest.mark.parametrize("call", list(LONG_CALLS))
def test_a_long_call_stops_within_a_second_of_its_lease_ending(connect, call, how):
    running, ended, _ = _run_until_lease_ends(connect, call, how)
    assert isinstance(running.error, LeaseLost), running.error or running.result
    assert ("released" if how == "release" else "expired") in str(running.error)
    assert running.ended - ended < WITHIN, f"{call} ran {running.ended - ended:.2f} s too long"


@pytest.mark.parametrize("how", ["release", "expiry"])
def test_a_lost_power_cycle_leaves_the_device_off(connect, how):
    running, _, _ = _run_until_lease_ends(connect, "power_cycle", how)
    assert isinstance(running.error, LeaseLost)
    client = connect()
    dev = DeviceClient(client, client.lease(None, "next", 30, wait_secs=10))
    assert dev.power("status")["on"] is False
    time.sleep(running.started + 3.5 - time.monotonic())  # past the cycle's 3 s off period
    assert dev.power("status")["on"] is False, "the lost cycle switched the device back on"
    dev.power("on")


def test_a_lost_expect_leaves_the_next_holders_output_alone(connect):
    running, _, lease = _run_until_lease_ends(connect, "serial_expect", "release")
    assert isinstance(running.error, LeaseLost)
    client = connect()
    dev = DeviceClient(client, client.lease(lease["name"], "next", 30, wait_secs=10))
    dev.serial_write(b"\nversion\n")
    found = dev.serial_expect(r"firmware \d", 10.0)
    assert found["matched"], found


def test_the_next_holder_starts_with_an_empty_serial_buffer(connect):
    _ready(connect)
    first = connect()
    lease = first.lease(None, "first", 30)
    DeviceClient(first, lease).serial_write(b"\nhelp\n")  # output nobody reads
    time.sleep(1.0)
    first.release(lease["lease_id"])
    second = connect()
    dev = DeviceClient(second, second.lease(lease["name"], "second", 30))
    assert dev.serial_read(0.5) == b""

"""Shared fixtures: a real simulated lab daemon over real RPyC."""

from __future__ import annotations

import contextlib
import textwrap
import time
from collections.abc import Iterator

import pytest

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.local import LocalLab, start_sim_lab

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Keep per-user state (the index of unshipped spools) out of the real home folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def sim_lab(tmp_path_factory) -> LocalLab:
    """One daemon process serving three simulated boxes for the whole test session."""
    lab = start_sim_lab(3, boot_secs=0.5, workdir=tmp_path_factory.mktemp("lab"))
    yield lab
    lab.stop()


@pytest.fixture
def sim_project(pytester, sim_lab, monkeypatch):
    """A pytester project whose labs.toml names the session's simulated lab ``bench-a``."""
    monkeypatch.setenv("BENCH_A_TOKEN", sim_lab.token)
    pytester.makefile(
        ".toml",
        labs=textwrap.dedent(f"""
        [labs.bench-a]
        address = "{sim_lab.address}"
        token_env = "BENCH_A_TOKEN"
    """),
    )
    pytester.makeini("[pytest]\nvirtualpy_sim_boot_secs = 0.5\n")
    return pytester


@contextlib.contextmanager
def client_opener(lab: LocalLab, name: str = "tests") -> Iterator:
    """``open_client(token=None)`` makes authenticated connections to ``lab``; all of
    them are closed when the block ends."""
    clients: list[LabClient] = []

    def open_client(token: str | None = None) -> LabClient:
        client = LabClient.connect(
            lab.address, lab.token if token is None else token, client_name=name
        )
        clients.append(client)
        return client

    try:
        yield open_client
    finally:
        for c in clients:
            c.close()


@pytest.fixture
def connect(sim_lab):
    """Open authenticated connections to the session's daemon (closed afterwards)."""
    with client_opener(sim_lab) as open_client:
        yield open_client


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail the test otherwise."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s: {predicate}")


@pytest.fixture
def device(connect) -> DeviceClient:
    """A leased simulated box, powered, fault-free and on its home screen."""
    client = connect()
    lease = client.lease(None, "tests", 20)
    dev = DeviceClient(client, lease)
    dev.sim_clear()
    if not dev.power("status")["on"]:
        dev.power("on")
    wait_until(lambda: dev.sim_state()["screen"] not in ("boot", "off"), timeout=15)
    dev.press("KEY_HOME")
    wait_until(lambda: dev.sim_state()["screen"] == "home")
    yield dev
    try:
        dev.sim_clear()
        client.release(dev.lease_id)
    except Exception:
        pass

"""``virtualpy lab status`` against two real daemons (tests/fleet_labs.py) and one that
is not there: every device, its model, health, holder, since when, its test, its waiters."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fleet_labs import ALL_DEVICES, devices, hog, labs_toml, start_fleet, stop_fleet
from monitor_lab import free_port, wait_for

from pytest_virtualpy.lab.client import LabClient

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fleet = start_fleet(tmp_path_factory.mktemp("fleet"))
    yield fleet
    stop_fleet(fleet)


def _status(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from pytest_virtualpy.cli import main; raise SystemExit(main())"]
    return subprocess.run(
        [*cmd, "lab", "status", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_lab_status_shows_every_device_its_holder_test_health_and_waiters(
    tmp_path, fleet, monkeypatch
):
    monkeypatch.setenv("NORTH_TOKEN", fleet["north"].token)
    monkeypatch.setenv("SOUTH_TOKEN", fleet["south"].token)
    monkeypatch.setenv("GONE_TOKEN", "x" * 32)
    gone = f"127.0.0.1:{free_port()}"
    (tmp_path / "labs.toml").write_text(labs_toml(fleet, gone=gone))
    hogs = [hog(fleet, "north", d) for d in ("n-acme-0", "n-acme-1")]
    hogs[0][1].set_test("test_zap.py::test_banner")
    zeta_client, zeta = hog(fleet, "south", "s-zeta-0")
    zeta.power("off")  # a box switched off: its capture sees no signal
    waiter = LabClient.connect(fleet["north"].address, fleet["north"].token, client_name="w")
    wait = threading.Thread(
        target=lambda: _ignore(lambda: waiter.lease(None, "waiter", 30, wait_secs=30)),
        daemon=True,
    )
    wait.start()
    try:
        wait_for(
            lambda: all(d.get("waiting") == 1 for d in devices(fleet, "north")), 20, "the waiter"
        )
        wait_for(lambda: not _south_signal(fleet), 20, "no signal on s-zeta-0")
        done = _status(tmp_path, "--json")
        assert done.returncode == 0, done.stderr
        labs = {lab["lab"]: lab for lab in json.loads(done.stdout)["labs"]}
        assert set(labs) == {"north", "south", "gone"}
        assert not labs["gone"]["reachable"] and "cannot reach" in labs["gone"]["error"]
        rows = {d["device"]: d for lab in labs.values() for d in lab["devices"]}
        assert set(rows) == set(ALL_DEVICES)
        assert rows["n-acme-0"]["holder"] == "hog" and rows["n-acme-0"]["waiting"] == 1
        assert rows["n-acme-0"]["test"] == "test_zap.py::test_banner"
        assert rows["n-acme-0"]["since"] <= time.time() and rows["n-acme-0"]["health"] == "ok"
        assert rows["s-zeta-0"]["health"] == "no signal" and rows["s-zeta-0"]["model"] == "zeta-hd"
        assert rows["s-cam-0"]["holder"] is None and rows["s-cam-0"]["model"] == "cam-hd"
        assert rows["s-cam-0"]["capabilities"] == ["video", "remote"]

        text = _status(tmp_path, "--lab", "pool:house")
        assert text.returncode == 0, text.stderr
        lines = text.stdout.splitlines()
        assert lines[0].split() == [
            "LAB", "DEVICE", "MODEL", "HEALTH", "HOLDER", "SINCE", "TEST", "WAITING"
        ]  # fmt: skip
        row = next(line for line in lines if "n-acme-0" in line).split()
        assert row[:5] == ["north", "n-acme-0", "acme-4k", "ok", "hog"]
        assert "test_zap.py::test_banner" in row and row[-1] == "1"
        assert any("s-zeta-0" in line and "no signal" in line for line in lines), lines
        cam = next(line for line in lines if "s-cam-0" in line).split()
        assert cam[:5] == ["south", "s-cam-0", "cam-hd", "ok", "free"]
        assert len(lines) == 5 and "gone" not in text.stdout  # the pool only

        everything = _status(tmp_path)
        assert everything.returncode == 0
        assert any(line.startswith("gone") and "unreachable" in line
                   for line in everything.stdout.splitlines())  # fmt: skip

        down = _status(tmp_path, "--lab", "gone")
        assert down.returncode == 1 and "no lab could be reached" in down.stderr
        bad = _status(tmp_path, "--lab", "pool:nope")
        assert bad.returncode == 2 and "unknown pool 'nope'" in bad.stderr
        assert "Pools in labs.toml: house" in bad.stderr
    finally:
        zeta.power("on")
        for client, _ in [*hogs, (zeta_client, zeta)]:
            client.close()
        waiter.close()


def _ignore(fn) -> None:
    with contextlib.suppress(Exception):
        fn()


def _south_signal(fleet) -> bool:
    with LabClient.connect(fleet["south"].address, fleet["south"].token) as c:
        return c.health()["devices"]["s-zeta-0"]["signal"]


def test_names_from_the_wire_cannot_drive_the_terminal():
    """Owners and test names come from any token holder: no escape sequence or newline
    of theirs reaches the table."""
    from pytest_virtualpy.lab_status import table

    row = {"lab": "pi-01", "device": "stb", "model": "m", "health": "ok", "since": None}
    row.update(holder="evil\x1b[2J\nFAKE ROW", test="t\x07", waiting=0)
    text = table([{"lab": "pi-01", "reachable": True, "devices": [row]}])
    assert "\x1b" not in text and "\x07" not in text
    assert len(text.splitlines()) == 2  # the header and the one real row


def test_a_pool_naming_an_unknown_lab_is_a_usage_mistake(tmp_path, capsys):
    from pytest_virtualpy.lab_status import main

    labs = tmp_path / "labs.toml"
    labs.write_text('[labs.pi-01]\naddress = "127.0.0.1:1"\n[pools.p]\nlabs = ["pi-01", "pi-07"]\n')
    assert main(["--labs-file", str(labs)]) == 2
    assert "pi-07" in capsys.readouterr().err

"""The command power switch, and the serial console through Debian's real ser2net (RFC 2217)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from lab_daemon.console import Console
from lab_daemon.devices.command_power import CommandPower
from lab_daemon.devices.serial_port import PySerialPort
from pytest_virtualpy.errors import LabError


def _switch(tmp_path: Path, **over) -> tuple[CommandPower, Path]:
    state = tmp_path / "plug"
    opts = {
        "on": f"echo on > {state}",
        "off": f"echo off > {state}",
        "status": f"grep -q on {state}",
        "timeout_secs": 5.0,
        **over,
    }
    return CommandPower.from_options(opts, "tv-1"), state


def test_command_switch_sets_and_reads_the_plug(tmp_path):
    power, state = _switch(tmp_path)
    power.set(True)
    assert state.read_text().strip() == "on" and power.get() is True
    power.set(False)
    assert state.read_text().strip() == "off" and power.get() is False


def test_a_status_command_may_print_the_state_instead(tmp_path):
    power, state = _switch(tmp_path, status=f"cat {tmp_path / 'plug'}")
    power.set(False)
    assert state.read_text().strip() == "off" and power.get() is False  # printed, exit 0
    power.set(True)
    assert power.get() is True


def test_without_a_status_command_the_switch_reports_what_it_set(tmp_path):
    power, _ = _switch(tmp_path, status=None)
    assert power.get() is True  # assumed on until switched
    power.set(False)
    assert power.get() is False


def test_a_failing_switch_is_a_lab_error_naming_device_command_and_output(tmp_path):
    power, _ = _switch(tmp_path, on="echo 'relay board not found' >&2; exit 3")
    with pytest.raises(LabError) as info:
        power.set(True)
    message = str(info.value)
    assert "'tv-1'" in message and "exit code 3" in message and "relay board not found" in message
    broken, _ = _switch(tmp_path, status="exit 7")
    with pytest.raises(LabError, match="status command failed with exit code 7"):
        broken.get()


def test_a_hanging_switch_times_out_as_a_lab_error(tmp_path):
    power, _ = _switch(tmp_path, off="sleep 30", timeout_secs=0.5)
    started = time.monotonic()
    with pytest.raises(LabError, match="did not finish within 0.5 s"):
        power.set(False)
    assert time.monotonic() - started < 20  # bounded, not the command's 30 s


# --- serial through ser2net ----------------------------------------------------------------

needs_ser2net = pytest.mark.skipif(
    not (shutil.which("ser2net") and shutil.which("socat")) and not os.environ.get("CI"),
    reason="needs Debian's ser2net and socat: apt-get install ser2net socat",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(path_or_port, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if isinstance(path_or_port, Path) and path_or_port.exists():
            return
        if isinstance(path_or_port, int):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", path_or_port)) == 0:
                    return
        time.sleep(0.05)
    pytest.fail(f"{path_or_port} did not come up within {timeout} s")


@pytest.fixture
def ser2net_console(tmp_path):
    """A pty pair (the box's UART at one end) served by ser2net as RFC 2217."""
    a, b = tmp_path / "uart", tmp_path / "box"
    pty = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stderr=subprocess.DEVNULL,
    )
    _wait_for(a)
    _wait_for(b)
    port = _free_port()
    conf = tmp_path / "ser2net.yaml"
    conf.write_text(
        "connection: &box\n"
        f"  accepter: telnet(rfc2217),tcp,127.0.0.1,{port}\n"
        f"  connector: serialdev,{a},115200n81,local\n"
    )
    server = subprocess.Popen(
        ["ser2net", "-d", "-n", "-c", str(conf), "-P", str(tmp_path / "ser2net.pid")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(port)
    box = os.open(b, os.O_RDWR | os.O_NOCTTY)
    yield f"rfc2217://127.0.0.1:{port}?ign_set_control", box
    os.close(box)
    for proc in (server, pty):
        proc.terminate()
        proc.wait(10)


@needs_ser2net
def test_serial_console_over_ser2net_rfc2217(ser2net_console):
    url, box = ser2net_console
    port = PySerialPort.from_options({"port": url, "baudrate": 115200}, "tv-1")
    console = Console(port)
    try:
        os.write(box, b"U-Boot 2024.01\r\nstb# ")
        found = console.expect(r"stb# ", timeout=10)
        assert found["matched"] and "U-Boot 2024.01" in found["before"]
        console.write(b"version\r")
        deadline = time.monotonic() + 10
        got = b""
        while b"version\r" not in got and time.monotonic() < deadline:
            got += os.read(box, 100)
        assert got.endswith(b"version\r")  # the box received what the test typed
        end, log = console.log(0)
        assert b"U-Boot 2024.01" in log and end == len(log)
    finally:
        port.close()


def test_a_serial_port_that_cannot_open_names_the_device(tmp_path):
    from pytest_virtualpy.errors import ConfigError

    with pytest.raises(ConfigError, match="device 'tv-1': serial port .*cannot be opened"):
        PySerialPort.from_options({"port": str(tmp_path / "no-such-tty"), "baudrate": 9600}, "tv-1")

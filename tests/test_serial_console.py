"""The serial console end to end: ``stb.serial`` over real RPyC to the daemon and the sim.

Each test starts the way the plugin starts one (``begin_test``, tests/serial_session.py):
it takes the serial log offset, then uses :class:`~pytest_virtualpy.stb.Serial` on a box
of the session's simulated lab. Boxes are shared with other tests, so whatever a
previous test left on a console is part of the situation under test.
"""

from __future__ import annotations

import socket

import pytest

from lab_daemon.console import UNREAD_LIMIT, Console
from lab_daemon.devices.base import SerialPort
from lab_daemon.host import LabHost
from lab_daemon.server import make_server
from pytest_virtualpy.errors import LabError, PatternError, SerialTimeout, UsageError
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.stb import Serial
from pytest_virtualpy.steps import StepLog
from tests.conftest import wait_until
from tests.serial_session import BANNER, begin_test


def say(device: DeviceClient, typed: bytes, until: bytes, times: int = 1) -> None:
    """Type ``typed`` and wait until the console has answered ``until`` (``times`` times),
    leaving the answer unread: only the log is read, and reading it consumes nothing."""
    start, _ = device.serial_log(1 << 62)
    device.serial_write(typed)
    wait_until(lambda: device.serial_log(start)[1].count(until) >= times, timeout=15)


def boot_and_leave_unread(device: DeviceClient) -> None:
    """Power-cycle the box and let the whole boot log pile up unread, like a fresh daemon."""
    start, _ = device.serial_log(1 << 62)
    device.power("cycle", 0.1)
    wait_until(lambda: b"stb# " in device.serial_log(start)[1], timeout=15)


# --- a test sees its own output, not what came before it ------------------------------


def test_expect_after_power_cycle_waits_for_the_new_boot(device):
    """The boot log of an earlier boot, still unread when the test starts, is not matched."""
    boot_and_leave_unread(device)
    serial = begin_test(device)
    device.power("cycle", 0.1)
    assert serial.expect(BANNER, timeout=15).groups == ("4.2.1",)
    serial.expect(r"stb# ", timeout=10)
    log = serial.log()
    assert "Starting kernel" in log
    assert log.count("virtualpy STB firmware") == 1


def test_read_at_test_start_skips_output_from_before_the_test(device):
    """Output printed before the test began is in no test's read, only in earlier logs."""
    say(device, b"version\r", until=b"(model VPY-STB-1)\r\nstb# ")
    serial = begin_test(device)
    assert "firmware" not in serial.read(timeout=0.3)
    assert "firmware" not in serial.log()


def test_output_after_test_start_stays_readable(device):
    """Dropping what came before the test keeps everything the test itself caused."""
    serial = begin_test(device)
    say(device, b"version\r", until=b"(model VPY-STB-1)\r\nstb# ")
    assert serial.expect(BANNER, timeout=5).groups == ("4.2.1",)
    assert "version" in serial.log()


# --- command: synchronise on a fresh prompt, return only the command's output -----------


def test_command_while_booting_waits_for_the_prompt(device):
    """A box still printing its boot log gets the command once it is at its prompt."""
    serial = begin_test(device)
    device.power("cycle", 0.1)
    out = serial.command("uptime", timeout=15)
    assert out.startswith("up ")
    assert "U-Boot" not in out and "stb# " not in out


def test_command_ignores_unread_output_and_prompts(device):
    """Stale output and prompts pending on the console are not the command's output."""
    serial = begin_test(device)
    say(device, b"version\r\r\r", until=b"stb# ", times=3)
    assert serial.command("uptime").startswith("up ")
    assert serial.command("status").startswith("screen=")


def test_command_output_has_no_echo_or_prompt(device):
    serial = begin_test(device)
    out = serial.command("version")
    assert out == "virtualpy STB firmware 4.2.1 (model VPY-STB-1)"
    assert serial.command("help").startswith("commands: ")


def test_commands_back_to_back_each_get_their_own_output(device):
    serial = begin_test(device)
    outs = [serial.command(cmd) for cmd in ("uptime", "version", "uptime", "nosuch")]
    assert outs[0].startswith("up ") and outs[2].startswith("up ")
    assert outs[1].startswith("virtualpy STB firmware")
    assert outs[3] == "sh: nosuch: not found"


def test_command_on_a_silent_console_times_out(device):
    """No prompt within the timeout (the box is off) is a SerialTimeout, not a hang."""
    serial = begin_test(device)
    device.power("off")
    try:
        with pytest.raises(SerialTimeout, match="prompt"):
            serial.command("uptime", timeout=1.0)
    finally:
        device.power("on")


# --- bad patterns are the test's mistake -----------------------------------------------


class RecordingDevice:
    """A DeviceClient stand-in that records each call and forwards it."""

    def __init__(self, device: DeviceClient):
        self._device = device
        self.calls: list[str] = []

    def __getattr__(self, name):
        target = getattr(self._device, name)
        if not callable(target):
            return target

        def call(*args, **kwargs):
            self.calls.append(name)
            return target(*args, **kwargs)

        return call


def test_bad_pattern_is_refused_in_the_test_process(device):
    spy = RecordingDevice(device)
    start, _ = device.serial_log(1 << 62)
    serial = Serial(spy, StepLog(), start)
    bad = r"firmware (\S+"
    with pytest.raises(PatternError) as info:
        serial.expect(bad, timeout=1)
    message = str(info.value)
    assert repr(bad) in message
    assert "missing )" in message
    assert "re.escape" in message
    assert isinstance(info.value, UsageError) and not isinstance(info.value, LabError)
    assert spy.calls == []


def test_bad_prompt_is_refused_before_the_command_is_sent(device):
    spy = RecordingDevice(device)
    serial = Serial(spy, StepLog(), device.serial_log(1 << 62)[0])
    with pytest.raises(PatternError, match=r"stb\[#"):
        serial.command("reboot", prompt=r"stb[# ")
    assert spy.calls == []
    assert device.sim_state()["screen"] != "boot"


def test_daemon_refuses_bad_pattern_as_usage_error(device):
    """A client that skips the check still gets a usage error, not an internal error."""
    with pytest.raises(UsageError) as info:
        device.serial_expect(r"(unclosed", 1.0)
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, LabError)
    assert "internal error" not in str(info.value)
    assert "(unclosed" in str(info.value)


def test_daemon_refuses_overlong_pattern(device):
    with pytest.raises(UsageError, match="too long"):
        device.serial_expect("x" * 100_000, 1.0)
    # the console still works afterwards
    device.serial_write(b"version\r")
    assert device.serial_expect(BANNER, 5.0)["groups"] == ["4.2.1"]


# --- the daemon's console buffer on its own (no sim needed for byte bookkeeping) ----------


class ScriptedPort(SerialPort):
    """A serial port that delivers what the test queues."""

    def __init__(self):
        self.queued = bytearray()

    def write(self, data: bytes) -> None:
        pass

    def read_available(self) -> bytes:
        data, self.queued = bytes(self.queued), bytearray()
        return data

    def wait_for_data(self, timeout: float) -> None:
        pass


def test_console_discard_keeps_output_from_the_offset_on():
    port = ScriptedPort()
    console = Console(port)
    port.queued += b"old boot\r\nstb# "
    start, _ = console.log(1 << 62)
    port.queued += b"new output"
    assert console.discard(start) == len(b"old boot\r\nstb# ")
    assert console.read(0) == b"new output"
    assert console.discard(start) == 0  # nothing unread from before the offset is left


def test_console_unread_output_is_bounded_like_the_log():
    port = ScriptedPort()
    console = Console(port)
    port.queued += b"x" * (UNREAD_LIMIT + 10) + b"END"
    end, log = console.log(0)
    assert end == UNREAD_LIMIT + 13 and log.endswith(b"END")
    assert console.discard(end - 3) == UNREAD_LIMIT - 3  # offsets stay absolute
    assert console.read(0) == b"END"


# --- found on the way: the daemon refused connections right after announcing itself -------


def test_daemon_listens_as_soon_as_it_has_an_address():
    """``virtualpy-lab`` writes its ready file before ``server.start()``; a client that
    connects in between (xdist workers starting their labs) must be queued, not refused."""
    server = make_server(LabHost("listen-test", []), "token", "127.0.0.1", 0)
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    finally:
        server.close()

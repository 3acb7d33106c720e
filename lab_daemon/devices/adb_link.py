"""The ADB link to an Android device: shell commands through a real adb server.

The link (:class:`AdbLink`) talks to an adb server (Debian's ``adb``; start it with
``adb start-server`` or a systemd unit) through the ``adbutils`` client; it never starts a
server itself. ``lab.toml``::

    adb = { serial = "192.168.1.60:5555" }          # or a USB serial from `adb devices`
    adb = { serial = "R58M123ABC", adb_server = "127.0.0.1:5037", timeout_secs = 10 }

A ``HOST:PORT`` serial is ``adb connect``-ed on first use, and again when the device
dropped off the network; a USB serial must show in ``adb devices``. Each command opens
its own stream, so the screencap thread, key presses and test shell commands run side by
side. Commands use shell protocol v2 (separate exit status) when the device offers it
(Android 7+), else ``shell:(CMD); echo X4EXIT:$?`` for text and ``exec:CMD`` for
screencaps. Output is cut at :data:`MAX_OUTPUT` (1 MiB) with a note; the rest is read and
dropped, to get the status. The adb server down, the device missing, offline or
unauthorized, or a command running past its timeout, are
:class:`~pytest_virtualpy.errors.LabError` naming the device, the serial and the fix. The
key and screencap parts that ride on the link are in :mod:`lab_daemon.devices.adb_parts`.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
import time
from typing import Any, ClassVar

import adbutils

from lab_daemon.devices.base import AdbShell
from lab_daemon.devices.options import Option
from pytest_virtualpy.errors import ConfigError, LabError

log = logging.getLogger(__name__)

MAX_OUTPUT = 1 << 20  # a shell command's output kept, in bytes
_SHELL_STDOUT, _SHELL_STDERR, _SHELL_EXIT, _SHELL_CLOSE_STDIN = 1, 2, 3, 4
_EXIT_MARK = b"X4EXIT:"


class AdbCommandTimeout(LabError):
    """A command on the device did not finish in time."""


class _Connection(adbutils.AdbConnection):
    """adbutils' connection without its fallback of starting an adb server of its own."""

    def _safe_connect(self):
        return self._create_socket()


class _Client(adbutils.AdbClient):
    def make_connection(self, timeout: float | None = None) -> adbutils.AdbConnection:
        c = _Connection(self.host, self.port)
        c.conn.settimeout(timeout)
        return c


class AdbLink(AdbShell):
    """Commands on one device through the adb server; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "serial": Option(str, required=True, help="a USB serial (adb devices) or HOST:PORT"),
        "adb_server": Option(str, default="127.0.0.1:5037", help="the adb server's HOST:PORT"),
        "timeout_secs": Option(float, default=10.0, help="longest wait to reach the device"),
    }

    def __init__(
        self, device: str, serial: str, adb_server: str = "127.0.0.1:5037", *, timeout: float = 10.0
    ):
        host, _, port = adb_server.rpartition(":")
        self.device, self.serial, self.adb_server = device, serial, adb_server
        self.timeout = timeout
        self.network = bool(re.fullmatch(r"[^:\s]+:\d+", serial))  # adb connect HOST:PORT
        self._client = _Client(host, int(port))
        self._lock = threading.Lock()
        self._features: set[str] | None = None  # None: not connected yet (or dropped)
        self._model: str | None = None

    @classmethod
    def from_options(cls, opts: dict, device: str) -> AdbLink:
        where = f"device {device!r}: adb"
        if not re.fullmatch(r"[^\s:]+:\d{1,5}", opts["adb_server"]):
            raise ConfigError(
                f"{where}: 'adb_server' must be HOST:PORT, not {opts['adb_server']!r}"
            )
        if not opts["serial"] or any(c.isspace() for c in opts["serial"]):
            raise ConfigError(f"{where}: 'serial' must be a USB serial or HOST:PORT")
        if opts["timeout_secs"] <= 0:
            raise ConfigError(f"{where}: 'timeout_secs' must be positive")
        return cls(device, opts["serial"], opts["adb_server"], timeout=opts["timeout_secs"])

    # --- the protocol -----------------------------------------------------------------------

    def shell(self, command: str, timeout: float) -> tuple[int, bytes]:
        status, out, _, total = self.run(command, timeout, MAX_OUTPUT, merge=True)
        if total > len(out):
            out += f"\n[virtualpy: output cut at {len(out)} of {total} bytes]\n".encode()
        return status, out

    def info(self) -> dict:
        if self._model is None:
            self._model = (
                self.shell("getprop ro.product.model", self.timeout)[1]
                .decode("utf-8", "replace")
                .strip()
            )
        return {
            "serial": self.serial,
            "model": self._model,
            "adb_server": self.adb_server,
            "transport": "tcp" if self.network else "usb",
            "features": sorted(self._features or ()),
        }

    def close(self) -> None:
        self._features = None

    # --- streams ------------------------------------------------------------------------------

    def run(self, command: str, timeout: float, limit: int, *, merge: bool = False):
        """``(status, stdout, stderr, total)``; stdout holds stderr too with ``merge``.

        ``total`` counts the bytes the command printed; at most ``limit`` of them are kept.
        Without shell v2, binary output (``merge`` False) comes through ``exec:`` (no pty to
        mangle it, and no exit status: 0 is reported).
        """
        deadline = time.monotonic() + timeout
        v2 = "shell_v2" in self._ready(deadline)
        if v2:
            service = f"shell,v2,raw:{command}"
        else:
            service = f"shell:({command}); echo X4EXIT:$?" if merge else f"exec:{command}"
        c = self._open(service, deadline)
        try:
            if v2:
                c.conn.sendall(struct.pack("<BI", _SHELL_CLOSE_STDIN, 0))
                return self._read_v2(c, deadline, limit, merge)
            return self._read_v1(c, deadline, limit, marker=merge)
        except TimeoutError:
            raise AdbCommandTimeout(
                f"{self._where()}: `{command[:200]}` did not finish within {timeout:g} s "
                "(give it a longer timeout, or check the device responds)"
            ) from None
        except (OSError, adbutils.AdbError) as e:
            self._features = None
            raise LabError(
                f"{self._where()}: lost the device during `{command[:200]}`: {e}. {self._fix()}"
            ) from e
        finally:
            c.close()

    def _read_v2(self, c, deadline, limit, merge):
        sock, reader = c.conn, c.conn.makefile("rb", buffering=1 << 20)
        with reader:
            return self._packets(sock, reader, deadline, limit, merge)

    def _packets(self, sock, reader, deadline, limit, merge):
        kept = {_SHELL_STDOUT: bytearray(), _SHELL_STDERR: bytearray()}
        total = 0
        while True:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            header = reader.read(5)
            if len(header) < 5:
                raise adbutils.AdbError("the stream ended before the command's exit status")
            kind, length = struct.unpack("<BI", header)
            data = reader.read(length)
            if len(data) < length:
                raise adbutils.AdbError("the stream ended inside a packet")
            if kind == _SHELL_EXIT:
                out, err = kept[_SHELL_STDOUT], kept[_SHELL_STDERR]
                return (data[0] if data else 255), out, err, total
            if kind in kept:
                total += length
                buf = kept[_SHELL_STDOUT if merge else kind]
                buf += data[: max(0, limit - len(buf))]

    def _read_v1(self, c, deadline, limit, marker):
        sock, kept, tail, total = c.conn, bytearray(), b"", 0
        while True:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            kept += chunk[: max(0, limit - len(kept))]
            tail = (tail + chunk)[-64:]
        if not marker:
            return 0, kept, b"", total
        at = tail.rfind(_EXIT_MARK)
        if at < 0:
            raise adbutils.AdbError("the stream ended before the command's exit status")
        status = int(tail[at + len(_EXIT_MARK) :].strip() or b"255")
        total -= len(tail) - at
        return status, kept[: min(len(kept), total)], b"", total

    def _open(self, service: str, deadline: float) -> adbutils.AdbConnection:
        for attempt in (1, 2):
            c = self._server(deadline)
            try:
                c.send_command(f"host:transport:{self.serial}")
                c.check_okay()
                c.send_command(service)
                c.check_okay()
                return c
            except (OSError, adbutils.AdbError) as e:
                c.close()
                self._features = None
                if attempt == 2 or time.monotonic() > deadline:
                    raise self._unreachable(e) from e
                self._ready(deadline)  # the device dropped: connect again, then once more
        raise AssertionError("unreachable")  # pragma: no cover

    def _server(self, deadline: float) -> adbutils.AdbConnection:
        try:
            wait = max(0.001, min(self.timeout, deadline - time.monotonic()))
            return self._client.make_connection(wait)
        except (OSError, adbutils.AdbError) as e:
            raise LabError(
                f"{self._where()}: the adb server at {self.adb_server} does not answer ({e}). "
                f"Start it on the lab host: `adb -P {self._client.port} start-server` "
                "(or its systemd unit), and check lab.toml's adb_server"
            ) from e

    def _host(self, command: str, deadline: float) -> str:
        c = self._server(deadline)
        try:
            c.send_command(command)
            c.check_okay()
            return c.read_string_block()
        finally:
            c.close()

    def _ready(self, deadline: float) -> set[str]:
        """The device's features, connecting it first if it is not (yet, or any more) there."""
        if self._features is not None:
            return self._features
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise self._unreachable("another call is still connecting it")
        try:
            if self._features is not None:
                return self._features
            try:
                state = self._host(f"host-serial:{self.serial}:get-state", deadline)
            except adbutils.AdbError as e:
                state = str(e)
            if state != "device" and self.network:
                if "offline" in state:  # adb still holds the dead connection: drop it first
                    self._host(f"host:disconnect:{self.serial}", deadline)
                said = self._host(f"host:connect:{self.serial}", deadline)
                if "connected" not in said or "unable" in said or "failed" in said:
                    raise self._unreachable(said)
                state = self._wait_online(deadline)
            if state != "device":
                raise self._unreachable(state)
            features = self._host(f"host-serial:{self.serial}:features", deadline)
            self._features = set(features.strip().split(","))
            return self._features
        finally:
            self._lock.release()

    def _wait_online(self, deadline: float) -> str:
        state = "offline"
        while time.monotonic() < deadline:
            try:
                state = self._host(f"host-serial:{self.serial}:get-state", deadline)
            except adbutils.AdbError as e:
                state = str(e)
            if state == "device" or "unauthorized" in state:
                return state
            time.sleep(0.1)
        return state

    def _where(self) -> str:
        return f"adb of {self.device!r} (serial {self.serial})"

    def _fix(self) -> str:
        if self.network:
            return (
                "Is the device on and on the network, with network debugging on "
                f"(`adb connect {self.serial}` from the lab host)?"
            )
        return "Is the USB cable in and USB debugging on (`adb devices` on the lab host)?"

    def _unreachable(self, why: Any) -> LabError:
        why = str(why).strip() or type(why).__name__
        if "unauthorized" in why:
            return LabError(
                f"{self._where()}: the device has not authorized this lab host: accept the "
                "'Allow USB debugging?' prompt on its screen (tick 'Always allow')"
            )
        return LabError(f"{self._where()}: cannot reach the device: {why}. {self._fix()}")

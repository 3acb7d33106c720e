"""A serial console driver on pyserial, with a reader thread.

It serves a real UART (``/dev/ttyUSB0``), any pyserial URL (``rfc2217://host:port``
for ser2net, ``socket://host:port``) and the simulator's pty alike, so the simulated box
exercises exactly the code a real bench uses. ``lab.toml``::

    serial = { port = "/dev/ttyUSB0", baudrate = 115200 }
    serial = { port = "rfc2217://127.0.0.1:3333?ign_set_control" }
"""

from __future__ import annotations

import contextlib
import threading
from typing import ClassVar

import serial

from lab_daemon.devices.base import SerialPort
from lab_daemon.devices.options import Option
from pytest_virtualpy.errors import ConfigError

BUFFER_LIMIT = 1 << 20  # bytes kept for a console nobody reads; the oldest go first


class PySerialPort(SerialPort):
    """Reads a serial port continuously into a buffer that ``read_available`` drains."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "port": Option(str, required=True, help="a device path or a pyserial URL"),
        "baudrate": Option(int, default=115200, help="bits per second"),
    }

    def __init__(self, path: str, baudrate: int = 115200):
        self.path = path
        self._port = serial.serial_for_url(path, baudrate=baudrate, timeout=0.1)
        self._buffer = bytearray()
        self.dropped = 0  # bytes dropped because the console did not drain them in time
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._pump, name=f"serial-{path}", daemon=True)
        self._thread.start()

    @classmethod
    def from_options(cls, opts: dict, device: str) -> PySerialPort:
        try:
            return cls(opts["port"], opts["baudrate"])
        except (serial.SerialException, OSError, ValueError) as e:
            raise ConfigError(
                f"device {device!r}: serial port {opts['port']!r} cannot be opened: {e}"
            ) from None

    def _pump(self) -> None:
        while not self._closed:
            try:
                data = self._port.read(4096)
            except (serial.SerialException, OSError, TypeError):
                if self._closed:
                    return
                data = b""
                self._closed = True
            if data:
                with self._cond:
                    self._buffer += data
                    if len(self._buffer) > BUFFER_LIMIT:
                        cut = len(self._buffer) - BUFFER_LIMIT
                        del self._buffer[:cut]
                        self.dropped += cut
                    self._cond.notify_all()

    def write(self, data: bytes) -> None:
        self._port.write(data)
        self._port.flush()

    def read_available(self) -> bytes:
        with self._cond:
            data = bytes(self._buffer)
            self._buffer.clear()
            return data

    def wait_for_data(self, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._buffer or self._closed, timeout)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()

"""A power switch driven by shell commands: any PDU, USB hub switch or relay board.

``lab.toml``::

    power = { kind = "command", on = "uhubctl -l 1-1 -p 2 -a on",
              off = "uhubctl -l 1-1 -p 2 -a off",
              status = "uhubctl -l 1-1 -p 2 | grep -q power" }

``status`` is optional. If it prints its state (``on``/``off``, ``1``/``0``,
``true``/``false``) that is the state; otherwise its exit code says it (0 on, 1 off,
anything else is a fault). Without it the switch reports the last state it set, and "on"
before the first switch (a bench is normally powered). A command that fails or runs past
``timeout_secs`` is a :class:`~pytest_virtualpy.errors.LabError` naming the device, the
command and what it printed: a broken plug is the lab's fault, never the product's.
"""

from __future__ import annotations

import subprocess
import threading
from typing import ClassVar

from lab_daemon.devices.base import PowerSwitch
from lab_daemon.devices.options import Option
from pytest_virtualpy.errors import LabError

_PRINTED = {"on": True, "off": False, "1": True, "0": False, "true": True, "false": False}


class CommandPower(PowerSwitch):
    """Runs ``on``/``off`` (and ``status``) shell commands; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "on": Option(str, required=True, help="the shell command that switches power on"),
        "off": Option(str, required=True, help="the shell command that switches power off"),
        "status": Option(str, help="a shell command whose exit code is 0 when on, 1 when off"),
        "timeout_secs": Option(float, default=10.0, help="how long a command may run"),
    }

    def __init__(
        self, device: str, on: str, off: str, status: str | None = None, timeout: float = 10.0
    ):
        self.device = device
        self._commands = {"on": on, "off": off, "status": status}
        self._timeout = timeout
        self._state: bool | None = None  # what we last set, when there is no status
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, opts: dict, device: str) -> CommandPower:
        return cls(device, opts["on"], opts["off"], opts["status"], opts["timeout_secs"])

    def _run(self, what: str) -> int | bool:
        cmd = self._commands[what]
        try:
            done = subprocess.run(
                cmd, shell=True, capture_output=True, text=True, timeout=self._timeout
            )
        except subprocess.TimeoutExpired:
            raise LabError(
                f"power switch of {self.device!r}: {what} command did not finish within "
                f"{self._timeout:g} s: {cmd}"
            ) from None
        if what == "status":
            said = done.stdout.strip().lower()
            if done.returncode == 0 and said in _PRINTED:
                return _PRINTED[said]
            if done.returncode in (0, 1):
                return done.returncode == 0
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip()[-300:]
            raise LabError(
                f"power switch of {self.device!r}: {what} command failed with exit code "
                f"{done.returncode}: {cmd}" + (f"; it said: {said}" if said else "")
            )
        return 0

    def set(self, on: bool) -> None:
        with self._lock:
            self._run("on" if on else "off")
            self._state = on

    def get(self) -> bool:
        with self._lock:
            if self._commands["status"]:
                return bool(self._run("status"))
            return True if self._state is None else self._state

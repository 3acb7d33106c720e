"""A remote driven by a shell command per press: any IR blaster with a command-line tool.

``lab.toml``::

    remote = { kind = "command", command = "broadlink_cli --device @blaster --send @codes/{key}",
               keys = ["KEY_OK", "KEY_UP", "KEY_DOWN", "KEY_MENU"],
               hold_command = "blast --hold {secs} {key}", timeout_secs = 5 }

``{key}`` in ``command`` is replaced by the key name, shell-quoted (:func:`shlex.quote`);
``{secs}`` in ``hold_command`` by the hold time in seconds (``2``, ``0.5``). Nothing else is
substituted, so other braces (``${HOME}``, awk's ``{print}``) pass to the shell untouched.
The command runs with ``/bin/sh -c``. ``keys`` lists our key names (Linux/LIRC style,
``KEY_OK``) that the blaster can send; :meth:`CommandRemote.keys` returns them, and
pressing any other key raises :class:`~pytest_virtualpy.errors.UnknownKeyError` listing them
(the command is not run).

Holding. ``press(key, hold_secs=2)`` runs ``hold_command`` once if it is given; it should
return when the hold ends (``timeout_secs`` is stretched by ``hold_secs``). Without a
``hold_command`` the driver repeats ``command`` until ``hold_secs`` have passed since the
first run, starting one every ``repeat_interval_secs`` (default 0.11 s, NEC's repeat period)
or back to back when a run takes longer: most boxes read a key sent again within ~110 ms as
held. It runs at least once. ``hold_secs`` of 0 or None is a single press.

The returned time is ``time.time()`` just before the (first) command started. A command that
exits non-zero or runs past ``timeout_secs`` (then it and everything it started are killed)
is a :class:`~pytest_virtualpy.errors.LabError` naming the device, the command and the end
of its stderr. One lock: presses on one remote never overlap.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import signal
import subprocess
import threading
import time
from typing import ClassVar

from lab_daemon.devices.base import KeySender
from lab_daemon.devices.options import Option
from lab_daemon.devices.remote_args import check_hold, unknown_key
from pytest_virtualpy.errors import ConfigError, LabError

TAIL_CHARS = 400  # how much of a failed command's stderr goes into the error


def _secs(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


class CommandRemote(KeySender):
    """Runs a shell command per press; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "command": Option(str, required=True, help="shell command template, {key} is replaced"),
        "keys": Option(list, required=True, help="the key names (KEY_OK, ...) it can send"),
        "hold_command": Option(
            str, default=None, help="shell command that holds {key} for {secs} seconds"
        ),
        "timeout_secs": Option(float, default=5.0, help="longest a command may run"),
        "repeat_interval_secs": Option(
            float, default=0.11, help="without hold_command: how often a held key is re-sent"
        ),
    }

    def __init__(
        self,
        device: str,
        command: str,
        keys: list[str],
        hold_command: str | None = None,
        timeout: float = 5.0,
        repeat_interval: float = 0.11,
    ):
        self.device = device
        self.command = command
        self.hold_command = hold_command
        self.timeout = timeout
        self.repeat_interval = repeat_interval
        self._keys = list(dict.fromkeys(keys))
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, opts: dict, device: str) -> CommandRemote:
        where = f"device {device!r}: remote"
        if "{key}" not in opts["command"]:
            raise ConfigError(f"{where}: 'command' must contain {{key}}: {opts['command']!r}")
        hold = opts.get("hold_command")
        if hold is not None and ("{key}" not in hold or "{secs}" not in hold):
            raise ConfigError(
                f"{where}: 'hold_command' must contain {{key}} and {{secs}}: {hold!r}"
            )
        keys = opts["keys"]
        bad = [k for k in keys if not isinstance(k, str) or not k]
        if bad or not keys:
            raise ConfigError(
                f"{where}: 'keys' must be a non-empty list of key names such as \"KEY_OK\""
                + (f"; not {bad[0]!r}" if bad else "")
            )
        timeout = opts.get("timeout_secs") or 5.0
        interval = opts.get("repeat_interval_secs")
        interval = 0.11 if interval is None else interval
        if timeout <= 0 or interval < 0:
            raise ConfigError(
                f"{where}: 'timeout_secs' must be > 0 and 'repeat_interval_secs' >= 0"
            )
        return cls(device, opts["command"], keys, hold, timeout, interval)

    def keys(self) -> list[str]:
        return list(self._keys)

    def press(self, key: str, hold_secs: float | None = None) -> float:
        check_hold(hold_secs)
        if key not in self._keys:
            raise unknown_key(key, self._keys)
        quoted = shlex.quote(key)
        with self._lock:
            if not hold_secs:
                return self._run(self.command.replace("{key}", quoted), self.timeout)
            if self.hold_command is not None:
                cmd = self.hold_command.replace("{key}", quoted).replace("{secs}", _secs(hold_secs))
                return self._run(cmd, self.timeout + hold_secs)
            cmd = self.command.replace("{key}", quoted)
            first = self._run(cmd, self.timeout)
            for n in itertools.count(1):
                start = max(first + n * self.repeat_interval, time.time())
                if start >= first + hold_secs - 0.001:  # no run starts after the hold ends
                    break
                time.sleep(max(0.0, start - time.time()))
                self._run(cmd, self.timeout)
            return first

    def _run(self, cmd: str, timeout: float) -> float:
        """Run ``cmd``; the time it started. Its whole process group dies on a timeout."""
        started = time.time()
        try:
            proc = subprocess.Popen(
                cmd,
                shell=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            raise LabError(f"remote of {self.device!r}: cannot run {cmd!r}: {e}") from e
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            raise LabError(
                f"remote of {self.device!r}: command did not finish within {timeout:g} s "
                f"(killed): {cmd}" + self._tail(self._drain(proc))
            ) from None
        except BaseException:
            self._kill(proc)
            raise
        if proc.returncode != 0:
            raise LabError(
                f"remote of {self.device!r}: command failed with exit code {proc.returncode}: "
                f"{cmd}" + self._tail(err)
            )
        return started

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # a process stuck in the kernel
            proc.wait(timeout=5)

    @staticmethod
    def _drain(proc: subprocess.Popen) -> bytes:
        """What the killed command had written to stderr (its group is dead: no blocking)."""
        try:
            _, err = proc.communicate(timeout=2)
            return err or b""
        except (subprocess.TimeoutExpired, ValueError, OSError):
            return b""

    @staticmethod
    def _tail(err: bytes | None) -> str:
        text = (err or b"").decode("utf-8", "replace").strip()
        if not text:
            return ""
        if len(text) > TAIL_CHARS:
            text = "..." + text[-TAIL_CHARS:]
        return f"; its stderr ended: {text}"

"""An IR remote sent through LIRC's ``lircd``, over its socket, with the PyPI ``lirc`` client.

``lab.toml``::

    remote = { kind = "lirc", socket = "/var/run/lirc/lircd", remote = "acme",
               keymap = { KEY_EPG = "BTN_GUIDE" } }

``remote`` is the remote's ``name`` in lircd.conf; ``socket`` is lircd's output socket (its
``-o`` / ``output``); ``timeout_secs`` bounds each wait for lircd's reply.

Key names. Ours are Linux/LIRC names (``KEY_OK``, ``KEY_CHANNELUP``). :meth:`LircRemote.keys`
asks lircd for the remote's buttons (``LIST acme``) and names each:

* a button that ``keymap`` maps to (``KEY_EPG = "BTN_GUIDE"``) gets our name(s) from the
  keymap, and only those; the keymap wins over a button of the same name;
* an unmapped button whose name already looks like ours (``KEY_[A-Z0-9_]+``) is used as is;
* an unmapped button named like one of ours without ``KEY_`` (``OK``, ``ChannelUp``) gets
  that name (``KEY_OK``, ``KEY_CHANNELUP``);
* any other button (``power``, ``BTN_GUIDE`` with no keymap entry) is left out: it cannot be
  pressed, and the daemon logs a warning naming it and the keymap line that would add it.
  A keymap entry naming a button the remote does not have is left out and warned about too.

Pressing a key that is not in :meth:`keys` raises
:class:`~pytest_virtualpy.errors.UnknownKeyError`, which lists the remote's keys.

Presses. ``press(key)`` sends ``SEND_ONCE``: one frame, no repeats. ``press(key, hold_secs=2)``
sends ``SEND_START``, waits 2 s and sends ``SEND_STOP``: lircd sends the frame then the
remote's repeat code (NEC: ``pulse 9000 space 2250 pulse 560`` every 108 ms) until the stop,
which is how a held button looks to the box. ``hold_secs`` of 0 or None is a single press.
The returned time is ``time.time()`` just before the command was written to lircd's socket.
The lock is held for the whole hold: presses on one remote never interleave.

Failures. lircd unreachable (no socket, nobody listening, no permission), a lost connection,
a reply that does not come within ``timeout_secs``, an unknown remote or a refused command
are :class:`~pytest_virtualpy.errors.LabError` naming the device, the socket and the fix.

Connections are lazy and self-healing: nothing connects until the first call, and before
each command the connection is checked (lircd closed it, restarted, or broadcast a
``SIGHUP`` after re-reading its config): then it is replaced, and the button list read
again. A command whose write fails on a reused connection (nothing reached lircd) is sent
once more on a new connection; a command that may have reached lircd is never repeated.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

import lirc
from lirc.connection.abstract_connection import AbstractConnection
from lirc.exceptions import LircdCommandFailureError, LircdSocketError, LircError

from lab_daemon.devices.base import KeySender
from lab_daemon.devices.options import Option
from lab_daemon.devices.remote_args import check_hold, unknown_key
from lab_daemon.sim.keys import KEYS as SIM_KEYS
from pytest_virtualpy.errors import ConfigError, LabError

log = logging.getLogger(__name__)

#: key names of ours that a lircd button named without ``KEY_`` (``OK``, ``ChannelUp``) maps
#: to by itself: the simulator's vocabulary plus the common extra buttons of real remotes
KNOWN_KEYS = frozenset(SIM_KEYS) | {
    f"KEY_{n}"
    for n in (
        "POWER", "RED", "GREEN", "YELLOW", "BLUE", "TV", "SUBTITLE", "TEXT", "AUDIO",
        "FASTFORWARD", "REWIND", "RECORD", "NEXT", "PREVIOUS", "PLAYPAUSE", "SELECT",
    )
}  # fmt: skip

_OUR_NAME = re.compile(r"KEY_[A-Z0-9_]+")


class _SendFailed(LircdSocketError):
    """Writing a command failed: nothing reached lircd, so it may be sent again."""


class _Connection(AbstractConnection):
    """A Unix-socket connection to lircd for :class:`lirc.Client`.

    lirc 3.1's own ``LircdConnection`` returns half lines when a reply spans two reads and
    spins forever on end-of-file (its parser skips empty lines); this one keeps partial
    lines and raises when lircd hangs up.
    """

    def __init__(self, path: str, timeout: float):
        self._path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._lines: deque[str] = deque()
        self._partial = b""

    @property
    def address(self) -> str:
        return self._path

    def connect(self) -> None:
        self._sock.connect(self._path)  # OSError: the caller explains it

    def send(self, data: str) -> None:
        try:
            self._sock.sendall((data if data.endswith("\n") else data + "\n").encode())
        except OSError as e:
            raise _SendFailed(f"could not write to lircd: {e}") from e

    def readline(self) -> str:
        while not self._lines:
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError:
                raise TimeoutError(
                    f"no reply from lircd within {self._sock.gettimeout():g} s"
                ) from None
            except OSError as e:
                raise LircdSocketError(f"reading from lircd failed: {e}") from e
            if not chunk:
                raise LircdSocketError("lircd closed the connection")
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            self._lines.extend(line.decode("utf-8", "replace") for line in lines)
        return self._lines.popleft()

    def stale(self) -> bool:
        """True if lircd hung up or sent something unasked (a ``SIGHUP`` broadcast)."""
        if self._lines or self._partial:
            return True
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        self._sock.close()


def _as_list(data: Any) -> list[str]:
    """lirc's client returns a lone data line as a string and several as a list."""
    if isinstance(data, str):
        return [data] if data else []
    return [str(d) for d in data or []]


class LircRemote(KeySender):
    """Presses keys through lircd; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "socket": Option(str, default="/var/run/lirc/lircd", help="lircd's socket"),
        "remote": Option(str, required=True, help="the remote's name in lircd.conf"),
        "keymap": Option(dict, default=None, help="our key names -> the remote's button names"),
        "timeout_secs": Option(float, default=5.0, help="longest wait for a reply from lircd"),
    }

    def __init__(
        self,
        device: str,
        remote: str,
        socket_path: str = "/var/run/lirc/lircd",
        keymap: dict[str, str] | None = None,
        timeout: float = 5.0,
    ):
        self.device = device
        self.remote = remote
        self.socket_path = socket_path
        self.keymap = dict(keymap or {})
        self.timeout = timeout
        self._lock = threading.RLock()
        self._conn: _Connection | None = None
        self._client: lirc.Client | None = None
        self._buttons: dict[str, str] | None = None  # our name -> lircd's button name
        self._warned: tuple = ((), ())  # the buttons last warned about

    @classmethod
    def from_options(cls, opts: dict, device: str) -> LircRemote:
        keymap = opts.get("keymap") or {}
        for ours, theirs in keymap.items():
            if not isinstance(theirs, str) or not theirs or any(c.isspace() for c in theirs):
                raise ConfigError(
                    f"device {device!r}: remote: keymap: {ours!r} must name one of the "
                    f"remote's buttons (a string without spaces, as in lircd.conf), "
                    f"not {theirs!r}"
                )
        if not opts["remote"] or any(c.isspace() for c in opts["remote"]):
            raise ConfigError(
                f"device {device!r}: remote: 'remote' must be a remote's name in lircd.conf, "
                f"not {opts['remote']!r}"
            )
        return cls(
            device,
            opts["remote"],
            socket_path=opts.get("socket") or "/var/run/lirc/lircd",
            keymap=keymap,
            timeout=opts.get("timeout_secs") or 5.0,
        )

    # --- the protocol -------------------------------------------------------------------

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._button_map())

    def press(self, key: str, hold_secs: float | None = None) -> float:
        check_hold(hold_secs)
        with self._lock:
            buttons = self._button_map()
            if key not in buttons:
                raise unknown_key(key, list(buttons))
            button = buttons[key]
            if not hold_secs:
                return self._command(
                    f"SEND_ONCE {self.remote} {button}", lambda c: c.send_once(self.remote, button)
                )
            sent = self._command(
                f"SEND_START {self.remote} {button}", lambda c: c.send_start(self.remote, button)
            )
            stop = f"SEND_STOP {self.remote} {button}"
            try:
                time.sleep(hold_secs)
            except BaseException:
                with contextlib.suppress(LabError):
                    self._command(stop, lambda c: c.send_stop(self.remote, button))
                raise
            self._command(stop, lambda c: c.send_stop(self.remote, button))
            return sent

    def close(self) -> None:
        """Drop the connection to lircd (the next call connects again)."""
        with self._lock:
            self._drop()

    # --- lircd ----------------------------------------------------------------------------

    def _where(self) -> str:
        return (
            f"remote of {self.device!r} (lircd remote {self.remote!r}, socket {self.socket_path})"
        )

    def _fix(self) -> str:
        return (
            "Is lircd running? `systemctl status lircd` (and `journalctl -u lircd`); check that "
            "lab.toml's socket is lircd's output socket (`lircd -o`, default "
            "/var/run/lirc/lircd) and that the daemon's user may write to it"
        )

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._conn = self._client = None
        self._buttons = None

    def _ensure_client(self) -> tuple[lirc.Client, bool]:
        """The client, and whether its connection was just made."""
        if self._client is not None and self._conn is not None and not self._conn.stale():
            return self._client, False
        self._drop()
        conn = _Connection(self.socket_path, self.timeout)
        try:
            client = lirc.Client(connection=conn)
        except (OSError, LircError) as e:
            conn.close()
            reason = {
                FileNotFoundError: "the socket does not exist",
                ConnectionRefusedError: "nothing listens on the socket (lircd stopped?)",
                PermissionError: "permission denied",
            }.get(type(e), str(e) or type(e).__name__)
            raise LabError(f"{self._where()}: cannot reach lircd: {reason}. {self._fix()}") from e
        self._conn, self._client = conn, client
        return client, True

    def _command(self, what: str, call: Callable[[lirc.Client], Any]) -> Any:
        """Run ``call`` on a live client; returns the time it was called, or its result."""
        for attempt in (1, 2):
            client, fresh = self._ensure_client()
            sent = time.time()
            try:
                result = call(client)
            except _SendFailed as e:
                self._drop()
                if fresh or attempt == 2:
                    raise LabError(f"{self._where()}: `{what}` failed: {e}. {self._fix()}") from e
                continue  # the old connection was dead and nothing was sent: once more
            except LircdCommandFailureError as e:
                raise LabError(f"{self._where()}: lircd refused `{what}`: {e}") from e
            except TimeoutError as e:
                self._drop()
                raise LabError(
                    f"{self._where()}: `{what}`: {e}; lircd or its IR hardware is stuck. "
                    f"{self._fix()}"
                ) from e
            except (LircError, OSError) as e:
                self._drop()
                raise LabError(
                    f"{self._where()}: lost lircd during `{what}`: {e}. {self._fix()}"
                ) from e
            return sent if result is None else result
        raise AssertionError("unreachable")  # pragma: no cover

    def _button_map(self) -> dict[str, str]:
        self._ensure_client()  # a new connection forgets the old list
        if self._buttons is not None:
            return self._buttons
        try:
            lines = self._command(
                f"LIST {self.remote}", lambda c: _as_list(c.list_remote_keys(self.remote))
            )
        except LabError as e:
            if not isinstance(e.__cause__, LircdCommandFailureError):
                raise
            try:
                known = self._command("LIST", lambda c: _as_list(c.list_remotes()))
            except LabError:
                known = []
            raise LabError(
                f"{self._where()}: lircd has no remote {self.remote!r}; it has: "
                f"{', '.join(known) or 'none'}. Fix `remote` in lab.toml, or add the remote's "
                f"file to /etc/lirc/lircd.conf.d/ and restart lircd"
            ) from e
        self._buttons = self._map(line.split()[-1] for line in lines if line.split())
        return self._buttons

    def _map(self, remote_buttons: Any) -> dict[str, str]:
        present = list(dict.fromkeys(remote_buttons))
        mapped_to: dict[str, list[str]] = {}
        for ours, theirs in self.keymap.items():
            mapped_to.setdefault(theirs, []).append(ours)
        names: dict[str, str] = {}
        skipped = []
        for button in present:
            if button in mapped_to:
                continue
            if _OUR_NAME.fullmatch(button):
                names[button] = button
            elif (ours := "KEY_" + re.sub(r"\W", "_", button).upper()) in KNOWN_KEYS:
                names.setdefault(ours, button)  # "OK" -> KEY_OK, "ChannelUp" -> KEY_CHANNELUP
            else:
                skipped.append(button)
        for ours, theirs in self.keymap.items():
            if theirs in present:
                names[ours] = theirs
        missing = [f"{o} = {t!r}" for o, t in self.keymap.items() if t not in present]
        news = (tuple(skipped), tuple(missing))
        if news != self._warned:  # once per driver, unless lircd's list changes
            self._warned = news
            if skipped:
                log.warning(
                    "%s: buttons with no key name of ours, left out: %s; name them in "
                    "lab.toml's keymap, e.g. keymap = { KEY_... = %s }",
                    self._where(),
                    ", ".join(skipped),
                    json.dumps(skipped[0]),
                )
            if missing:
                log.warning(
                    "%s: keymap names buttons the remote does not have, left out: %s",
                    self._where(),
                    ", ".join(missing),
                )
        return names

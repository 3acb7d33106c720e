"""A TP-Link Tapo smart plug (P100, P105, P110, P115, P125, TP10) as a power switch.

``lab.toml``::

    power = { kind = "tapo", host = "192.168.1.50",
              username_env = "TAPO_USER", password_env = "TAPO_PASSWORD" }

The plug is reached on the lab network with the PyPI ``tapo`` package (a Rust client for
the plug's local KLAP protocol; ``pip install tapo``). It authenticates with the Tapo app
account the plug was set up with: ``username_env`` and ``password_env`` *name* environment
variables of the daemon that hold the account's e-mail and password, so no secret is ever
written in ``lab.toml``. ``port`` (default 80) is for a plug behind a port forward, or a
test double; ``timeout_secs`` bounds every switch or read, login included.

``tapo`` is asynchronous: each driver owns a private event loop on a thread of its own,
started on first use and stopped by :meth:`TapoPower.close`, and blocks its caller (an
RPyC thread of the daemon) on one call at a time. The login is kept between calls; after
any failure it is dropped, and the next call (or the one retry a failing call on an old
session gets) logs in again, so a plug that was rebooted or off the network works again
without a new driver. Every failure (the plug unreachable, the account refused, no answer
in time) is a :class:`~pytest_virtualpy.errors.LabError` naming the device, the plug and
the fix: a broken plug is the lab's fault, never the product's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from lab_daemon.devices.base import PowerSwitch
from lab_daemon.devices.options import Option
from pytest_virtualpy.errors import ConfigError, LabError

#: substrings of ``tapo``'s error text (it raises plain ``Exception``) -> what went wrong
_REFUSED = ("Unauthorized", "HASH_MISMATCH", "InvalidCredentials", "InvalidRequest")
_NOT_A_PLUG = ("status_code: 404", "Handshake1 failed")
_UNREACHABLE = ("Connect", "ConnectionRefused", "dns error", "timed out", "Timeout", "Io(")


class TapoPower(PowerSwitch):
    """Switches and reads a Tapo plug through ``tapo``; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "host": Option(
            str, required=True, help="the plug's IP address (give it a fixed DHCP lease)"
        ),
        "username_env": Option(
            str,
            required=True,
            env=True,
            help="the environment variable holding the Tapo account's e-mail",
        ),
        "password_env": Option(
            str,
            required=True,
            env=True,
            help="the environment variable holding the Tapo account's password",
        ),
        "port": Option(int, default=80, help="the plug's HTTP port (a port forward, a test)"),
        "timeout_secs": Option(float, default=10.0, help="how long a switch or a read may take"),
    }

    def __init__(
        self,
        device: str,
        host: str,
        username: str,
        password: str,
        *,
        port: int = 80,
        timeout: float = 10.0,
        env_names: tuple[str, str] = ("TAPO_USER", "TAPO_PASSWORD"),
    ):
        self.device = device
        self.host = host
        self._address = host if port == 80 else f"{host}:{port}"
        self._username, self._password = username, password
        self._env_names = env_names
        self._timeout = timeout
        self._plug: Any = None  # tapo's PlugHandler while logged in
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one call at a time; guards the loop and the login

    @classmethod
    def from_options(cls, opts: dict, device: str) -> TapoPower:
        names = (opts["username_env"], opts["password_env"])
        user, password = (os.environ.get(n, "") for n in names)
        for name, value in zip(names, (user, password), strict=True):
            if not value:
                raise ConfigError(
                    f"power switch of {device!r}: the environment variable {name} is not set; "
                    f"export {name}=... for the daemon (e.g. in its systemd unit)"
                )
        return cls(
            device,
            opts["host"],
            user,
            password,
            port=opts.get("port") or 80,
            timeout=opts.get("timeout_secs") or 10.0,
            env_names=names,
        )

    # --- the switch -----------------------------------------------------------------------

    def set(self, on: bool) -> None:
        self._call(
            "switch on" if on else "switch off", lambda plug: plug.on() if on else plug.off()
        )

    def get(self) -> bool:
        async def read(plug: Any) -> bool:
            return bool((await plug.get_device_info()).device_on)

        return self._call("read the state", read)

    def close(self) -> None:
        """Drop the login and stop the event loop thread (a later call starts it again)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._plug = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if loop is not None and not loop.is_running():
            loop.close()

    # --- plumbing -------------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name=f"tapo-{self.device}", daemon=True
            )
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    async def _login(self) -> Any:
        from tapo import ApiClient  # imported on use: a lab host without plugs needs no tapo

        client = ApiClient(self._username, self._password, timeout_s=math.ceil(self._timeout))
        # p100's handler switches and reads every single-socket Tapo plug (a P110's device
        # info is a superset of a P100's)
        return await client.p100(self._address)

    async def _attempt(self, op: Callable[[Any], Awaitable[Any]]) -> Any:
        async with asyncio.timeout(self._timeout):
            if self._plug is not None:
                try:
                    return await op(self._plug)
                except Exception:
                    self._plug = None  # an old session (the plug rebooted?): log in again
            self._plug = await self._login()
            return await op(self._plug)

    def _call(self, what: str, op: Callable[[Any], Awaitable[Any]]) -> Any:
        with self._lock:
            future = asyncio.run_coroutine_threadsafe(self._attempt(op), self._ensure_loop())
            try:
                return future.result(timeout=self._timeout + 5)  # the loop's own timeout first
            except (TimeoutError, concurrent.futures.TimeoutError):
                future.cancel()
                self._plug = None
                raise self._error(what, f"no answer within {self._timeout:g} s") from None
            except Exception as e:
                self._plug = None
                raise self._error(what, str(e)) from None

    def _error(self, what: str, detail: str) -> LabError:
        user_var, password_var = self._env_names
        where = f"power switch of {self.device!r}: Tapo plug at {self._address}"
        if any(s in detail for s in _REFUSED):
            problem = "refused the account"
            fix = (
                f"check that the daemon's {user_var} and {password_var} hold the e-mail and "
                "password of the Tapo app account the plug was set up with (both are "
                "case-sensitive)"
            )
        elif any(s in detail for s in _NOT_A_PLUG):
            problem = "does not answer as a Tapo plug"
            fix = (
                f"check that {self.host} is the plug's IP address (the Tapo app shows it; "
                "another device may have taken it: give the plug a fixed DHCP lease)"
            )
        elif detail.startswith("no answer") or any(s in detail for s in _UNREACHABLE):
            problem = "cannot be reached"
            fix = (
                f"check that the plug is powered and on the lab network, and that {self.host} "
                "is its IP address (the Tapo app shows it; give it a fixed DHCP lease)"
            )
        else:
            problem = "failed"
            fix = (
                f"check the plug's IP address ({self.host}) and the daemon's {user_var} and "
                f"{password_var} variables"
            )
        detail = detail if len(detail) <= 240 else detail[:240] + "..."
        return LabError(f"{where} {problem} (could not {what}): {detail}; {fix}")

"""A connection to one lab daemon: connect, authenticate, call, fail clearly.

Every failure of the lab itself (refused connection, bad token, dropped
connection, no answer) becomes a :class:`~pytest_virtualpy.errors.LabError`
subclass whose message says what to do about it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

import rpyc
from rpyc.core.async_ import AsyncResultTimeout

from pytest_virtualpy.errors import LabConnectionError
from pytest_virtualpy.lab import wire
from pytest_virtualpy.lab.dial import dial
from pytest_virtualpy.lab.tls import TlsFiles

#: RPyC settings on our side: we serve nothing back to the daemon
CLIENT_CONFIG = {
    "allow_public_attrs": False,
    "allow_all_attrs": False,
    "allow_pickle": False,
    "import_custom_exceptions": False,
    "instantiate_custom_exceptions": False,
    "sync_request_timeout": 60,
}

#: seconds added to a call's own wait time before we give up on the daemon
CALL_MARGIN_SECS = 15.0
#: the longest any call may legitimately block (a lease() queued for hours)
MAX_CALL_WAIT_SECS = 6 * 3600.0


def parse_address(address: str, default_port: int = 18861) -> tuple[str, int]:
    """``"host:port"`` (or ``"host"``) -> ``(host, port)``."""
    host, sep, port = address.rpartition(":")
    if not sep:
        return address, default_port
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise LabConnectionError(f"bad lab address {address!r}; expected HOST:PORT") from None


class LabClient:
    """An authenticated RPyC connection to one daemon (thread-safe for calls)."""

    def __init__(self, conn: rpyc.Connection, address: str):
        self._conn = conn
        self.address = address
        self._methods: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: seconds a call may overrun its own wait before we give up (the lease keeper's
        #: heartbeat connection uses a short one)
        self.call_margin_secs = CALL_MARGIN_SECS
        self._dead: str | None = None  # why abort() gave up on the daemon

    @classmethod
    def connect(
        cls,
        address: str,
        token: str,
        *,
        client_name: str = "",
        timeout: float = 10.0,
        tls: TlsFiles | None = None,
    ) -> LabClient:
        """Connect and authenticate, or raise a :class:`LabError` that says why not.

        ``tls`` (a lab's ``tls = { ca, cert, key }`` in labs.toml) wraps the connection in
        TLS with our client certificate; both ends prove the token either way
        (:mod:`~pytest_virtualpy.lab.handshake`).
        """
        host, port = parse_address(address)
        channel = dial(
            host, port, token, address=address, client_name=client_name, timeout=timeout, tls=tls
        )
        conn = rpyc.utils.factory.connect_channel(channel, config=CLIENT_CONFIG)
        return cls(conn, address)

    def _method(self, name: str):
        with self._lock:
            fn = self._methods.get(name)
            if fn is None:
                fn = self._methods[name] = rpyc.async_(getattr(self._conn.root, name))
            return fn

    def _raw(self, name: str, args: tuple, wait_secs: float) -> Any:
        if self._dead is not None:
            raise LabConnectionError(self._dead)
        # a wait beyond any the daemon allows is refused by it; here it must not overflow
        wait = float(wait_secs)
        expiry = (wait if 0 <= wait <= MAX_CALL_WAIT_SECS else MAX_CALL_WAIT_SECS) + (
            self.call_margin_secs
        )
        try:
            result = self._method(name)(*args)
            result.set_expiry(expiry)
            result.wait()
            return result.value
        except AsyncResultTimeout:
            raise LabConnectionError(
                f"the lab daemon at {self.address} did not answer {name}() within "
                f"{expiry:.0f} s; it may be overloaded or hung"
            ) from None
        except (EOFError, OSError, ConnectionError) as e:
            if self._dead is not None:  # abort() woke us: say why, not just "closed"
                raise LabConnectionError(f"{self._dead} (during {name}())") from None
            raise LabConnectionError(
                f"lost the connection to the lab daemon at {self.address} during {name}(): "
                f"{e or type(e).__name__}. Check that the daemon is still running."
            ) from None

    def abort(self, reason: str) -> None:
        """Give up on the daemon: every call, in flight or later, raises
        :class:`LabConnectionError` saying ``reason``.

        Safe from any thread. Shutting the socket down wakes a call waiting for its
        reply at once (it reads end-of-file), so a hung daemon or a stalled network
        cannot hold a test for the whole length of its call. The lease keeper calls
        this when its heartbeat goes unanswered.

        >>> client.abort("stopped answering heartbeats for 10 s")  # doctest: +SKIP
        """
        self._dead = f"the lab daemon at {self.address} {reason}"
        stream = getattr(getattr(self._conn, "_channel", None), "stream", None)
        sock = getattr(stream, "sock", None)
        if sock is not None:
            with contextlib.suppress(Exception):  # a stream closed already: nothing to wake
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def dead(self) -> str | None:
        """Why :meth:`abort` gave up on this connection (None while it has not)."""
        return self._dead

    def call(self, name: str, *args: Any, wait_secs: float = 0.0) -> Any:
        """Call an exposed method; ``wait_secs`` is how long it may legitimately block."""
        return wire.decode(self._raw(name, _plain(args), wait_secs))

    def call_bytes(self, name: str, *args: Any, wait_secs: float = 0.0) -> tuple[Any, bytes]:
        """Call an exposed method that returns ``(meta, bytes)``."""
        meta, data = self._raw(name, _plain(args), wait_secs)
        return wire.decode(meta), bytes(data)

    @property
    def closed(self) -> bool:
        """True once the connection is closed or :meth:`abort` gave up on it."""
        return self._dead is not None or self._conn.closed

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a dead connection must not mask the real error
            self._conn.close()

    def __enter__(self) -> LabClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- lab-level calls -----------------------------------------------------------------

    def hello(self) -> dict:
        return self.call("hello")

    def list_devices(self) -> list[dict]:
        return self.call("list_devices")

    def health(self) -> dict:
        return self.call("health")

    def incidents(self, since_seq: int = 0) -> dict:
        """The daemon's open incidents and those ended after change ``since_seq``:
        ``{"lab", "started", "seq", "more", "open": [...], "ended": [...]}``."""
        return self.call("incidents", int(since_seq))

    def lease(
        self,
        device: str | None,
        owner: str = "",
        ttl_secs: float = 30.0,
        wait_secs: float = 0.0,
        requirements: Any = None,
        ticket: str | None = None,
    ) -> dict:
        """Take an exclusive lease on ``device`` (None: any free one that meets
        ``requirements``), waiting in the daemon's queue up to ``wait_secs`` for one.

        ``requirements``: None, a ``{"model", "capabilities"}`` dict, its JSON, or an
        object with ``to_json()`` (:class:`~pytest_virtualpy.lab.requirements.Requirements`).
        ``ticket`` names the wait, so that another connection can :meth:`cancel_wait` it.
        The reply is the device's info plus ``lease_id``, ``ttl`` and ``key`` (the lease
        works on this connection only; its keeper renews it elsewhere with the key).

        >>> serial = {"capabilities": ["serial"]}
        >>> client.lease(None, "ci-7", 30, wait_secs=60, requirements=serial)  # doctest: +SKIP
        """
        if requirements is not None and not isinstance(requirements, str):
            to_json = getattr(requirements, "to_json", None)
            requirements = to_json() if to_json is not None else json.dumps(requirements)
        wait = float(wait_secs)
        args = (device, owner, float(ttl_secs), wait, requirements, ticket)
        return self.call("lease", *args, wait_secs=wait)

    def cancel_wait(self, ticket: str) -> bool:
        """Give up the wait named ``ticket`` (made by any connection); False if none."""
        return self.call("cancel_wait", ticket)

    def renew(self, lease_id: str, key: str | None = None) -> dict:
        """Extend a lease: on its own connection, or on another with its ``key``."""
        return self.call("renew", lease_id, key)

    def release(self, lease_id: str, key: str | None = None) -> bool:
        """Give a lease back (``key``: from another connection); False if it had ended."""
        return self.call("release", lease_id, key)


def _plain(args: tuple) -> tuple:
    """Lists become tuples: RPyC would otherwise send them by reference."""
    return tuple(_plain(a) if isinstance(a, list | tuple) else a for a in args)

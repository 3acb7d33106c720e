"""A connection to one lab daemon: connect, authenticate, call, fail clearly.

Every failure of the lab itself (refused connection, bad token, dropped
connection, no answer) becomes a :class:`~pytest_virtualpy.errors.LabError`
subclass whose message says what to do about it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import rpyc
from rpyc.core.async_ import AsyncResultTimeout
from rpyc.core.stream import SocketStream

from pytest_virtualpy.errors import AuthenticationError, LabConnectionError
from pytest_virtualpy.lab import wire
from pytest_virtualpy.lab.handshake import HandshakeRefused, client_handshake

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

    @classmethod
    def connect(
        cls, address: str, token: str, *, client_name: str = "", timeout: float = 10.0
    ) -> LabClient:
        """Connect and authenticate, or raise a :class:`LabError` that says why not."""
        host, port = parse_address(address)
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise LabConnectionError(
                f"cannot reach the lab daemon at {address}: {e.strerror or e}. Is it running "
                "(`virtualpy-lab serve` on the lab host) and is the address right?"
            ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        try:
            client_handshake(sock, token, client_name)
        except HandshakeRefused as e:
            sock.close()
            raise AuthenticationError(
                f"the lab daemon at {address} refused us ({e}). Give the client the daemon's "
                "token: the daemon prints where it keeps it; set VIRTUALPY_LAB_TOKEN or the "
                "lab's token_env in labs.toml."
            ) from None
        conn = rpyc.utils.factory.connect_stream(SocketStream(sock), config=CLIENT_CONFIG)
        return cls(conn, address)

    def _method(self, name: str):
        with self._lock:
            fn = self._methods.get(name)
            if fn is None:
                fn = self._methods[name] = rpyc.async_(getattr(self._conn.root, name))
            return fn

    def _raw(self, name: str, args: tuple, wait_secs: float) -> Any:
        try:
            result = self._method(name)(*args)
            result.set_expiry(wait_secs + CALL_MARGIN_SECS)
            result.wait()
            return result.value
        except AsyncResultTimeout:
            raise LabConnectionError(
                f"the lab daemon at {self.address} did not answer {name}() within "
                f"{wait_secs + CALL_MARGIN_SECS:.0f} s; it may be overloaded or hung"
            ) from None
        except (EOFError, OSError, ConnectionError) as e:
            raise LabConnectionError(
                f"lost the connection to the lab daemon at {self.address} during {name}(): "
                f"{e or type(e).__name__}. Check that the daemon is still running."
            ) from None

    def call(self, name: str, *args: Any, wait_secs: float = 0.0) -> Any:
        """Call an exposed method; ``wait_secs`` is how long it may legitimately block."""
        return wire.decode(self._raw(name, _plain(args), wait_secs))

    def call_bytes(self, name: str, *args: Any, wait_secs: float = 0.0) -> tuple[Any, bytes]:
        """Call an exposed method that returns ``(meta, bytes)``."""
        meta, data = self._raw(name, _plain(args), wait_secs)
        return wire.decode(meta), bytes(data)

    @property
    def closed(self) -> bool:
        return self._conn.closed

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

    def lease(self, device: str | None, owner: str = "", ttl_secs: float = 30.0) -> dict:
        """Take an exclusive lease on ``device`` (None: any free one)."""
        return self.call("lease", device, owner, float(ttl_secs))

    def renew(self, lease_id: str) -> dict:
        return self.call("renew", lease_id)

    def release(self, lease_id: str) -> bool:
        return self.call("release", lease_id)


def _plain(args: tuple) -> tuple:
    """Lists become tuples: RPyC would otherwise send them by reference."""
    return tuple(_plain(a) if isinstance(a, list | tuple) else a for a in args)

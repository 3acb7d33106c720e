"""The token handshake that runs on a raw socket before any RPyC traffic.

Both halves live here so the daemon and the client cannot drift apart. The
token itself never crosses the wire: the server sends a random nonce, the client
answers with ``HMAC-SHA256(token, nonce)``. A peer that does not speak this
(for example an RPyC classic client) is cut off before RPyC starts, so it can
call nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import socket

PROTOCOL = b"VIRTUALPY-LAB/1"
HANDSHAKE_TIMEOUT_SECS = 5.0
_MAX_LINE = 256


class HandshakeRefused(Exception):
    """The peer did not complete the handshake (wrong token, wrong protocol)."""


def _read_line(sock: socket.socket) -> bytes:
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise HandshakeRefused("connection closed during handshake")
        data += chunk
        if len(data) > _MAX_LINE:
            raise HandshakeRefused("handshake line too long")
    return bytes(data[:-1])


def _digest(token: str, nonce: bytes) -> bytes:
    return hmac.new(token.encode(), nonce, hashlib.sha256).hexdigest().encode()


def server_handshake(sock: socket.socket, token: str) -> str:
    """Challenge a freshly accepted client; return its self-declared name.

    Raises :class:`HandshakeRefused` (after telling the client) if the answer is
    wrong or does not arrive within :data:`HANDSHAKE_TIMEOUT_SECS`.
    """
    sock.settimeout(HANDSHAKE_TIMEOUT_SECS)
    nonce = secrets.token_hex(16).encode()
    try:
        sock.sendall(PROTOCOL + b" " + nonce + b"\n")
        answer = _read_line(sock)
    except (OSError, HandshakeRefused) as e:
        raise HandshakeRefused(f"no valid answer: {e}") from None
    digest, _, client_name = answer.partition(b" ")
    if not hmac.compare_digest(digest, _digest(token, nonce)):
        with contextlib.suppress(OSError):
            sock.sendall(b"DENIED bad token\n")
        raise HandshakeRefused("bad token")
    sock.sendall(b"OK\n")
    sock.settimeout(None)
    return client_name.decode(errors="replace")[:64] or "anonymous"


def client_handshake(sock: socket.socket, token: str, client_name: str = "") -> None:
    """Answer the server's challenge; raise :class:`HandshakeRefused` if refused."""
    sock.settimeout(HANDSHAKE_TIMEOUT_SECS)
    try:
        banner = _read_line(sock)
        proto, _, nonce = banner.partition(b" ")
        if proto != PROTOCOL or not nonce:
            raise HandshakeRefused(f"not a virtualpy lab daemon (it greeted with {banner[:40]!r})")
        name = client_name.replace(" ", "_").encode()[:64]
        sock.sendall(_digest(token, nonce) + (b" " + name if name else b"") + b"\n")
        verdict = _read_line(sock)
    except OSError as e:
        raise HandshakeRefused(f"handshake failed: {e}") from None
    if verdict != b"OK":
        raise HandshakeRefused(verdict.decode(errors="replace") or "refused")
    sock.settimeout(None)

"""The token handshake that runs before any RPyC traffic, proving the token both ways.

Both halves live here so the daemon and the client cannot drift apart. The token
itself never crosses the wire. Protocol ``VIRTUALPY-LAB/N``, one line each, where N is
:data:`SERVICE_VERSION` (so a client and a daemon whose service methods differ refuse
each other at once, saying so, instead of failing on the first changed call)::

    daemon -> client   VIRTUALPY-LAB/6 <daemon nonce>
    client -> daemon   <client proof> <client nonce> [<client name>]
    daemon -> client   OK <daemon proof>            (or: DENIED <why> / BUSY <why>)

A proof is ``HMAC-SHA256(token, label | daemon nonce | client nonce)`` with a
different label for each direction, so neither proof can be replayed as the other,
and each side's fresh nonce makes a recorded exchange useless. A client refuses a
daemon whose proof is wrong (:class:`ImpostorDaemon`): a fake daemon that merely
replays a banner learns nothing and gets no traffic. A peer that does not speak
this (an RPyC classic client, a port scanner) is cut off before RPyC starts.

The whole handshake has ONE deadline (:data:`HANDSHAKE_TIMEOUT_SECS`), whatever the
peer trickles. Lines are read in chunks, not byte by byte; the exchange is lock-step
(each side waits for the other's line), so a peer that sends more than one line is
broken or hostile and is refused.

>>> a = proof("tok", "client", b"n1", b"n2"); a == proof("tok", "daemon", b"n1", b"n2")
False
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import socket
import time
from collections.abc import Callable

#: the daemon's service methods: 2 serial_discard; 3 adb_shell; 4 audio, clips, live
#: view, incidents; 5 queued leases with requirements, leases bound to their connection,
#: mutual handshake; 6 match_many / put_references (localisation), threshold and
#: min_size on motion, transitions and freezes, match scales
SERVICE_VERSION = 6
PROTOCOL = b"VIRTUALPY-LAB/%d" % SERVICE_VERSION
HANDSHAKE_TIMEOUT_SECS = 5.0
_MAX_LINE = 256
_NONCE_HEX = 32  # characters of a nonce: 128 random bits


class HandshakeRefused(Exception):
    """The peer did not complete the handshake (wrong token, wrong protocol, too slow)."""


class HandshakeTimeout(HandshakeRefused):
    """The exchange did not finish before its deadline (a slow or stuck peer)."""


class ImpostorDaemon(HandshakeRefused):
    """The 'daemon' could not prove that it knows the token."""


class DaemonBusy(HandshakeRefused):
    """The daemon turned us away for now (too many handshakes, or this address is
    paused after failed authentications); trying again later may work."""


class Deadline:
    """One point in time that a whole exchange must finish by.

    >>> Deadline(5.0).remaining() > 4.0
    True
    """

    def __init__(self, secs: float):
        self._end = time.monotonic() + secs

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise HandshakeTimeout("handshake deadline passed")
        return left

    def arm(self, sock: socket.socket) -> None:
        """Make ``sock``'s next operation give up when the deadline passes."""
        sock.settimeout(self.remaining())


def proof(token: str, direction: str, daemon_nonce: bytes, client_nonce: bytes) -> bytes:
    """The hex HMAC that ``direction`` ("client" or "daemon") sends to show it knows the token."""
    msg = b"|".join((PROTOCOL, direction.encode(), daemon_nonce, client_nonce))
    return hmac.new(token.encode(), msg, hashlib.sha256).hexdigest().encode()


def read_line(sock: socket.socket, deadline: Deadline) -> bytes:
    """Read one ``\\n``-terminated line (without it) before ``deadline``.

    Reads in chunks; anything after the line is a protocol violation in this lock-step
    exchange, so it is refused rather than kept.
    """
    data = bytearray()
    while True:
        deadline.arm(sock)
        try:
            chunk = sock.recv(_MAX_LINE + 1 - len(data))
        except TimeoutError:
            raise HandshakeTimeout("handshake deadline passed") from None
        if not chunk:
            raise HandshakeRefused("connection closed during handshake")
        data += chunk
        end = data.find(b"\n")
        if end >= 0:
            if end != len(data) - 1:
                raise HandshakeRefused("peer sent data before the handshake finished")
            return bytes(data[:end])
        if len(data) > _MAX_LINE:
            raise HandshakeRefused("handshake line too long")


def _send(sock: socket.socket, data: bytes, deadline: Deadline) -> None:
    deadline.arm(sock)
    try:
        sock.sendall(data)
    except TimeoutError:
        raise HandshakeTimeout("handshake deadline passed") from None


def tell(sock: socket.socket, line: bytes) -> None:
    """Best effort: send one last line to a peer we are about to drop (never blocks long)."""
    with contextlib.suppress(OSError, ValueError):
        sock.settimeout(0.2)
        sock.sendall(line.replace(b"\n", b" ")[:200] + b"\n")


def server_handshake(
    sock: socket.socket,
    token: str,
    deadline: Deadline | None = None,
    on_bad_token: Callable[[str], None] | None = None,
) -> str:
    """Challenge a freshly accepted client, prove the token back; return its declared name.

    Raises :class:`HandshakeRefused` (after telling the client, where it makes sense) if
    the answer is wrong or malformed, or the exchange does not finish before ``deadline``
    (default: :data:`HANDSHAKE_TIMEOUT_SECS` from now). A wrong or malformed answer is the
    subclass :class:`BadToken`, and ``on_bad_token(why)`` is called before the client is
    told, so a failure is counted before the client can try again.
    """

    def refuse(why: str, line: bytes) -> BadToken:
        if on_bad_token is not None:
            on_bad_token(why)
        tell(sock, line)
        return BadToken(why)

    deadline = deadline or Deadline(HANDSHAKE_TIMEOUT_SECS)
    daemon_nonce = secrets.token_hex(_NONCE_HEX // 2).encode()
    try:
        _send(sock, PROTOCOL + b" " + daemon_nonce + b"\n", deadline)
        answer = read_line(sock, deadline)
    except OSError as e:
        raise HandshakeRefused(f"no valid answer: {e}") from None
    parts = answer.split(b" ", 2)
    if len(parts) < 2 or len(parts[1]) != _NONCE_HEX:
        raise refuse(
            f"malformed answer {answer[:40]!r}",
            b"DENIED this is a virtualpy lab daemon speaking " + PROTOCOL,
        )
    digest, client_nonce = parts[0], parts[1]
    if not hmac.compare_digest(digest, proof(token, "client", daemon_nonce, client_nonce)):
        raise refuse("bad token", b"DENIED bad token")
    try:
        _send(sock, b"OK " + proof(token, "daemon", daemon_nonce, client_nonce) + b"\n", deadline)
    except OSError as e:
        raise HandshakeRefused(f"could not answer: {e}") from None
    sock.settimeout(None)
    name = parts[2].decode(errors="replace")[:64] if len(parts) > 2 else ""
    return name or "anonymous"


class BadToken(HandshakeRefused):
    """The client answered, but not with the token's proof (counted as a failed login)."""


def client_handshake(
    sock: socket.socket, token: str, client_name: str = "", deadline: Deadline | None = None
) -> None:
    """Answer the daemon's challenge and check its proof.

    Raises :class:`ImpostorDaemon` if the daemon cannot prove the token,
    :class:`DaemonBusy` if it asks us to come back later, and
    :class:`HandshakeRefused` for everything else.
    """
    deadline = deadline or Deadline(HANDSHAKE_TIMEOUT_SECS)
    client_nonce = secrets.token_hex(_NONCE_HEX // 2).encode()
    try:
        banner = read_line(sock, deadline)
        proto, _, daemon_nonce = banner.partition(b" ")
        if proto in (b"BUSY", b"DENIED"):
            cls = DaemonBusy if proto == b"BUSY" else HandshakeRefused
            raise cls(daemon_nonce.decode(errors="replace") or "refused")
        if proto.startswith(b"VIRTUALPY-LAB/") and proto != PROTOCOL:
            raise HandshakeRefused(
                f"the daemon speaks {proto.decode(errors='replace')} but this client speaks "
                f"{PROTOCOL.decode()}: install the same virtualpy version on both ends"
            )
        if proto != PROTOCOL or not daemon_nonce or len(daemon_nonce) > 128:
            raise HandshakeRefused(f"not a virtualpy lab daemon (it greeted with {banner[:40]!r})")
        name = client_name.replace(" ", "_").encode()[:64]
        mine = proof(token, "client", daemon_nonce, client_nonce)
        _send(sock, mine + b" " + client_nonce + (b" " + name if name else b"") + b"\n", deadline)
        verdict = read_line(sock, deadline)
    except OSError as e:
        raise HandshakeRefused(f"handshake failed: {e}") from None
    word, _, rest = verdict.partition(b" ")
    if word != b"OK":
        raise HandshakeRefused(verdict.decode(errors="replace") or "refused")
    if not hmac.compare_digest(rest, proof(token, "daemon", daemon_nonce, client_nonce)):
        raise ImpostorDaemon("it could not prove it knows the token")
    sock.settimeout(None)

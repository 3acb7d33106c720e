"""Dial one lab daemon: TCP, TLS when the lab has it, the token handshake; a ready channel.

:meth:`LabClient.connect <pytest_virtualpy.lab.client.LabClient.connect>` runs this.
Every way it can fail becomes a :class:`~pytest_virtualpy.errors.LabError` that says
what to check: an unreachable daemon, a refused token, a daemon that cannot prove the
token (an impostor), a certificate we do not trust. A daemon that turns us away for
now (``BUSY``: too many connections authenticating, or our address is paused after
failed authentications) is retried until ``timeout``.
"""

from __future__ import annotations

import socket
import ssl
import time

from pytest_virtualpy.errors import AuthenticationError, LabConnectionError
from pytest_virtualpy.lab.handshake import (
    DaemonBusy,
    HandshakeRefused,
    HandshakeTimeout,
    ImpostorDaemon,
    client_handshake,
)
from pytest_virtualpy.lab.tls import TlsFiles, client_context
from pytest_virtualpy.lab.transport import BoundedChannel, PendingAwareStream

TOKEN_HINT = (
    "Give the client the daemon's token: the daemon prints where it keeps it; set "
    "VIRTUALPY_LAB_TOKEN or the lab's token_env in labs.toml."
)


def dial(
    host: str,
    port: int,
    token: str,
    *,
    address: str,
    client_name: str = "",
    timeout: float = 10.0,
    tls: TlsFiles | None = None,
) -> BoundedChannel:
    """An authenticated channel to the daemon at ``host:port`` (``address`` names it in errors)."""
    context = client_context(tls) if tls else None
    give_up = time.monotonic() + timeout
    pause = 0.05
    while True:
        try:
            return _dial_once(host, port, token, address, client_name, timeout, context)
        except DaemonBusy as e:
            if time.monotonic() + pause > give_up:
                if "failed authentications" in str(e):
                    raise AuthenticationError(
                        f"the lab daemon at {address} refused us ({e}). {TOKEN_HINT}"
                    ) from None
                raise LabConnectionError(
                    f"the lab daemon at {address} stayed too busy to let us in for "
                    f"{timeout:.0f} s ({e}); many clients may be connecting at once, or "
                    "someone is flooding it"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def _dial_once(host, port, token, address, client_name, timeout, context) -> BoundedChannel:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        raise LabConnectionError(
            f"cannot reach the lab daemon at {address}: {e.strerror or e}. Is it running "
            "(`virtualpy-lab serve` on the lab host) and is the address right?"
        ) from None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if context is not None:
            sock = _tls(sock, context, host, address)
        client_handshake(sock, token, client_name)
    except ImpostorDaemon:
        sock.close()
        raise AuthenticationError(
            f"the daemon at {address} could not prove it knows the token: it may be an "
            "impostor (or it was given another token). Check the address and the token; on a "
            "shared network use TLS (docs/security.md)."
        ) from None
    except DaemonBusy:
        sock.close()
        raise
    except HandshakeTimeout:
        sock.close()
        raise LabConnectionError(
            f"the lab daemon at {address} took the connection but did not complete the "
            "handshake in time: it may be overloaded, hung or out of file descriptors"
            + (
                "; or it uses TLS ([lab.tls]) and this lab has no tls = { ca, cert, key }"
                if context is None
                else ""
            )
        ) from None
    except HandshakeRefused as e:
        sock.close()
        if context is not None and ("SSL" in str(e) or "ALERT" in str(e).upper()):
            raise AuthenticationError(
                f"the lab daemon at {address} rejected our TLS client certificate ({e}). "
                "Is this lab's tls cert signed by the CA the daemon trusts ([lab.tls] ca), "
                "and not expired? Make one with virtualpy-lab certs --client NAME."
            ) from None
        hint = TOKEN_HINT
        if context is None and "closed" in str(e):
            hint += " If the daemon uses TLS ([lab.tls]), give this lab tls = { ca, cert, key }."
        raise AuthenticationError(f"the lab daemon at {address} refused us ({e}). {hint}") from None
    except BaseException:
        sock.close()
        raise
    return BoundedChannel(
        PendingAwareStream(sock),
        max_frame=BoundedChannel.CLIENT_LIMITS[0],
        max_inflated=BoundedChannel.CLIENT_LIMITS[1],
        label=f"the lab daemon at {address}",
    )


def _tls(sock: socket.socket, context: ssl.SSLContext, host: str, address: str) -> ssl.SSLSocket:
    port = sock.getpeername()[1]
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as e:
        raise AuthenticationError(
            f"the lab daemon at {address} showed a certificate we do not trust "
            f"({e.verify_message}). Is this lab's tls ca the CA that signed the daemon's "
            f"certificate, and does that certificate name {host} (virtualpy-lab certs --host)?"
        ) from None
    except ssl.SSLError as e:
        if e.reason == "WRONG_VERSION_NUMBER":  # the daemon spoke first, in plain text
            _plain_text_daemon(host, port, address)
        raise AuthenticationError(
            f"the TLS handshake with the lab daemon at {address} failed ({e}). Does the "
            "daemon use TLS ([lab.tls] in its lab.toml), and is our client certificate "
            "signed by its CA?"
        ) from None
    except OSError as e:
        raise AuthenticationError(
            f"the TLS handshake with the lab daemon at {address} failed ({e}). Does the "
            "daemon use TLS ([lab.tls] in its lab.toml), and is our client certificate "
            "signed by its CA?"
        ) from None


def _plain_text_daemon(host: str, port: int, address: str) -> None:
    """A daemon answered our TLS hello in plain text: read what it says on a fresh
    connection. ``BUSY`` (its handshake caps are full, or our address is paused after
    failed logins) raises :class:`DaemonBusy`, so :func:`dial` retries; a daemon that
    greets in plain text does not use TLS, which is said at once."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as probe:
            first = probe.recv(256)
    except TimeoutError:  # silent, as a TLS daemon is: it was busy and is free now
        raise DaemonBusy("it turned us away a moment ago") from None
    except OSError:
        return
    if first.startswith(b"BUSY"):
        raise DaemonBusy(first.decode(errors="replace").strip())
    raise LabConnectionError(
        f"the lab daemon at {address} does not use TLS (it greeted in plain text), but "
        "labs.toml gives this lab tls = { ca, cert, key }: add [lab.tls] to the daemon's "
        "lab.toml, or remove tls from this lab"
    )

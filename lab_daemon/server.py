"""Start the RPyC server: service mode, hardened protocol, a closed transport.

What a connection goes through, in order:

1. ``accept``. Running out of descriptors or memory (EMFILE, ENFILE, ENOMEM,
   ENOBUFS) is temporary: back off (0.1 s doubling to 1 s), log at most every
   10 s, retry; the daemon never exits on it. Any other failure of the loop is a
   real one and :class:`ServeLoopFailed` propagates (the CLI exits 1).
2. Admission (:mod:`lab_daemon.admission`): caps on connections in the handshake,
   and a pause for addresses that failed authentication too often.
3. The handshake, all within one deadline: TLS with a client certificate when
   configured, then the token handshake (:mod:`pytest_virtualpy.lab.handshake`)
   in which both ends prove the token.
4. RPyC over a :class:`~pytest_virtualpy.lab.transport.BoundedChannel`, one
   :class:`LabService` per connection with its :class:`Peer`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import ssl
import threading

from rpyc.lib import spawn
from rpyc.utils.server import ThreadedServer

from lab_daemon.admission import Admission
from lab_daemon.auth_token import check_token_strength
from lab_daemon.connection import Peer
from lab_daemon.host import LabHost
from lab_daemon.service import LabService
from pytest_virtualpy.lab.handshake import (
    HANDSHAKE_TIMEOUT_SECS,
    BadToken,
    Deadline,
    HandshakeRefused,
    server_handshake,
    tell,
)
from pytest_virtualpy.lab.tls import TlsFiles, peer_subject, server_context
from pytest_virtualpy.lab.transport import BoundedChannel, PendingAwareStream

log = logging.getLogger(__name__)

#: RPyC protocol settings: nothing but exposed service methods is reachable
PROTOCOL_CONFIG = {
    "allow_public_attrs": False,
    "allow_all_attrs": False,
    "allow_setattr": False,
    "allow_delattr": False,
    "allow_pickle": False,
    "import_custom_exceptions": False,
    "instantiate_custom_exceptions": False,
    "instantiate_oldstyle_exceptions": False,
    "include_local_traceback": False,
    "include_local_version": False,
    "propagate_SystemExit_locally": False,
}

#: accept() errors that mean "out of a resource for now", not "the listener is broken"
TEMPORARY_ACCEPT_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
#: accept() errors about the one connection being accepted: just take the next one
SKIP_ACCEPT_ERRORS = {errno.EINTR, errno.EAGAIN, errno.ECONNABORTED, errno.EPROTO, errno.EPERM}
BACKOFF_SECS = (0.1, 1.0)


class ServeLoopFailed(RuntimeError):
    """The accept loop broke for good (not a temporary shortage): the daemon must exit non-zero."""


class LabServer(ThreadedServer):
    """rpyc's threaded server: one :class:`LabService` per connection, a closed transport."""

    def __init__(
        self,
        host: LabHost,
        *,
        token: str,
        tls: TlsFiles | None = None,
        admission: Admission | None = None,
        **kwargs,
    ):
        if not token:
            raise ValueError("an empty token would let anybody in")
        self.lab_host = host
        self._token = token
        self.tls = tls
        self._tls_context = server_context(tls) if tls else None
        self.admission = admission or Admission()
        self.handshake_secs = HANDSHAKE_TIMEOUT_SECS
        self._closing = threading.Event()
        super().__init__(LabService, **kwargs)

    def close(self) -> None:
        self._closing.set()
        super().close()

    # --- 1. accept ------------------------------------------------------------------------

    def accept(self) -> None:
        """Accept one connection and start its thread; ride out descriptor exhaustion."""
        backoff = 0.0
        while self.active:
            try:
                sock, addrinfo = self.listener.accept()
            except TimeoutError:
                continue
            except OSError as e:
                if not self.active:  # close() shut the listener
                    return
                if e.errno in SKIP_ACCEPT_ERRORS:
                    continue
                if e.errno in TEMPORARY_ACCEPT_ERRORS:
                    backoff = min(max(backoff * 2, BACKOFF_SECS[0]), BACKOFF_SECS[1])
                    self.admission.log.warning(
                        "accept",
                        "cannot accept connections: %s; retrying every %.1f s (raise the "
                        "descriptor limit, e.g. LimitNOFILE= in the systemd unit)",
                        e,
                        backoff,
                    )
                    self._closing.wait(backoff)
                    continue
                raise ServeLoopFailed(f"the daemon's listener failed: {e}") from e
            else:
                break
        else:
            return
        self._admit(sock, str(addrinfo[0]))

    def _admit(self, sock: socket.socket, address: str) -> None:
        refusal = self.admission.admit(address)
        if refusal is not None:
            tell(sock, refusal)
            sock.close()
            return
        sock.setblocking(True)
        self.clients.add(sock)
        try:
            spawn(self._authenticate_and_serve_client, sock, address)
        except RuntimeError as e:  # no thread to be had: a shortage, like EMFILE
            self.admission.log.warning("spawn", "cannot start a connection thread: %s", e)
            self.admission.done(address)
            self.clients.discard(sock)
            sock.close()

    # --- 3. handshake, 4. serve -------------------------------------------------------------

    def _handshake(self, sock: socket.socket, address: str) -> tuple[socket.socket, Peer | None]:
        """TLS then the token handshake, under one deadline: the socket now in use (the TLS
        one, with TLS) and the authenticated peer, or None if it was refused."""
        deadline = Deadline(self.handshake_secs)
        subject = None
        try:
            if self._tls_context is not None:
                deadline.arm(sock)
                tls_sock = self._tls_context.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                )
                self.clients.add(tls_sock)
                self.clients.discard(sock)
                sock = tls_sock
                try:
                    tls_sock.do_handshake()
                except ssl.SSLError as e:
                    self.admission.failed(address, f"TLS handshake failed: {e.reason or e}")
                    return sock, None
                subject = peer_subject(tls_sock)
            name = server_handshake(
                sock, self._token, deadline, lambda why: self.admission.failed(address, why)
            )
        except BadToken:  # counted and logged by on_bad_token
            return sock, None
        except (HandshakeRefused, OSError) as e:
            self.admission.log.warning(
                f"gone:{address}", "dropped %s in the handshake: %s", address, e
            )
            return sock, None
        finally:
            self.admission.done(address)
        return sock, Peer.new(address, name, subject)

    def _authenticate_and_serve_client(self, sock: socket.socket, address: str) -> None:
        conn_sock = sock
        try:
            conn_sock, peer = self._handshake(sock, address)
            if peer is not None:
                self._serve_peer(conn_sock, peer)
        except Exception:
            log.exception("connection from %s ended abruptly", address)
        finally:
            for s in {sock, conn_sock}:
                with contextlib.suppress(OSError, ValueError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
                self.clients.discard(s)

    def _serve_peer(self, sock: socket.socket, peer: Peer) -> None:
        config = dict(
            self.protocol_config,
            credentials=peer.name,
            endpoints=(sock.getsockname(), sock.getpeername()),
            logger=self.logger,
        )
        channel = BoundedChannel(PendingAwareStream(sock), label=f"{peer.address} ({peer.name})")
        conn = LabService(self.lab_host, peer)._connect(channel, config)
        self._handle_connection(conn)


def make_server(
    host: LabHost,
    token: str,
    bind: str = "127.0.0.1",
    port: int = 18861,
    *,
    tls: TlsFiles | None = None,
) -> LabServer:
    """A ready-to-``start()`` threaded server for ``host``, already listening.

    Listening now (not in ``start()``) means that a client told the address,
    e.g. through the ready file, is queued until ``start()`` accepts it instead
    of being refused. A bind beyond loopback with a weak token is refused here
    (:func:`~lab_daemon.auth_token.check_token_strength`).
    """
    check_token_strength(token, bind)
    server = LabServer(
        host,
        token=token,
        tls=tls,
        hostname=bind,
        port=port,
        protocol_config=PROTOCOL_CONFIG,
        logger=logging.getLogger("lab_daemon.rpyc"),
    )
    server.listener.listen(server.backlog)
    return server

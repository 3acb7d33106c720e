"""Start the RPyC server: service mode, hardened protocol, token handshake."""

from __future__ import annotations

import logging
import socket

from rpyc.core.channel import Channel
from rpyc.core.stream import SocketStream
from rpyc.utils.authenticators import AuthenticationError
from rpyc.utils.server import ThreadedServer

from lab_daemon.connection import Peer
from lab_daemon.host import LabHost
from lab_daemon.service import LabService
from pytest_virtualpy.lab.handshake import HandshakeRefused, server_handshake

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


class LabServer(ThreadedServer):
    """rpyc's threaded server, with one :class:`LabService` per connection."""

    def __init__(self, host: LabHost, **kwargs):
        self.lab_host = host
        super().__init__(LabService, **kwargs)

    def _serve_client(self, sock, credentials):
        addrinfo = sock.getpeername()
        peer = Peer.new(str(addrinfo[0]), str(credentials or ""))
        config = dict(
            self.protocol_config,
            credentials=credentials,
            endpoints=(sock.getsockname(), addrinfo),
            logger=self.logger,
        )
        conn = LabService(self.lab_host, peer)._connect(Channel(SocketStream(sock)), config)
        self._handle_connection(conn)


class TokenAuthenticator:
    """RPyC authenticator running the :mod:`handshake` before any RPyC traffic."""

    def __init__(self, token: str):
        if not token:
            raise ValueError("an empty token would let anybody in")
        self._token = token

    def __call__(self, sock: socket.socket):
        try:
            client = server_handshake(sock, self._token)
        except HandshakeRefused as e:
            log.warning("refused a connection: %s", e)
            raise AuthenticationError(str(e)) from None
        return sock, client


def make_server(
    host: LabHost, token: str, bind: str = "127.0.0.1", port: int = 18861
) -> ThreadedServer:
    """A ready-to-``start()`` threaded server for ``host``, already listening.

    Listening now (not in ``start()``) means that a client told the address,
    e.g. through the ready file, is queued until ``start()`` accepts it instead
    of being refused.
    """
    server = LabServer(
        host,
        hostname=bind,
        port=port,
        authenticator=TokenAuthenticator(token),
        protocol_config=PROTOCOL_CONFIG,
        logger=logging.getLogger("lab_daemon.rpyc"),
    )
    server.listener.listen(server.backlog)
    return server

"""A TCP proxy for fault tests: it forwards, drops or stalls the connections through it.

Put it between a client and a lab daemon (``labs.toml`` address -> the proxy) to
reproduce a network fault with real sockets:

* :meth:`TcpProxy.drop` closes both sides of every connection, as a cut cable or a
  rebooted router does (the peers read end-of-file or a reset);
* :meth:`TcpProxy.stall` stops forwarding but keeps every socket open, as a
  black-holed route does: nothing arrives and nothing fails, until a timeout;
* :meth:`TcpProxy.forward` (the start state) passes bytes both ways again.

New connections are accepted in every state; while stalled they are held, not
forwarded.

>>> with TcpProxy(("127.0.0.1", 18861)) as proxy:  # doctest: +SKIP
...     address = proxy.address            # give this to the client
...     proxy.stall(); proxy.forward()
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading


class TcpProxy:
    """A loopback TCP proxy to ``target`` with fault switches (thread-safe)."""

    def __init__(self, target: tuple[str, int], port: int = 0):
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", port))
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.accepted = 0  # connections accepted so far
        threading.Thread(target=self._accept, name="tcp-proxy-accept", daemon=True).start()

    @property
    def address(self) -> str:
        """``HOST:PORT`` a client connects to."""
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def forward(self) -> None:
        """Pass bytes both ways (again)."""
        self._forwarding.set()

    def stall(self) -> None:
        """Stop passing bytes; every socket stays open and nobody is told."""
        self._forwarding.clear()

    def drop(self) -> None:
        """Close both sides of every current connection at once."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close(pair)

    def close(self) -> None:
        """Stop listening and close everything."""
        self._closed.set()
        self._forwarding.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.drop()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()  # the daemon is down: the client sees the connection closed
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        a, b = pair
        other = {a: b, b: a}
        try:
            while not self._closed.is_set():
                if not self._forwarding.wait(0.1):
                    continue  # stalled: read nothing, so the senders' buffers fill up
                readable, _, _ = select.select([a, b], [], [], 0.1)
                for sock in readable:
                    if not self._forwarding.is_set():
                        break
                    data = sock.recv(65536)
                    if not data:
                        return
                    other[sock].sendall(data)
        except (OSError, ValueError):  # dropped under us (ValueError: fd closed)
            return
        finally:
            with self._lock:
                if pair in self._pairs:
                    self._pairs.remove(pair)
            _close(pair)


def _close(pair: tuple[socket.socket, socket.socket]) -> None:
    for sock in pair:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

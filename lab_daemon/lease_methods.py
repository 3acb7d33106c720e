"""The lease methods of the RPyC service: lease (waiting in a fair queue), renew, release.

A lease is bound to the connection that took it (``self.peer``). Its companion
connection, the client's lease keeper, may renew and release it with the ``key`` the
lease reply carries; no other connection can use it. When the holder's connection
closes, its leases end and its waits are dropped (:meth:`LabService.on_disconnect`).

>>> client.lease(None, "ci-7", 30, 60, '{"capabilities": ["serial"]}', "t-1f3a")  # doctest: +SKIP
{'name': 'sim-0', ..., 'lease_id': '...', 'ttl': 30.0, 'key': '...'}
"""

from __future__ import annotations

import select
import socket

from lab_daemon.connection import LOCAL, Peer
from lab_daemon.exposing import ServiceBase, plain_args
from lab_daemon.leases import MAX_TICKET
from pytest_virtualpy.errors import DeviceUnavailable
from pytest_virtualpy.lab.requirements import Requirements, describe_device

MAX_OWNER = 128  # characters of an owner's name kept
MAX_DEVICE_NAME = 200
_ALL = 1 << 62  # a serial log offset beyond any output: discard() drops all unread


def _optional_text(value: object, what: str, max_chars: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_chars:
        raise ValueError(f"{what} must be None or a str of at most {max_chars} characters")
    return value


class LeaseMethods(ServiceBase):
    """``lease``, ``cancel_wait``, ``renew``, ``release``, ``set_test``, ``list_devices``."""

    peer: Peer = LOCAL

    _sock: socket.socket | None = None  # the connection's socket (set by on_connect)

    @property
    def _conn_id(self) -> str:
        return self.peer.conn_id

    def _client_gone(self) -> bool:
        """Whether the client hung up while this connection's thread waits in a call.

        Linux reports a peer that shut its side (POLLRDHUP) even with bytes still unread
        (a TLS close alert); elsewhere, peeking at the socket below TLS sees end-of-file.
        The thread serving the connection is the one waiting, so nobody else reads it.
        """
        sock = self._sock
        if sock is None:
            return False
        try:
            if hasattr(select, "POLLRDHUP"):
                poller = select.poll()
                hangup = select.POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL
                poller.register(sock.fileno(), hangup)
                return any(events & hangup for _, events in poller.poll(0))
            return socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except (OSError, ValueError):
            return True

    @plain_args
    def exposed_list_devices(self) -> list[dict]:
        """Every device with its lease (None if free) and how many clients it could serve
        wait for this lab."""
        leases = self.host.leases.snapshot()
        waiting = self.host.leases.waiting()
        return [
            dict(rt.info(), lease=leases[rt.device.name], waiting=waiting[rt.device.name])
            for rt in self.host.runtimes
        ]

    @plain_args
    def exposed_lease(
        self,
        device: str | None,
        owner: str,
        ttl_secs: float,
        wait_secs: float = 0.0,
        requirements_json: str | None = None,
        ticket: str | None = None,
    ) -> dict:
        """Lease ``device`` (None: any that meets ``requirements_json``), waiting up to
        ``wait_secs`` in arrival order; the reply is the device's info, ``lease_id``,
        ``ttl`` and ``key`` (for renewing and releasing from another connection)."""
        device = _optional_text(device, "device", MAX_DEVICE_NAME) or None
        owner = (_optional_text(owner, "owner", 1 << 12) or "")[:MAX_OWNER]
        wanted = Requirements.from_json(requirements_json)  # ttl, wait, ticket: the table
        if device is not None:
            self.host.runtime(device)  # an unknown name: DeviceUnavailable listing the devices
        infos = [rt.info() for rt in self.host.runtimes]
        candidates = [i["name"] for i in infos if wanted.meets(i) and device in (None, i["name"])]
        if not candidates:
            raise DeviceUnavailable(_no_match(self.host.name, wanted, device, infos))
        lease = self.host.leases.acquire(
            device,
            owner,
            ttl_secs,
            wait_secs=wait_secs,
            candidates=candidates,
            conn_id=self._conn_id,
            ticket=ticket or None,
            gone=self._client_gone,
        )
        rt = self.host.runtime(lease.device)
        if rt.console is not None:
            rt.console.discard(_ALL)  # the new holder never reads the last one's output
        return dict(rt.info(), lease_id=lease.lease_id, ttl=lease.ttl, key=lease.key)

    @plain_args
    def exposed_cancel_wait(self, ticket: str) -> bool:
        """Drop the wait named ``ticket`` at once (from any connection); False if none."""
        ticket = _optional_text(ticket, "ticket", MAX_TICKET)
        if not ticket:
            raise ValueError(f"ticket must be a str of 1 to {MAX_TICKET} characters")
        return self.host.leases.cancel_wait(ticket)

    @plain_args
    def exposed_renew(self, lease_id: str, key: str | None = None) -> dict:
        """Extend the lease by its TTL: on its own connection, or elsewhere with its key."""
        lease = self.host.leases.renew(str(lease_id), self._conn_id, _optional_text(key, "key", 64))
        return {"device": lease.device, "ttl": lease.ttl}

    @plain_args
    def exposed_release(self, lease_id: str, key: str | None = None) -> bool:
        """Give the device back (to the longest waiter); False if the lease had ended."""
        return self.host.leases.release(
            str(lease_id), self._conn_id, _optional_text(key, "key", 64)
        )

    @plain_args
    def exposed_set_test(self, lease_id: str, test: str | None, key: str | None = None) -> dict:
        """Say which test now runs on the leased device (None: none); shown to lab owners."""
        lease = self.host.leases.set_test(
            str(lease_id), test, self._conn_id, _optional_text(key, "key", 64)
        )
        return {"device": lease.device, "test": lease.test}


def _no_match(lab: str, wanted: Requirements, device: str | None, infos: list[dict]) -> str:
    """The error for a lease no device of this lab could ever serve, listing its devices."""
    what = wanted.describe() + (f" named {device!r}" if device else "")
    return f"no device on lab {lab} matches {what}; its devices: " + "; ".join(
        describe_device(None, i) for i in infos
    )

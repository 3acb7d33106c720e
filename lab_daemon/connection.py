"""Who is on the other end of one RPyC connection: its id, address and declared name.

The server makes one :class:`Peer` per authenticated connection and hands it to that
connection's own :class:`~lab_daemon.service.LabService`, so a lease can be bound to
the connection that took it and limits can be counted per connection and per address.

>>> Peer.new("10.0.0.7", "ci-runner:4242").address
'10.0.0.7'
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Peer:
    """One authenticated connection: ``conn_id`` is random and never sent to anyone."""

    conn_id: str
    address: str
    name: str = "anonymous"
    tls_subject: str | None = field(default=None)  # the client certificate's CN, with TLS

    @classmethod
    def new(cls, address: str, name: str = "anonymous", tls_subject: str | None = None) -> Peer:
        return cls(secrets.token_hex(8), address, name or "anonymous", tls_subject)


#: the peer of in-process callers (tests, benchmarks) that build a service directly
LOCAL = Peer("local", "127.0.0.1", "local")

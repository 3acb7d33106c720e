"""The monitoring's exposed method: ``incidents(since_seq)``, no lease needed.

A poller (``virtualpy monitor``) keeps the ``seq`` of each reply and asks again with it,
so it sees each incident open and end exactly once::

    seq = 0
    while True:
        reply = client.call("incidents", seq)
        ...  # reply["open"], reply["ended"]; reply["started"] changes if the daemon restarted
        seq = reply["seq"]
"""

from __future__ import annotations

from lab_daemon.exposing import ServiceBase, number, plain_args

MAX_SEQ = 2**53


class MonitorMethods(ServiceBase):
    """``incidents``: what the lab's watchdogs found."""

    @plain_args
    def exposed_incidents(self, since_seq) -> dict:
        """The daemon's start time, the lab, every open incident and those that ended after
        change number ``since_seq`` (0: all the daemon remembers), oldest first, bounded;
        ``seq`` is the number to ask with next time, ``more`` that there is more to ask."""
        since = int(number(since_seq, "since_seq", 0, MAX_SEQ))
        return self.host.incidents.since(since)

"""The lab's incidents: what the watchdogs saw, each with a stable unique id.

One :class:`IncidentLog` per daemon. Every change (an incident opening or ending) takes
the next number of one sequence, so a poller asks "what changed since number N" and
gets each opening and each end exactly once. The log keeps every open incident and the
last ``keep`` ended ones: it is bounded however long the daemon runs.

An incident's id is ``LAB:START_MS:SEQ`` (the lab's name, the daemon's start time in
milliseconds, the sequence number it opened with): unique across daemon restarts, so a
database can use it as its key.

>>> log = IncidentLog("pi-03", started=1764630000.0, keep=100)
>>> inc = log.open("tv-1", "black", 1764630100.0, "black screen for 10 s")
>>> inc.id
'pi-03:1764630000000:1'
>>> log.close(inc, 1764630160.0)
>>> log.since(0)["ended"][0]["end"]
1764630160.0
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

#: the most ended incidents one reply carries (a poller asks again for the rest)
MAX_REPLY = 1000


@dataclass
class Incident:
    """One incident; ``end`` is None while it is open."""

    id: str
    seq: int
    device: str
    kind: str
    start: float
    message: str
    test: str | None = None
    end: float | None = None
    end_seq: int | None = None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "seq": self.seq,
            "device": self.device,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "message": self.message,
            "test": self.test,
        }


class IncidentLog:
    """Open incidents and the last ``keep`` ended ones, numbered by one sequence."""

    def __init__(self, lab: str, started: float, keep: int = 500, enabled: bool = True):
        self.lab = lab
        self.started = started
        self.enabled = enabled
        self._lock = threading.Lock()
        self._seq = 0
        self._open: dict[str, Incident] = {}
        self._ended: collections.deque[Incident] = collections.deque(maxlen=max(1, keep))

    def open(
        self, device: str, kind: str, start: float, message: str, test: str | None = None
    ) -> Incident:
        """Record a new open incident and return it."""
        with self._lock:
            self._seq += 1
            uid = f"{self.lab}:{round(self.started * 1000)}:{self._seq}"
            incident = Incident(uid, self._seq, device, kind, start, message, test)
            self._open[uid] = incident
            return incident

    def close(self, incident: Incident, end: float, note: str | None = None) -> None:
        """End ``incident`` at ``end`` (``note``, if given, is added to its message)."""
        with self._lock:
            if self._open.pop(incident.id, None) is None:
                return
            self._seq += 1
            incident.end, incident.end_seq = max(end, incident.start), self._seq
            if note:
                incident.message = f"{incident.message} ({note})"
            self._ended.append(incident)

    def since(self, seq: int, limit: int = MAX_REPLY) -> dict:
        """Every open incident, and those ended after change number ``seq`` (oldest first,
        at most ``limit``; ``more`` says there are others: ask again from ``seq``)."""
        with self._lock:
            ended = [i for i in self._ended if i.end_seq is not None and i.end_seq > seq]
            more = len(ended) > limit
            ended = ended[:limit]
            return {
                "lab": self.lab,
                "started": self.started,
                "enabled": self.enabled,
                "seq": ended[-1].end_seq if more else self._seq,
                "more": more,
                "open": [i.to_dict() for i in sorted(self._open.values(), key=lambda i: i.seq)],
                "ended": [i.to_dict() for i in ended],
            }

    def summary(self) -> dict[str, dict]:
        """Per device: the kinds open now, and how many incidents it had (of those kept)."""
        with self._lock:
            out: dict[str, dict] = {}
            for i in [*self._ended, *self._open.values()]:
                entry = out.setdefault(i.device, {"open": [], "count": 0})
                entry["count"] += 1
                if i.end is None:
                    entry["open"].append(i.kind)
            return out

"""The ``alerts`` table: one row per monitoring incident, written once, ended once.

``virtualpy monitor`` hands each incident it sees here as a plain dict (the daemon's
``incidents()`` entries: ``id, device, kind, start, end, message, test``). A row is
inserted the first time an incident's id is seen and its ``ended_at`` is set the first
time it is seen ended; seeing it again changes nothing, so a restarted monitor, or two
polls that overlap, never duplicate a row (``alerts.uid`` is unique).

>>> store = AlertStore(Database.connect(url))
>>> store.record("pi-03", {"id": "pi-03:1764630000000:1", "device": "tv-1",
...     "kind": "black", "start": 1764630100.0, "end": None, "message": "black screen"})
Written(opened=True, closed=False)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_virtualpy.results.db import Database, to_datetime

UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Written:
    """What one :meth:`AlertStore.record` changed: truthy if anything."""

    opened: bool
    closed: bool

    def __bool__(self) -> bool:
        return self.opened or self.closed


class AlertStore:
    """Writes incidents into a migrated results database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._labs: dict[str, int] = {}
        self._devices: dict[tuple[int, str], int] = {}

    def _lab_id(self, lab: str, address: str | None = None) -> int:
        if lab not in self._labs:
            self._labs[lab] = self.db.scalar(
                "INSERT INTO labs (name, address, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET address = COALESCE(excluded.address, "
                "labs.address) RETURNING id",
                (lab, address, to_datetime(time.time())),
            )
        return self._labs[lab]

    def _device_id(self, lab_id: int, device: str | None) -> int | None:
        if not device:
            return None
        key = (lab_id, device)
        if key not in self._devices:
            self._devices[key] = self.db.scalar(
                "INSERT INTO devices (lab_id, name) VALUES (?, ?) "
                "ON CONFLICT (lab_id, name) DO UPDATE SET name = excluded.name RETURNING id",
                (lab_id, device),
            )
        return self._devices[key]

    def record(self, lab: str, incident: dict[str, Any], address: str | None = None) -> Written:
        """Insert the incident if its id is new; set its end if it ended and had none."""
        lab_id = self._lab_id(lab, address)
        device_id = self._device_id(lab_id, incident.get("device"))
        end = incident.get("end")
        cur = self.db.execute(
            "INSERT INTO alerts (uid, lab_id, device_id, kind, message, test, started_at, "
            "ended_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (uid) DO NOTHING",
            (
                str(incident["id"]),
                lab_id,
                device_id,
                str(incident["kind"]),
                incident.get("message"),
                incident.get("test"),
                to_datetime(float(incident["start"])),
                to_datetime(end),
                to_datetime(time.time()),
            ),
        )
        opened = cur.rowcount == 1
        if opened or end is None:
            return Written(opened, opened and end is not None)
        return Written(False, self._end(str(incident["id"]), float(end), incident.get("message")))

    def _end(self, uid: str, end: float, message: str | None = None) -> bool:
        cur = self.db.execute(
            "UPDATE alerts SET ended_at = ?, message = COALESCE(?, message) "
            "WHERE uid = ? AND ended_at IS NULL",
            (to_datetime(end), message, uid),
        )
        return cur.rowcount == 1

    def lab_at(self, address: str) -> str | None:
        """The name of the lab last seen answering at ``address``, if any."""
        return self.db.scalar(
            "SELECT name FROM labs WHERE address = ? ORDER BY id DESC LIMIT 1", (address,)
        )

    def open_alerts(self, lab: str) -> list[dict[str, Any]]:
        """The lab's rows without an end: ``uid, kind, device, message``."""
        return self.db.query(
            "SELECT a.uid, a.kind, d.name AS device, a.message FROM alerts a "
            "JOIN labs l ON l.id = a.lab_id LEFT JOIN devices d ON d.id = a.device_id "
            "WHERE l.name = ? AND a.ended_at IS NULL AND a.uid IS NOT NULL ORDER BY a.id",
            (lab,),
        )

    def close_others(
        self, lab: str, keep: set[str], at: float, note: Callable[[str], str]
    ) -> list[dict]:
        """End the lab's open daemon incidents whose id is not in ``keep`` at ``at``, with
        ``note(uid)`` added to their message (the daemon restarted, or forgot them);
        returns them."""
        closed = []
        for row in self.open_alerts(lab):
            if row["uid"] in keep or row["kind"] == UNREACHABLE:
                continue
            message = f"{row['message'] or row['kind']} ({note(row['uid'])})"
            if self._end(row["uid"], at, message):
                closed.append(row)
        return closed

    def unreachable(self, lab: str, at: float, message: str) -> Written:
        """Open a "lab unreachable" incident for ``lab`` unless one is open already."""
        if any(r["kind"] == UNREACHABLE for r in self.open_alerts(lab)):
            return Written(False, False)
        uid = f"monitor:{lab}:{round(at * 1000)}"
        return self.record(lab, {"id": uid, "kind": UNREACHABLE, "start": at, "message": message})

    def reachable(self, lab: str, at: float) -> list[dict]:
        """End the lab's open "unreachable" incident, if any; returns what was ended."""
        return [
            r for r in self.open_alerts(lab) if r["kind"] == UNREACHABLE and self._end(r["uid"], at)
        ]

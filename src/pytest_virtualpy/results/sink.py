"""Writes run and test records into the results schema, idempotently (upserts).

A run is keyed by ``run_uid`` and a test by (run, node id), so shipping the same spool
twice (a retry, ``virtualpy results sync`` after a partial ship) updates rows in place
and replaces a test's steps, KPIs and artifacts instead of duplicating them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_virtualpy.results.db import Database, to_datetime
from pytest_virtualpy.results.records import RunRecord, TestRecord

_RUN_COLUMNS = (
    "run_uid, name, campaign, build, host, labs, workers, started_at, finished_at, status, "
    "passed, failed, errors, skipped, xfailed, xpassed"
)


class Sink:
    """Record writer over one :class:`Database` connection."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._labs: dict[str, int] = {}
        self._devices: dict[tuple[int, str], int] = {}
        self._runs: dict[str, int] = {}

    def write(self, run: RunRecord | None, tests: list[TestRecord]) -> None:
        """Upsert ``run`` (if given) and ``tests`` in one transaction."""
        try:
            with self.db.transaction():
                if run is not None:
                    self._upsert_run(run)
                for t in tests:
                    self._upsert_test(t)
        except Exception:
            # ids cached inside a rolled-back transaction may not exist
            self._labs.clear()
            self._devices.clear()
            self._runs.clear()
            raise

    # -- runs ----------------------------------------------------------------------

    def _upsert_run(self, r: RunRecord) -> int:
        c = r.counts
        values = (
            r.run_uid,
            r.name,
            r.campaign,
            r.build,
            r.host,
            r.labs,
            r.workers,
            to_datetime(r.started_at),
            to_datetime(r.finished_at),
            r.status,
            c.get("passed", 0),
            c.get("failed", 0),
            c.get("error", 0),
            c.get("skipped", 0),
            c.get("xfailed", 0),
            c.get("xpassed", 0),
        )
        updates = ", ".join(
            f"{col} = excluded.{col}" for col in _RUN_COLUMNS.split(", ") if col != "run_uid"
        )
        run_id = self.db.scalar(
            f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * len(values))}) "
            f"ON CONFLICT (run_uid) DO UPDATE SET {updates} RETURNING id",
            values,
        )
        self._runs[r.run_uid] = run_id
        return run_id

    def _run_id(self, run_uid: str) -> int:
        if run_uid not in self._runs:
            run_id = self.db.scalar("SELECT id FROM runs WHERE run_uid = ?", (run_uid,))
            if run_id is None:
                raise LookupError(f"run {run_uid} has no row yet; ship its run record first")
            self._runs[run_uid] = run_id
        return self._runs[run_uid]

    # -- labs and devices ----------------------------------------------------------

    def _lab_id(self, name: str | None) -> int | None:
        if not name:
            return None
        if name not in self._labs:
            self._labs[name] = self.db.scalar(
                "INSERT INTO labs (name, created_at) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
                (name, to_datetime(_now())),
            )
        return self._labs[name]

    def _device_id(
        self, lab_id: int | None, name: str | None, model: str | None, kind: str | None = None
    ) -> int | None:
        if not name or lab_id is None:
            return None
        key = (lab_id, name)
        if key not in self._devices:
            self._devices[key] = self.db.scalar(
                "INSERT INTO devices (lab_id, name, model, kind) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (lab_id, name) DO UPDATE SET "
                "model = COALESCE(excluded.model, devices.model), "
                "kind = COALESCE(excluded.kind, devices.kind) RETURNING id",
                (lab_id, name, model, kind),
            )
        return self._devices[key]

    # -- tests ---------------------------------------------------------------------

    def _upsert_test(self, t: TestRecord) -> int:
        run_id = self._run_id(t.run_uid)
        lab_id = self._lab_id(t.lab)
        device_id = self._device_id(lab_id, t.device, t.model, t.kind)
        values = (
            run_id,
            t.nodeid,
            t.name,
            t.file,
            t.outcome,
            bool(t.lab_error),
            bool(t.usage_error),
            device_id,
            lab_id,
            t.worker,
            to_datetime(t.started_at),
            to_datetime(t.finished_at),
            t.duration_ms,
            t.lease_wait_ms,
            t.message,
        )
        test_id = self.db.scalar(
            "INSERT INTO test_results (run_id, nodeid, name, file, outcome, lab_error, "
            "usage_error, device_id, lab_id, worker, started_at, finished_at, duration_ms, "
            "lease_wait_ms, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, nodeid) DO UPDATE SET name = excluded.name, "
            "file = excluded.file, outcome = excluded.outcome, lab_error = excluded.lab_error, "
            "usage_error = excluded.usage_error, "
            "device_id = excluded.device_id, lab_id = excluded.lab_id, "
            "worker = excluded.worker, started_at = excluded.started_at, "
            "finished_at = excluded.finished_at, duration_ms = excluded.duration_ms, "
            "lease_wait_ms = excluded.lease_wait_ms, message = excluded.message RETURNING id",
            values,
        )
        for table in ("steps", "kpis", "artifacts"):
            self.db.execute(f"DELETE FROM {table} WHERE test_result_id = ?", (test_id,))
        self.db.executemany(
            "INSERT INTO steps (test_result_id, idx, depth, kind, name, started_at, "
            "duration_ms, ok, detail, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    test_id,
                    i,
                    int(s.get("depth") or 0),
                    s.get("kind"),
                    s.get("name"),
                    to_datetime(s.get("started")),
                    s.get("duration_ms"),
                    bool(s.get("ok", True)),
                    json.dumps(s.get("detail") or {}, default=str),
                    s.get("error"),
                )
                for i, s in enumerate(t.steps)
            ],
        )
        self.db.executemany(
            "INSERT INTO kpis (test_result_id, run_id, device_id, name, value_ms, measured_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    test_id,
                    run_id,
                    self._device_id(lab_id, k.get("device"), None) or device_id,
                    k["name"],
                    float(k["value_ms"]),
                    to_datetime(k.get("time")),
                )
                for k in t.kpis
            ],
        )
        self.db.executemany(
            "INSERT INTO artifacts (test_result_id, run_id, kind, name, uri, size_bytes, "
            "sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    test_id,
                    run_id,
                    a.get("kind"),
                    a.get("name"),
                    artifact_uri(a),
                    a.get("size"),
                    a.get("sha256"),
                    to_datetime(a.get("created") or t.finished_at),
                )
                for a in t.artifacts
            ],
        )
        return test_id


def artifact_uri(a: dict[str, Any]) -> str:
    """The artifact's recorded URI: its S3 URI once uploaded, else its local file URI."""
    if a.get("uri"):
        return str(a["uri"])
    path = a.get("path")
    return Path(path).resolve().as_uri() if path else f"file:///{a.get('name', 'unknown')}"


def _now() -> float:
    import time

    return time.time()

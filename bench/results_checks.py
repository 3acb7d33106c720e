"""The checks ``results_overhead.py`` runs after every timed run: the work really happened.

A figure for "Postgres + S3" means nothing unless every row landed and every artifact was
uploaded, so each run is checked outside the timing: the pytest exit code and summary,
one local screenshot per test, the run row and test rows by outcome, one artifact row
per local file (``file://`` for SQLite, ``s3://`` for Postgres + S3), an emptied spool,
and for S3 exactly the objects the database names (``list_objects_v2``).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

BUCKET = "vpy-bench"
S3_PREFIX = "runs"
SHOT = "shot.png"


class BenchError(Exception):
    """The timed work did not happen as claimed; the figures would be meaningless."""


def expected(n: int) -> dict[str, int]:
    failed = sum(1 for i in range(n) if i % 10 == 9)
    skipped = sum(1 for i in range(n) if i % 10 == 8)
    return {"passed": n - failed - skipped, "failed": failed, "skipped": skipped}


@dataclass
class Verified:
    """What the checks after each run counted, summed over a configuration's runs."""

    runs: int = 0
    test_rows: int = 0
    artifact_rows: int = 0
    files: int = 0
    s3_objects: int = 0

    def add(self, other: Verified) -> None:
        self.runs += other.runs
        self.test_rows += other.test_rows
        self.artifact_rows += other.artifact_rows
        self.files += other.files
        self.s3_objects += other.s3_objects


@dataclass
class RunChecker:
    """Checks one finished run of a configuration; see the module docstring."""

    root: Path
    pg_url: str
    s3: Any
    pg: Any = None  # a psycopg connection to the scratch database, opened when first needed

    def check(
        self, config: str, n: int, run_uid: str, proc: subprocess.CompletedProcess
    ) -> Verified:
        want = expected(n)
        want_rc = 1 if want["failed"] else 0  # pytest.ExitCode.TESTS_FAILED / OK
        if proc.returncode != want_rc:
            raise BenchError(f"pytest exited with {proc.returncode}, expected {want_rc}")
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        got = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped)", summary)}
        if any(got.get(k, 0) != v for k, v in want.items()) or set(got) - set(want):
            raise BenchError(f"summary {summary!r}, expected {want}")
        if "error" in summary:
            raise BenchError(f"summary reports errors: {summary!r}")

        workdir = self.root / str(n)
        run_dir = workdir / ".virtualpy" / "artifacts" / run_uid
        files = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
        shots = sorted(f for f in files if f.endswith("/" + SHOT))
        if len(shots) != n or len({f.split("/")[0] for f in shots}) != n:
            raise BenchError(f"{len(shots)} {SHOT} files in {run_dir}, expected one per test ({n})")
        v = Verified(runs=1, files=len(files))

        if config == "off":
            if (workdir / ".virtualpy" / "spool" / run_uid).exists():
                raise BenchError("results are off but the run was spooled")
        else:
            if f"virtualpy: run {run_uid} recorded in" not in proc.stdout:
                raise BenchError("pytest did not report the run as recorded")
            spool = workdir / ".virtualpy" / "spool" / run_uid
            if spool.exists():
                raise BenchError(f"the spool {spool} still holds the run (not all shipped)")
            if config == "sqlite":
                db = sqlite3.connect(self.root / "bench.db")
                try:
                    v.test_rows, v.artifact_rows, uris = _check_rows(db.execute, "?", run_uid, want)
                finally:
                    db.close()
                rels = set()
                for uri in uris:
                    if not uri.startswith("file://"):
                        raise BenchError(f"SQLite artifact URI {uri!r} is not file://")
                    path = Path(unquote(urlsplit(uri).path))
                    if not path.is_file():
                        raise BenchError(f"artifact row names a missing file: {path}")
                    if not path.resolve().is_relative_to(run_dir.resolve()):
                        raise BenchError(f"artifact row names a file outside {run_dir}: {path}")
                    rels.add(path.resolve().relative_to(run_dir.resolve()).as_posix())
            else:
                if self.pg is None:
                    import psycopg

                    self.pg = psycopg.connect(self.pg_url, autocommit=True)
                v.test_rows, v.artifact_rows, uris = _check_rows(
                    self.pg.execute, "%s", run_uid, want
                )
                base = f"s3://{BUCKET}/{S3_PREFIX}/{run_uid}/"
                bad = [u for u in uris if not u.startswith(base)]
                if bad:
                    raise BenchError(f"{len(bad)} artifact URIs not under {base}, e.g. {bad[0]!r}")
                rels = {u[len(base) :] for u in uris}
                keys = self.s3_keys(f"{S3_PREFIX}/{run_uid}/")
                objects = {k[len(S3_PREFIX) + len(run_uid) + 2 :] for k in keys}
                if objects != rels:
                    raise BenchError(
                        f"S3 holds {len(objects)} objects under {base}, the database names "
                        f"{len(rels)}; missing {sorted(rels - objects)[:3]}, "
                        f"extra {sorted(objects - rels)[:3]}"
                    )
                v.s3_objects = len(keys)
                self.s3_delete(keys)  # keep moto's memory (and later runs) small
            if len(uris) != len(rels) or rels != files:
                raise BenchError(
                    f"{len(uris)} artifact rows, {len(files)} local files; rows without a file "
                    f"{sorted(rels - files)[:3]}, files without a row {sorted(files - rels)[:3]}"
                )
        shutil.rmtree(run_dir)
        return v

    def s3_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        kwargs: dict[str, Any] = {"Bucket": BUCKET, "Prefix": prefix}
        while True:
            page = self.s3.list_objects_v2(**kwargs)
            keys += [o["Key"] for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return keys
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def s3_delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            objs = [{"Key": k} for k in keys[i : i + 1000]]
            resp = self.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": objs})
            if resp.get("Errors"):
                raise BenchError(f"cannot clean up S3 objects: {resp['Errors'][:3]}")

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()


def _check_rows(execute, ph: str, run_uid: str, want: dict[str, int]) -> tuple[int, int, list]:
    """Check the run's rows; returns (test rows, artifact rows, artifact URIs)."""
    row = execute(
        f"SELECT id, status, finished_at, passed, failed, skipped FROM runs WHERE run_uid = {ph}",
        (run_uid,),
    ).fetchone()
    if row is None:
        raise BenchError("no runs row for the run")
    run_id, status, finished_at, *counts = row
    if finished_at is None or status in (None, "running"):
        raise BenchError(f"the run row is not finished (status {status!r})")
    if dict(zip(("passed", "failed", "skipped"), counts, strict=True)) != want:
        raise BenchError(f"the run row counts {counts}, expected {want}")
    outcomes = dict(
        execute(
            f"SELECT outcome, count(*) FROM test_results WHERE run_id = {ph} GROUP BY outcome",
            (run_id,),
        ).fetchall()
    )
    if outcomes != {k: v for k, v in want.items() if v}:
        raise BenchError(f"test rows by outcome {outcomes}, expected {want}")
    arts = execute(
        f"SELECT uri, name, test_result_id FROM artifacts WHERE run_id = {ph}", (run_id,)
    ).fetchall()
    if any(test_result_id is None for _, _, test_result_id in arts):
        raise BenchError("artifact rows without a test row")
    shots = sum(1 for _, name, _ in arts if name == SHOT)
    n = sum(want.values())
    if shots != n:
        raise BenchError(f"{shots} {SHOT} artifact rows, expected one per test ({n})")
    return sum(outcomes.values()), len(arts), [uri for uri, _, _ in arts]

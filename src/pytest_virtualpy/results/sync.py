"""``virtualpy results sync``: ship the spools that runs could not ship themselves.

Which spools, and where to:

* ``virtualpy results sync`` ships every pending spool on the machine (this project's,
  and every spool root an earlier run noted) to the sink that spool was recorded for.
* ``virtualpy results sync --results-db URL`` (or ``--artifacts``/``--s3-endpoint``)
  corrects where *this project's* runs go (the database moved, or was given wrong): it
  ships only the spools of the project folder it runs in, never another project's.
* A spool that a live run is still writing is skipped, never claimed: the run ships it
  itself. A spool whose run died (SIGKILL, power loss) is closed as ``aborted`` first.

Every run shipped is named with where it went.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pytest_virtualpy.results.db import Database, DbUrl, ResultsDbError
from pytest_virtualpy.results.s3 import ArtifactStoreError, S3Store, S3Target
from pytest_virtualpy.results.settings import DEFAULT_SPOOL
from pytest_virtualpy.results.shipper import ship
from pytest_virtualpy.results.sink import Sink
from pytest_virtualpy.results.spool import (
    Spool,
    forget_empty_roots,
    remembered_roots,
    spooled_runs,
)


@dataclass
class Overrides:
    """Where to ship instead of where each run meant to (``None``: as the run meant)."""

    results_db: DbUrl | None = None
    store: S3Store | None = None
    s3_endpoint: str | None = None

    def __bool__(self) -> bool:
        return bool(self.results_db or self.store or self.s3_endpoint)


@dataclass
class SyncReport:
    """What a sync did: how many records are still left in the spools it looked at."""

    left: int = 0


class Syncer:
    """Ships spools one by one, each under its claim; see the module docstring."""

    def __init__(
        self,
        overrides: Overrides,
        parse_db: Callable[[str | None], DbUrl],
        out: TextIO = sys.stdout,
        err: TextIO = sys.stderr,
    ) -> None:
        self.overrides = overrides
        self.parse_db = parse_db
        self.out, self.err = out, err
        self.report = SyncReport()
        self._sinks: dict[str, Sink] = {}

    def _sink(self, url: DbUrl) -> Sink:
        if str(url) not in self._sinks:
            self._sinks[str(url)] = Sink(Database.connect(url))
        return self._sinks[str(url)]

    def _targets(self, spool: Spool) -> tuple[DbUrl, S3Store | None]:
        meta = spool.meta()
        url = self.overrides.results_db
        if url is None:
            if not meta.get("results_db"):
                raise ResultsDbError(
                    "its spool does not say which database it was meant for; run "
                    "`virtualpy results sync --results-db URL` in its project folder"
                )
            url = self.parse_db(meta["results_db"])
        store = self.overrides.store
        if store is None and meta.get("artifacts"):
            endpoint = self.overrides.s3_endpoint or meta.get("s3_endpoint")
            store = S3Store(S3Target.parse(meta["artifacts"]), endpoint)
        return url, store

    def sync(self, spool: Spool) -> None:
        """Ship one spool if it is not live; print what happened."""
        if not spool.claim():
            if spool.folder.exists():
                print(
                    f"run {spool.run_uid}: skipped: in use by {spool.holder()}; a run that "
                    "is still going ships its own results",
                    file=self.out,
                )
            return
        try:
            aborted = spool.close_abandoned()
            pending = spool.pending()
            try:
                url, store = self._targets(spool)
                ship(pending, self._sink(url), store)
            except Exception as e:  # this spool stays; the others still get their turn
                ours = isinstance(e, ResultsDbError | ArtifactStoreError)
                why = str(e) if ours else f"{type(e).__name__}: {e}"
                print(f"run {spool.run_uid}: not shipped: {why}", file=self.err)
                self.report.left += len(pending)
                return
            spool.mark_shipped([r["seq"] for r in pending])
            spool.remove_if_done()
        finally:
            spool.release()
        tests = sum(r.get("type") == "test" for r in pending)
        note = " (aborted: its test process died before the run ended)" if aborted else ""
        print(
            f"run {spool.run_uid}: shipped {len(pending)} records ({tests} tests) "
            f"to {url.display}{note}",
            file=self.out,
        )

    def close(self) -> None:
        for sink in self._sinks.values():
            sink.db.close()
        self._sinks.clear()


def spool_roots(explicit: str | None, overrides: Overrides, cwd: Path) -> list[Path]:
    """The spool roots a sync looks at (see the module docstring)."""
    if explicit:
        return [Path(explicit).resolve()]
    here = cwd.resolve() / DEFAULT_SPOOL  # the folder it runs in, never a parent's
    if overrides:
        return [here]
    return list(dict.fromkeys([here, *remembered_roots()]))


def run_sync(roots: list[Path], syncer: Syncer) -> SyncReport:
    """Sync every run of ``roots``, oldest first; returns what was done."""
    runs = [run for root in roots for run in spooled_runs(root)]
    if not runs:
        where = ", ".join(map(str, roots))
        print(f"nothing to sync: no spooled runs in {where}", file=syncer.out)
        return syncer.report
    try:
        for spool in runs:
            syncer.sync(spool)
    finally:
        syncer.close()
        forget_empty_roots()
    if syncer.report.left:
        where = ", ".join(map(str, roots))
        print(f"{syncer.report.left} records are still in the spool {where}", file=syncer.err)
    return syncer.report

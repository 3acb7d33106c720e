"""The run recorder: turns pytest reports into spooled records and feeds the shipper.

It lives only in the process that sees every report (the xdist controller, or the
single pytest process); xdist workers never record. The hot path per test is: fold the
phase reports, append one JSON line to the spool, hand the record to the shipper thread.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_virtualpy.results.db import DbUrl
from pytest_virtualpy.results.records import OUTCOMES, RunRecord, TestAccumulator, run_status
from pytest_virtualpy.results.s3 import S3Store
from pytest_virtualpy.results.shipper import Shipper
from pytest_virtualpy.results.spool import Spool, remember_pending


@dataclass
class RecorderConfig:
    """Everything the recorder needs, already resolved from options/ini/env."""

    db_url: DbUrl
    run_uid: str
    spool_root: Path
    artifacts_run_dir: Path  # the local folder of this run's artifacts
    store: S3Store | None = None
    name: str | None = None
    campaign: str | None = None
    build: str | None = None
    labs: str | None = None
    workers: int = 1
    drain_secs: float = 10.0


class RunRecorder:
    """Records one run; see the module docstring."""

    def __init__(self, cfg: RecorderConfig) -> None:
        self.cfg = cfg
        self.spool = Spool(cfg.spool_root / cfg.run_uid)
        self.run = RunRecord(
            run_uid=cfg.run_uid,
            started_at=time.time(),
            name=cfg.name,
            campaign=cfg.campaign,
            build=cfg.build,
            host=socket.gethostname(),
            labs=cfg.labs,
            workers=cfg.workers,
        )
        self.shipper = Shipper(self.spool, cfg.db_url, cfg.store)
        self._open: dict[str, TestAccumulator] = {}
        self._labs: set[str] = {x for x in (cfg.labs or "").split(",") if x}
        self.tests = 0
        self.pending = 0
        self.all_shipped: bool | None = None
        self.started = False

    def start(self) -> None:
        """Own the spool, record the run as running, start shipping.

        The spool root is noted as pending at once, so that a run killed before its end
        is still found by a plain ``virtualpy results sync`` from any folder.
        """
        self.spool.open_for_append(
            {
                "run_uid": self.cfg.run_uid,
                "results_db": str(self.cfg.db_url),
                "artifacts": str(self.cfg.store.target) if self.cfg.store else None,
                "s3_endpoint": self.cfg.store.endpoint if self.cfg.store else None,
                "artifacts_run_dir": str(self.cfg.artifacts_run_dir),
            }
        )
        remember_pending(self.cfg.spool_root)
        self.started = True
        self.shipper.start()
        self._spool(self.run.to_dict())

    def _spool(self, record: dict[str, Any]) -> None:
        self.shipper.submit(self.spool.append(record))

    def logreport(self, report: Any) -> None:
        """Take one phase report; a test is recorded when its teardown report arrives."""
        if not self.started:
            return
        acc = self._open.get(report.nodeid)
        if acc is None:
            acc = self._open[report.nodeid] = TestAccumulator(self.cfg.run_uid, report.nodeid)
        node = getattr(report, "node", None)  # xdist: the worker controller
        acc.add(report, getattr(getattr(node, "gateway", None), "id", None))
        if report.when == "teardown":
            self._finish_test(self._open.pop(report.nodeid))

    def _finish_test(self, acc: TestAccumulator) -> None:
        test = acc.finish()
        if test.worker is None:
            test.worker = "main"
        for a in test.artifacts:
            a["rel"] = self._rel(a.get("path"), a.get("name"))
        if test.lab:
            self._labs.add(test.lab)
        self.run.counts[test.outcome] = self.run.counts.get(test.outcome, 0) + 1
        self.tests += 1
        self._spool(test.to_dict())

    def _rel(self, path: str | None, name: str | None) -> str:
        """An artifact's path inside the run folder (its S3 key suffix)."""
        if path:
            try:
                return (
                    Path(path)
                    .resolve()
                    .relative_to(self.cfg.artifacts_run_dir.resolve())
                    .as_posix()
                )
            except ValueError:
                return Path(path).name
        return name or "artifact"

    def finish(self, interrupted: bool) -> None:
        """Record the run's end, give the shipper a bounded time, keep the rest spooled."""
        if not self.started:
            return
        for acc in list(self._open.values()):  # a test cut short (e.g. Ctrl-C)
            self._finish_test(acc)
        self._open.clear()
        self.run.finished_at = time.time()
        self.run.status = run_status(self.run.counts, interrupted)
        self.run.labs = ",".join(sorted(self._labs)) or self.run.labs
        for k in OUTCOMES:
            self.run.counts.setdefault(k, 0)
        self._spool(self.run.to_dict())
        self.spool.close()
        self.shipper.drain(self.cfg.drain_secs)
        try:  # what the spool holds is the truth, whatever the shipper believes
            self.pending = self.spool.pending_count()
            if self.pending == 0:
                self.spool.remove_if_done()
        finally:
            self.spool.release()
        self.all_shipped = self.pending == 0
        self.started = False

    def summary(self, cwd: Path | None = None) -> tuple[bool, str]:
        """(is_warning, the one line for the terminal summary)."""
        where = self.cfg.db_url.display
        if self.all_shipped:
            extra = f", artifacts in {self.cfg.store.target}" if self.cfg.store else ""
            return False, (
                f"virtualpy: run {self.cfg.run_uid} recorded in {where} ({self.tests} tests{extra})"
            )
        reason = self.shipper.error or (
            f"the results sink did not finish within {self.cfg.drain_secs:g} s"
        )
        cmd = "virtualpy results sync"
        default_spool = (Path(cwd or Path.cwd()) / ".virtualpy" / "spool").resolve()
        if self.cfg.spool_root.resolve() != default_spool:
            cmd += f" --spool {self.cfg.spool_root}"
        return True, (
            f"virtualpy: WARNING: results of run {self.cfg.run_uid} not shipped: {reason}; "
            f"{self.pending} records are kept in the spool {self.spool.folder}; "
            f"run `{cmd}` to ship them"
        )

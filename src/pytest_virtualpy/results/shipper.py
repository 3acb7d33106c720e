"""Ships spooled records to the results database (and artifacts to S3) off the test path.

:func:`ship` is the one way records travel (used by the background :class:`Shipper`
during a run and by ``virtualpy results sync`` afterwards): upload a test's artifacts,
then upsert the run and tests in one transaction, then mark the spool lines shipped.
Everything is idempotent, so a crash between steps only means some work is redone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from pytest_virtualpy.results.db import Database, DbUrl, ResultsDbError
from pytest_virtualpy.results.records import RunRecord, TestRecord
from pytest_virtualpy.results.s3 import ArtifactMissing, ArtifactStoreError, S3Store
from pytest_virtualpy.results.sink import Sink
from pytest_virtualpy.results.spool import Spool

BATCH = 200


def upload_artifacts(test: TestRecord, store: S3Store | None) -> None:
    """Upload the test's artifact files and set their ``uri`` (file:// stays without S3)."""
    if store is None:
        return
    for a in test.artifacts:
        if a.get("uri") or not a.get("path"):
            continue
        rel = a.get("rel") or a.get("name") or "artifact"
        try:
            a["uri"] = store.upload(a["path"], test.run_uid, rel)
        except ArtifactMissing:
            continue  # recorded with its (dead) local URI rather than blocking forever


def ship(records: list[dict[str, Any]], sink: Sink, store: S3Store | None) -> list[int]:
    """Send ``records`` (spool lines) to ``sink``; returns the sequence numbers shipped."""
    runs = [r for r in records if r.get("type") == "run"]
    run = RunRecord.from_dict(runs[-1]) if runs else None
    tests = [TestRecord.from_dict(r) for r in records if r.get("type") == "test"]
    for t in tests:
        upload_artifacts(t, store)
    sink.write(run, tests)
    return [r["seq"] for r in records if "seq" in r]


class Shipper:
    """A daemon thread that ships records as they are spooled.

    The test process only appends to the spool and calls :meth:`submit`; it never waits
    on the network. On a failure of any kind (the sink, an upload, the spool itself) the
    shipper keeps the records, remembers the reason and retries with a growing pause; if
    its thread dies anyway, the next :meth:`submit` or :meth:`drain` starts a new one.
    :meth:`drain` is bounded: at session end it gives the shipper a few seconds, then
    leaves whatever is left in the spool for ``sync``.
    """

    def __init__(
        self,
        spool: Spool,
        db_url: DbUrl,
        store: S3Store | None,
        connect: Callable[[DbUrl], Database] = Database.connect,
    ) -> None:
        self.spool = spool
        self.db_url = db_url
        self.store = store
        self._connect = connect
        self._queue: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._stop = False
        self._busy = False
        self._draining = False
        self._attempts = 0  # finished ship attempts (success or failure)
        self.error: str | None = None
        self.shipped = 0
        self._sink: Sink | None = None
        self._thread = threading.Thread(target=self._run, name="virtualpy-shipper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _revive(self) -> None:
        """Start a new thread if the old one died (call with ``_cond`` held)."""
        if self._thread.is_alive() or self._stop or not self._thread.ident:
            return
        self._busy = False  # whatever the dead thread was doing is back in the queue
        self._thread = threading.Thread(target=self._run, name="virtualpy-shipper", daemon=True)
        self._thread.start()

    def submit(self, record: dict[str, Any]) -> None:
        """Queue a spooled record (cheap: no I/O on the caller's thread)."""
        with self._cond:
            self._queue.append(record)
            self._revive()
            self._cond.notify()

    def _run(self) -> None:
        backoff = 0.5
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                batch = self._queue[:BATCH]  # stays queued until it has shipped
                self._busy = True
            ok = self._ship(batch)
            with self._cond:
                self._busy = False
                self._attempts += 1
                if ok:
                    del self._queue[: len(batch)]
                self._cond.notify_all()
                if not ok:
                    until = time.monotonic() + backoff  # drain() or stop() cut this short
                    while not (self._stop or self._draining):
                        left = until - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    backoff = min(backoff * 2, 10.0)
                else:
                    backoff = 0.5

    def _ship(self, batch: list[dict[str, Any]]) -> bool:
        try:
            if self._sink is None:
                self._sink = Sink(self._connect(self.db_url))
            seqs = ship(batch, self._sink, self.store)
            self.spool.mark_shipped(seqs)
        except Exception as e:  # any failure: keep the batch, say why, retry later
            ours = isinstance(e, ResultsDbError | ArtifactStoreError) and str(e)
            self.error = str(e) if ours else f"{type(e).__name__}: {e}"
            if self._sink is not None:
                self._sink.db.close()
                self._sink = None
            return False
        self.shipped += len(seqs)
        self.error = None
        return True

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the queue to empty; then stop. True if all shipped.

        When the sink is failing, one immediate retry is made, and if it fails too the
        shipper stops at once instead of spending the whole timeout on a dead service.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._revive()
            start_attempts = self._attempts
            self._draining = True
            self._cond.notify_all()  # cut a retry pause short
            while self._queue or self._busy:
                if self.error is not None and self._attempts > start_attempts:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.1))
            done = not self._queue and not self._busy
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=max(0.0, min(2.0, deadline - time.monotonic())))
        if self._sink is not None and not self._thread.is_alive():
            self._sink.db.close()
        return done

"""Plain result records and how one outcome is derived from pytest's phase reports.

A test produces up to three pytest reports (setup, call, teardown). The sinks want one
row per test, so :class:`TestAccumulator` folds them into a :class:`TestRecord`. Records
are plain JSON-able dicts on the wire (spool lines, sink input); nothing here imports
pytest or the lab client, so the same code serves the plugin, ``virtualpy results sync``
and the tests.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
MESSAGE_LIMIT = 4000


@dataclass
class RunRecord:
    """One pytest session (one per ``-n N`` session): the ``runs`` row."""

    run_uid: str
    started_at: float
    name: str | None = None
    campaign: str | None = None
    build: str | None = None
    host: str | None = None
    labs: str | None = None
    workers: int = 1
    finished_at: float | None = None
    status: str = "running"
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "run", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**d)


@dataclass
class TestRecord:
    """One test (node id) of a run: the ``test_results`` row and its children.

    ``steps``, ``kpis`` and ``artifacts`` are the plain dicts of ``report.virtualpy``;
    artifacts keep their local ``path`` (and ``rel``, the path inside the run folder)
    so the shipper can upload them and compute their final ``uri``.
    """

    __test__ = False  # not a pytest test class despite the name

    run_uid: str
    nodeid: str
    outcome: str
    lab_error: bool = False
    usage_error: bool = False  # the test code was wrong (misspelt key, missing image...)
    device: str | None = None
    model: str | None = None
    lab: str | None = None
    worker: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float = 0.0
    lease_wait_ms: float | None = None
    kind: str | None = None  # the device's kind ("sim", ...)
    message: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    kpis: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.nodeid.rsplit("::", 1)[-1]

    @property
    def file(self) -> str:
        return self.nodeid.split("::", 1)[0]

    @property
    def key(self) -> str:
        """Identity in the spool and the sink: a run holds one row per node id."""
        return f"test:{self.nodeid}"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "test", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TestRecord:
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**d)


def _short(text: str | None) -> str | None:
    if not text:
        return None
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def _longrepr_message(report: Any) -> str | None:
    """A one-screen message for a failed/skipped report (the crash line when there is one)."""
    longrepr = getattr(report, "longrepr", None)
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (path, line, reason)
        return str(longrepr[2])
    crash = getattr(getattr(longrepr, "reprcrash", None), "message", None)
    return crash or getattr(report, "longreprtext", None) or str(longrepr)


class TestAccumulator:
    """Folds the setup/call/teardown reports of one test into one :class:`TestRecord`.

    Rules: a failed setup or teardown is an ``error``; a failed call is ``failed``; a
    lab error in any phase is ``error`` with ``lab_error``; a mistake in the test code
    (a ``UsageError``) in any phase is ``error`` with ``usage_error``; an expected failure is
    ``xfailed`` and an unexpected (non-strict) pass is ``xpassed``; a skip anywhere before
    the call is ``skipped``. A strict xpass arrives from pytest as a failed call.
    """

    __test__ = False

    def __init__(self, run_uid: str, nodeid: str) -> None:
        self.run_uid = run_uid
        self.nodeid = nodeid
        self.phases: dict[str, tuple[str, str | None]] = {}  # when -> (outcome, message)
        self.lab_error: tuple[str, str | None] | None = None
        self.usage_error: tuple[str, str | None] | None = None
        self.duration = 0.0
        self.start: float | None = None
        self.stop: float | None = None
        self.worker: str | None = None
        self.virtualpy: dict[str, Any] | None = None

    def add(self, report: Any, worker: str | None = None) -> None:
        """Take one phase report (a pytest ``TestReport`` or anything shaped like it)."""
        self.duration += float(getattr(report, "duration", 0.0) or 0.0)
        start, stop = getattr(report, "start", None), getattr(report, "stop", None)
        if start is not None:
            self.start = start if self.start is None else min(self.start, start)
        if stop is not None:
            self.stop = stop if self.stop is None else max(self.stop, stop)
        if worker:
            self.worker = worker
        vp = getattr(report, "virtualpy", None)
        if isinstance(vp, dict):
            self.virtualpy = vp  # the latest phase carries everything so far
        wasxfail = getattr(report, "wasxfail", None)
        outcome = self._phase_outcome(report.when, report.outcome, wasxfail is not None)
        if outcome is None:
            return
        message = _longrepr_message(report) if report.outcome != "passed" else None
        if outcome in ("xfailed", "xpassed") and wasxfail:
            message = message or f"xfail: {wasxfail}"
        if report.outcome == "failed":
            if getattr(report, "virtualpy_lab_error", False) and self.lab_error is None:
                self.lab_error = ("error", message)
            if getattr(report, "virtualpy_usage_error", False) and self.usage_error is None:
                self.usage_error = ("error", message)
        self.phases.setdefault(report.when, (outcome, message))

    @staticmethod
    def _phase_outcome(when: str, outcome: str, wasxfail: bool) -> str | None:
        if outcome == "passed":
            if when == "call":
                return "xpassed" if wasxfail else "passed"
            return None  # a passing setup/teardown says nothing by itself
        if outcome == "skipped":
            return "xfailed" if wasxfail else "skipped"
        return "failed" if when == "call" else "error"

    def _outcome(self) -> tuple[str, str | None]:
        if self.lab_error is not None:
            return self.lab_error
        if self.usage_error is not None:
            return self.usage_error
        if "setup" in self.phases:  # error, skipped or xfailed before the test ran
            return self.phases["setup"]
        call = self.phases.get("call")
        teardown = self.phases.get("teardown")
        if call is None:
            return teardown or ("error", "the test never ran its call phase")
        if teardown is not None and call[0] not in ("failed",):
            return teardown  # a broken teardown of a passing test is an error
        return call

    def finish(self) -> TestRecord:
        """The test's record."""
        vp = self.virtualpy or {}
        outcome, message = self._outcome()
        now = time.time()
        return TestRecord(
            run_uid=self.run_uid,
            nodeid=self.nodeid,
            outcome=outcome,
            lab_error=self.lab_error is not None,
            usage_error=self.lab_error is None and self.usage_error is not None,
            device=vp.get("device"),
            model=vp.get("model"),
            kind=vp.get("kind"),
            lease_wait_ms=vp.get("lease_wait_ms"),
            lab=vp.get("lab"),
            worker=self.worker,
            started_at=self.start if self.start is not None else now,
            finished_at=self.stop if self.stop is not None else now,
            duration_ms=round(self.duration * 1000, 3),
            message=_short(message),
            steps=list(vp.get("steps") or []),
            kpis=list(vp.get("kpis") or []),
            artifacts=[dict(a) for a in vp.get("artifacts") or []],
        )


def run_status(counts: dict[str, int], interrupted: bool) -> str:
    """``interrupted``, ``failed`` (any failure or error) or ``passed``."""
    if interrupted:
        return "interrupted"
    if counts.get("failed", 0) or counts.get("error", 0):
        return "failed"
    return "passed"

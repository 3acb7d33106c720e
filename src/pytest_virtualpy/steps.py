"""What a test did, step by step: presses, matches, hops and KPIs.

The device objects wrap each action in :meth:`StepLog.step`; a listener (the
plugin) hears when each starts and ends, so reports can show them live and
nested (a navigation hop contains its key presses). Nothing here talks to the
lab or to a database: records are plain and JSON-able.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass
class Step:
    """One action of a test; ``duration_ms`` is None while it runs."""

    kind: str  # "press", "match", "wait_for_text", "navigate", "power", "serial", ...
    name: str
    started: float
    duration_ms: float | None = None
    ok: bool = True
    depth: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Kpi:
    """A named measurement, in milliseconds, on the lab host's clock."""

    name: str
    device: str
    value_ms: float
    time: float


class StepListener(Protocol):
    def step_started(self, step: Step) -> None: ...

    def step_finished(self, step: Step) -> None: ...


class StepLog:
    """The steps and KPIs of one test."""

    def __init__(self, listener: StepListener | None = None) -> None:
        self.steps: list[Step] = []
        self.kpis: list[Kpi] = []
        self._listener = listener
        self._depth = 0

    @contextlib.contextmanager
    def step(self, kind: str, name: str, **detail: Any) -> Iterator[Step]:
        """Record the enclosed action; an exception marks it failed and propagates."""
        s = Step(kind, name, time.time(), depth=self._depth, detail=dict(detail))
        self.steps.append(s)
        if self._listener is not None:
            self._listener.step_started(s)
        self._depth += 1
        try:
            yield s
        except BaseException as e:
            s.ok = False
            s.error = f"{type(e).__name__}: {e}"[:1000]
            raise
        finally:
            self._depth -= 1
            s.duration_ms = round((time.time() - s.started) * 1000, 3)
            if self._listener is not None:
                self._listener.step_finished(s)

    def kpi(self, name: str, device: str, value_ms: float, t: float) -> Kpi:
        k = Kpi(name, device, round(value_ms, 3), t)
        self.kpis.append(k)
        return k

    def to_dict(self) -> dict:
        return {"steps": [asdict(s) for s in self.steps], "kpis": [asdict(k) for k in self.kpis]}

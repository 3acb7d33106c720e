"""What a test did, step by step: presses, matches, hops and KPIs.

The device objects append plain records here; the plugin hands them to the
results layer and the report. Nothing here talks to the lab or to a database.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Step:
    kind: str  # "press", "match", "text", "navigate", "power", "serial", ...
    name: str
    started: float
    duration_ms: float
    ok: bool = True
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Kpi:
    name: str
    device: str
    value_ms: float
    time: float


class StepLog:
    """The steps and KPIs of one test."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.kpis: list[Kpi] = []

    def step(self, kind: str, name: str, started: float, ok: bool = True, **detail: Any) -> Step:
        s = Step(kind, name, started, round((time.time() - started) * 1000, 3), ok, detail)
        self.steps.append(s)
        return s

    def kpi(self, name: str, device: str, value_ms: float, t: float) -> Kpi:
        k = Kpi(name, device, round(value_ms, 3), t)
        self.kpis.append(k)
        return k

    def to_dict(self) -> dict:
        return {"steps": [asdict(s) for s in self.steps], "kpis": [asdict(k) for k in self.kpis]}

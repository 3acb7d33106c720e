"""Faults that can be injected into the simulated box on demand.

Standing faults (freeze, black, drop_keys, slow, mute: no sound) stay active until cleared; "reboot"
is a one-shot action. "popup" opens a modal dialog over the screen that swallows every key
but ``KEY_BACK``, which closes it: with ``probability=0`` (the default) one dialog now;
with ``probability=p`` a standing fault that opens one after each key press with chance
``p`` (clearing the faults also closes an open dialog). Validation lives here so that
mistakes in a test produce a clear ``ValueError`` listing what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """One fault parameter: default value and inclusive bounds."""

    default: float
    low: float
    high: float | None = None


FAULTS: dict[str, dict[str, Param]] = {
    "freeze": {},
    "black": {},
    "drop_keys": {"probability": Param(1.0, 0.0, 1.0)},
    "slow": {"latency_ms": Param(500.0, 0.0, None)},
    "mute": {},
    "reboot": {},
    "popup": {"probability": Param(0.0, 0.0, 1.0)},
}
ONE_SHOT: frozenset[str] = frozenset({"reboot"})


def _describe() -> str:
    parts = []
    for name, params in FAULTS.items():
        args = ", ".join(f"{p}={spec.default:g}" for p, spec in params.items())
        parts.append(f"{name}({args})")
    return ", ".join(parts)


def validate(fault: str, params: dict[str, Any]) -> dict[str, float]:
    """Check ``fault`` and ``params``; return the params with defaults filled in."""
    if fault not in FAULTS:
        raise ValueError(f"Unknown fault {fault!r}. Valid faults: {_describe()}.")
    spec = FAULTS[fault]
    unknown = sorted(set(params) - set(spec))
    if unknown:
        valid = ", ".join(spec) or "none"
        raise ValueError(
            f"Fault {fault!r} got unknown parameter(s) {', '.join(unknown)}; valid: {valid}."
        )
    out: dict[str, float] = {}
    for name, p in spec.items():
        value = params.get(name, p.default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"Fault {fault!r}: {name} must be a number, got {value!r}.")
        value = float(value)
        if value != value or value < p.low or (p.high is not None and value > p.high):
            bounds = f"{p.low:g}..{p.high:g}" if p.high is not None else f">= {p.low:g}"
            raise ValueError(f"Fault {fault!r}: {name} must be {bounds}, got {value!r}.")
        out[name] = value
    return out


class FaultSet:
    """The standing faults currently active, with their parameters."""

    def __init__(self) -> None:
        self._active: dict[str, dict[str, float]] = {}

    def set(self, fault: str, params: dict[str, float]) -> None:
        """Activate (or re-parameterise) standing fault ``fault``."""
        self._active[fault] = dict(params)

    def clear(self) -> None:
        """Remove every standing fault."""
        self._active.clear()

    def active(self, fault: str) -> bool:
        """Whether ``fault`` is active."""
        return fault in self._active

    def param(self, fault: str, name: str, default: float = 0.0) -> float:
        """Parameter ``name`` of ``fault`` if active, else ``default``."""
        return self._active.get(fault, {}).get(name, default)

    def snapshot(self) -> dict[str, dict[str, float]]:
        """A copy of the active faults and their parameters."""
        return {k: dict(v) for k, v in self._active.items()}

"""Ground truth about key presses, for measuring the measurer.

For every key press the box records when it was received, whether it was dropped,
when the UI changed, and -- filled in lazily as frames are rendered -- the capture
time of the first frame that showed the change and of the first frame that showed
the settled result. A test framework's own timing can then be checked against it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

MAX_EVENTS = 10_000
_MAX_WAITING = 1_000


class GroundTruth:
    """The key-event log. Not thread-safe on its own: the box calls it under its lock."""

    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._waiting: list[tuple[dict[str, Any], float]] = []  # (event, settle time)

    def record(
        self, key: str, received: float, dropped: bool, screen: str, lease: str | None = None
    ) -> dict[str, Any]:
        """A key arrived at ``received`` (pressed under ``lease``, the daemon's lease id,
        if known); returns its (mutable, internal) event."""
        ev: dict[str, Any] = {
            "key": key,
            "lease": lease,
            "received": float(received),
            "dropped": bool(dropped),
            "effect": None,
            "first_change": None,
            "settled": None,
            "screen_before": screen,
            "screen_after": screen if dropped else None,
        }
        self._events.append(ev)
        return ev

    def applied(
        self, ev: dict[str, Any], effect: float, settle: float | None, screen_after: str
    ) -> None:
        """The key was handled at ``effect``; ``settle`` is None if nothing changed."""
        ev["screen_after"] = screen_after
        if settle is None:
            return
        ev["effect"] = float(effect)
        self._waiting.append((ev, float(settle)))
        if len(self._waiting) > _MAX_WAITING:
            del self._waiting[: len(self._waiting) - _MAX_WAITING]

    def waiting_first_change(self, t: float) -> bool:
        """Whether a frame at ``t`` could be some event's first change."""
        return any(ev["first_change"] is None and ev["effect"] <= t for ev, _ in self._waiting)

    def on_frame(self, t: float, changed: bool, true_state: bool) -> None:
        """A frame was rendered for ``t``: ``changed`` if it differs from the previous
        one, ``true_state`` if it shows the live UI (not frozen or blacked out)."""
        if not self._waiting:
            return
        keep = []
        for ev, settle in self._waiting:
            if ev["first_change"] is None and changed and t >= ev["effect"]:
                ev["first_change"] = float(t)
            if ev["first_change"] is not None and true_state and t >= settle:
                ev["settled"] = float(t)
                continue
            keep.append((ev, settle))
        self._waiting = keep

    def events(self) -> list[dict[str, Any]]:
        """Copies of all events, oldest first."""
        return [dict(ev) for ev in self._events]

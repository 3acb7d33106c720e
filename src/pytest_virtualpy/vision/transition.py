"""Measuring a screen transition after a key press: `wait_for_transition`.

This is the primitive behind ``remote.press_and_wait`` and UI response-time
KPIs. It is pure: it reads frames (captured after the press, each with a
timestamp on the same clock as ``press_time``) and returns a `Transition`; it
never raises for a product that is slow or doesn't react.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._diff import Differ, now_of, pick_threshold
from .image import ImageLike
from .region import Region

COMPLETE = "complete"
START_TIMEOUT = "start_timeout"
STABLE_TIMEOUT = "stable_timeout"


@dataclass(frozen=True)
class Transition:
    """What the screen did after a key press. Truthy when ``status == "complete"``.

    - ``press_time``: when the key was pressed.
    - ``start_time``: timestamp of the first frame that differed from the
      "before" frame, or None if the screen never changed.
    - ``end_time``: when the screen settled: the timestamp of the first frame
      of the final stable period, or None.
    - ``duration``: ``end_time - press_time`` in seconds, or None.
    - ``status``: "complete", "start_timeout" (never changed) or
      "stable_timeout" (changed but never settled).
    - ``started`` (the screen changed), ``complete`` (it changed, then settled)
      and ``stable`` (it is not changing now: complete, or it never started),
      as in stb-tester.

    >>> t = wait_for_transition(frames, press_time)      # doctest: +SKIP
    >>> assert t, t.status                                # doctest: +SKIP
    >>> kpi_ms = t.duration * 1000                        # doctest: +SKIP
    >>> bool(Transition("KEY_OK", 1.0, None, None, START_TIMEOUT))
    False
    """

    key: str | None
    press_time: float
    start_time: float | None
    end_time: float | None
    status: str

    @property
    def duration(self) -> float | None:
        return None if self.end_time is None else self.end_time - self.press_time

    @property
    def started(self) -> bool:
        return self.status != START_TIMEOUT

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE

    @property
    def stable(self) -> bool:
        return self.status in (START_TIMEOUT, COMPLETE)

    def __bool__(self) -> bool:
        return self.status == COMPLETE

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "press_time": self.press_time,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration": self.duration,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transition:
        return cls(
            key=d.get("key"),
            press_time=float(d["press_time"]),
            start_time=d.get("start_time"),
            end_time=d.get("end_time"),
            status=str(d["status"]),
        )


def wait_for_transition(
    frames: Iterable[Any],
    press_time: float,
    key: str | None = None,
    region: Region = Region.ALL,
    mask: ImageLike | Region | None = None,
    timeout_secs: float = 10.0,
    stable_secs: float = 1.0,
    noise_threshold: float | None = None,
    *,
    threshold: float | None = None,
    min_size: tuple[int, int] | None = None,
) -> Transition:
    """Wait for the screen to change after a key press, then to settle.

    The reference ("before") frame is the last of the leading frames with
    ``time <= press_time`` if there are any, else the first frame. The screen
    has *changed* when a frame differs from the reference (beyond noise, see
    `_diff`); it has *settled* when frames then stay unchanged (compared with
    the first frame of the stable period) for ``stable_secs``. Gives up
    ``timeout_secs`` after ``press_time``. ``threshold`` (the colour distance
    from which a pixel changed, default 25; ``noise_threshold`` is its older
    name) and ``min_size`` (the smallest ``(width, height)`` of a change,
    default (4, 4)) are as in `detect_motion`.

    Example::

        press_time = remote.press("KEY_OK")
        t = wait_for_transition(frames, press_time, key="KEY_OK", region=MENU)
        print(t.duration)
        # a search box whose 3x20 px cursor blinks: ignore changes smaller than 20x20
        t = wait_for_transition(frames, press_time, min_size=(20, 20))
    """
    differ = Differ(region, mask, pick_threshold(threshold, noise_threshold), min_size)
    reference = None
    start_time = None
    stable_ref = None
    stable_start = 0.0
    for frame in frames:
        now = now_of(frame)
        current = differ.prepare(frame)
        if reference is None:
            reference = current
            continue
        if start_time is None and now <= press_time:
            reference = current  # a later "before" frame
            continue
        if now - press_time > timeout_secs:
            break
        if start_time is None:
            if differ.compare(reference, current).changed:
                start_time = now
                stable_ref, stable_start = current, now
            continue
        assert stable_ref is not None
        if differ.compare(stable_ref, current).changed:
            stable_ref, stable_start = current, now
        if now - stable_start >= stable_secs:  # with stable_secs=0: the first frame after start
            return Transition(key, press_time, start_time, stable_start, COMPLETE)
    status = START_TIMEOUT if start_time is None else STABLE_TIMEOUT
    return Transition(key, press_time, start_time, None, status)

"""Frozen-video detection: `is_frozen` and `wait_for_freeze`.

The screen is *frozen* when no frame differs from the first frame of the period
(by the same rule as motion detection, see `_diff`) for ``freeze_secs`` of frame
time. Comparing with the first frame, not the previous one, also catches slow
fades that change a little every frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_virtualpy.errors import FreezeTimeout

from ._diff import Differ, now_of, pick_threshold
from .image import ImageLike
from .region import Region


@dataclass(frozen=True)
class FreezeResult:
    """Truthy if the screen stayed unchanged for ``freeze_secs``.

    ``start_time`` is the first frame of the (possibly) frozen period,
    ``end_time`` the last frame checked, ``duration`` their difference.
    ``frame`` is the last frame checked.

    >>> r = is_frozen(frames, freeze_secs=2.0)           # doctest: +SKIP
    >>> bool(FreezeResult(frozen=False, start_time=0.0, end_time=0.5, duration=0.5))
    False
    """

    frozen: bool
    start_time: float | None
    end_time: float | None
    duration: float
    frame: Any = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.frozen)

    @property
    def time(self) -> float | None:
        return self.start_time

    def to_dict(self) -> dict[str, Any]:
        return {
            "frozen": bool(self.frozen),
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration": self.duration,
        }


def is_frozen(
    frames: Iterable[Any],
    freeze_secs: float = 2.0,
    region: Region = Region.ALL,
    mask: ImageLike | Region | None = None,
    noise_threshold: float | None = None,
    *,
    threshold: float | None = None,
    min_size: tuple[int, int] | None = None,
) -> FreezeResult:
    """Read frames for ``freeze_secs`` (frame time): is the picture frozen?

    Returns as soon as the picture changes (not frozen), or once the frames
    span ``freeze_secs`` without a change (frozen). If the frames run out first
    the result is not frozen. A change is what `detect_motion` counts as motion
    (``threshold``, ``noise_threshold``, ``min_size`` as there).

    Example::

        assert not is_frozen(frames, freeze_secs=3, region=VIDEO_WINDOW)
    """
    differ = Differ(region, mask, pick_threshold(threshold, noise_threshold), min_size)
    ref = None
    start = end = None
    last = None
    for frame in frames:
        now = now_of(frame)
        last = frame
        current = differ.prepare(frame)
        if ref is None:
            ref, start = current, now
            end = now
            continue
        end = now
        if differ.compare(ref, current).changed:
            return FreezeResult(False, start, end, end - start, frame)
        if end - start >= freeze_secs:
            return FreezeResult(True, start, end, end - start, frame)
    duration = 0.0 if start is None or end is None else end - start
    return FreezeResult(False, start, end, duration, last)


def wait_for_freeze(
    frames: Iterable[Any],
    freeze_secs: float = 2.0,
    timeout_secs: float = 10.0,
    region: Region = Region.ALL,
    mask: ImageLike | Region | None = None,
    noise_threshold: float | None = None,
    *,
    threshold: float | None = None,
    min_size: tuple[int, int] | None = None,
) -> FreezeResult:
    """Wait until the picture stays unchanged for ``freeze_secs``.

    ``threshold`` and ``min_size`` are as in `is_frozen`.

    :raises pytest_virtualpy.errors.FreezeTimeout: no freeze completed within
        ``timeout_secs`` of the first frame.

    Example::

        wait_for_freeze(frames, freeze_secs=1.0, region=VIDEO_WINDOW)
    """
    differ = Differ(region, mask, pick_threshold(threshold, noise_threshold), min_size)
    first = None
    ref = None
    ref_time = 0.0
    last = None
    for frame in frames:
        now = now_of(frame)
        if first is None:
            first = now
        elif now - first > timeout_secs:
            break
        last = frame
        current = differ.prepare(frame)
        if ref is None or differ.compare(ref, current).changed:
            ref, ref_time = current, now
            continue
        if now - ref_time >= freeze_secs:
            return FreezeResult(True, ref_time, now, now - ref_time, frame)
    err = FreezeTimeout(
        f"The screen ({region}) didn't freeze for {freeze_secs:g} s within {timeout_secs:g} s"
    )
    err.frame = last  # type: ignore[attr-defined]
    err.timeout_secs = timeout_secs  # type: ignore[attr-defined]
    raise err

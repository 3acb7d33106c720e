"""Motion detection: `detect_motion` and `wait_for_motion`.

Each frame is compared with the previous one; see `_diff` for what counts as a
change (noise threshold, erosion, minimum area).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pytest_virtualpy.errors import MotionTimeout

from ._diff import Differ, now_of
from .frame import frame_time
from .image import ImageLike
from .region import Region


@dataclass
class MotionResult:
    """Whether a frame moved relative to the one before it: truthy if it did.

    ``region`` is the bounding box of the motion (None without motion);
    ``time`` is the frame's timestamp.

    >>> for result in detect_motion(frames):         # doctest: +SKIP
    ...     if result:
    ...         print("motion at", result.region)
    """

    time: float | None
    motion: bool
    region: Region | None
    frame: Any = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return bool(self.motion)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "motion": bool(self.motion),
            "region": None if self.region is None else list(self.region.to_tuple()),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], frame: Any = None) -> MotionResult:
        region = d.get("region")
        return cls(
            time=d.get("time"),
            motion=bool(d["motion"]),
            region=None if region is None else Region.from_tuple(region),
            frame=frame,
        )


def detect_motion(
    frames: Iterable[Any],
    noise_threshold: float | None = None,
    mask: ImageLike | None = None,
    region: Region = Region.ALL,
) -> Iterator[MotionResult]:
    """Yield a `MotionResult` for every frame after the first.

    :param frames: frames (`Frame` with ``time``) in capture order.
    :param noise_threshold: per-pixel gray-level difference to ignore (0-255,
        default 25).
    :param mask: only pixels where the mask is non-zero are considered.
    :param region: only this part of the frame is considered.

    Example::

        moving = any(detect_motion(frames_for_one_second, region=VIDEO_WINDOW))
    """
    differ = Differ(region, mask, noise_threshold)
    previous = None
    for frame in frames:
        current = differ.prepare(frame)
        if previous is not None:
            change = differ.compare(previous, current)
            yield MotionResult(frame_time(frame), change.changed, change.region, frame)
        previous = current


def _parse_consecutive(consecutive_frames: int | str) -> tuple[int, int]:
    if isinstance(consecutive_frames, int):
        m = n = consecutive_frames
    else:
        try:
            a, _, b = str(consecutive_frames).partition("/")
            m, n = int(a), int(b or a)
        except ValueError:
            raise ValueError(
                f"consecutive_frames must be an int or 'M/N', got {consecutive_frames!r}"
            ) from None
    if not 1 <= m <= n:
        raise ValueError(f"consecutive_frames {consecutive_frames!r}: need 1 <= M <= N")
    return m, n


def wait_for_motion(
    frames: Iterable[Any],
    timeout_secs: float = 10.0,
    consecutive_frames: int | str = "10/20",
    noise_threshold: float | None = None,
    mask: ImageLike | None = None,
    region: Region = Region.ALL,
) -> MotionResult:
    """Wait until there is motion in M of the last N frames.

    ``consecutive_frames="10/20"`` (the default) means motion in 10 of the last
    20 frames; an int ``N`` means N frames in a row. Returns the first
    `MotionResult` with motion in that window, so its ``time`` is when the
    motion started. The timeout is measured on the frames' timestamps.

    :raises pytest_virtualpy.errors.MotionTimeout: no motion within ``timeout_secs``.

    Example::

        wait_for_motion(frames, region=VIDEO_WINDOW, consecutive_frames=5)
    """
    m, n = _parse_consecutive(consecutive_frames)
    window: deque[MotionResult] = deque(maxlen=n)
    differ = Differ(region, mask, noise_threshold)
    previous = None
    start = None
    last = None
    for frame in frames:
        now = now_of(frame)
        if start is None:
            start = now
        elif now - start > timeout_secs:
            break
        last = frame
        current = differ.prepare(frame)
        if previous is not None:
            change = differ.compare(previous, current)
            window.append(MotionResult(frame_time(frame), change.changed, change.region, frame))
            if sum(1 for r in window if r.motion) >= m:
                return next(r for r in window if r.motion)
        previous = current
    raise MotionTimeout(
        f"Didn't see motion in {region} (in {m} of {n} frames) within {timeout_secs:g} seconds",
        frame=last,
        timeout_secs=timeout_secs,
    )

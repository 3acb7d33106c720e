"""Motion detection: `detect_motion` and `wait_for_motion`.

Each frame is compared with the last frame in which motion was seen (at first,
the first frame): comparing with that rather than with the previous frame makes
slow changes add up, so a gradient that moves a few levels a frame is seen, as
in stb-tester. What counts as a change (colour ``threshold``, opening,
``min_size``) is described in `_diff`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pytest_virtualpy.errors import MotionTimeout

from ._diff import Differ, now_of, pick_threshold
from .frame import frame_time
from .image import ImageLike
from .region import Region


@dataclass(frozen=True)
class MotionResult:
    """Whether a frame moved relative to the one before it: truthy if it did.

    ``region`` is the bounding box of the motion (None without motion);
    ``time`` is the frame's timestamp.

    >>> for result in detect_motion(frames):         # doctest: +SKIP
    ...     if result:
    ...         print("motion at", result.region)
    >>> bool(MotionResult(time=1.0, motion=False, region=None))
    False
    """

    time: float | None
    motion: bool
    region: Region | None
    frame: Any = field(default=None, repr=False, compare=False)

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


def _motion(frames: Iterable[Any], differ: Differ) -> Iterator[MotionResult]:
    """A result for every frame after the first; the reference frame moves on only
    when motion is seen (see the module docstring)."""
    reference = None
    for frame in frames:
        current = differ.prepare(frame)
        if reference is None:
            reference = current
            continue
        change = differ.compare(reference, current)
        if change.changed:
            reference = current
        region = change.region if change.changed else None
        yield MotionResult(frame_time(frame), change.changed, region, frame)


def detect_motion(
    frames: Iterable[Any],
    noise_threshold: float | None = None,
    mask: ImageLike | Region | None = None,
    region: Region = Region.ALL,
    *,
    threshold: float | None = None,
    min_size: tuple[int, int] | None = None,
) -> Iterator[MotionResult]:
    """Yield a `MotionResult` for every frame after the first.

    :param frames: frames (`Frame` with ``time``) in capture order.
    :param threshold: the colour distance (0-255, default 25) from which a pixel
        has changed; smaller is more sensitive. ``noise_threshold`` is its older
        name (pass one or the other).
    :param min_size: ``(width, height)``: the smallest bounding box of changed
        pixels that counts as motion (default (4, 4)); raise it to ignore small
        animations, e.g. ``min_size=(20, 20)``.
    :param mask: only pixels where the mask is non-zero are considered (a `Region`
        here, as in stb-tester, means that region).
    :param region: only this part of the frame is considered.

    Example::

        moving = any(detect_motion(frames_for_one_second, region=VIDEO_WINDOW))
        spinner_ignored = detect_motion(frames, min_size=(40, 40))
    """
    # built now, so that a bad argument is an error at the call, not at the first frame
    differ = Differ(region, mask, pick_threshold(threshold, noise_threshold), min_size)
    return _motion(frames, differ)


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
    mask: ImageLike | Region | None = None,
    region: Region = Region.ALL,
    *,
    threshold: float | None = None,
    min_size: tuple[int, int] | None = None,
) -> MotionResult:
    """Wait until there is motion in M of the last N frames.

    ``consecutive_frames="10/20"`` (the default) means motion in 10 of the last
    20 frames; an int ``N`` means N frames in a row. Returns the first
    `MotionResult` with motion in that window, so its ``time`` is when the
    motion started. The timeout is measured on the frames' timestamps.
    ``threshold`` (or ``noise_threshold``) and ``min_size`` are as in
    `detect_motion`.

    :raises pytest_virtualpy.errors.MotionTimeout: no motion within ``timeout_secs``.

    Example::

        wait_for_motion(frames, region=VIDEO_WINDOW, consecutive_frames=5)
        wait_for_motion(frames, threshold=15, min_size=(10, 10))
    """
    m, n = _parse_consecutive(consecutive_frames)
    window: deque[MotionResult] = deque(maxlen=n)
    differ = Differ(region, mask, pick_threshold(threshold, noise_threshold), min_size)
    start = None
    last = None

    def timed(frames: Iterable[Any]) -> Iterator[Any]:
        nonlocal start, last
        for frame in frames:
            now = now_of(frame)
            if start is None:
                start = now
            elif now - start > timeout_secs:
                return
            last = frame
            yield frame

    for result in _motion(timed(frames), differ):
        window.append(result)
        if sum(1 for r in window if r.motion) >= m:
            return next(r for r in window if r.motion)
    raise MotionTimeout(
        f"Didn't see motion in {region} (in {m} of {n} frames) within {timeout_secs:g} seconds",
        frame=last,
        timeout_secs=timeout_secs,
    )

"""Black-screen detection: `is_black` and `wait_for_black`.

A frame is black when (almost) every considered pixel's gray level is at most
``threshold`` (default 10). A capture in *limited range* shows black as 16, not
0: when the darkest considered pixel is between 12 and 20, the threshold is
raised by 16 so a limited-range black still counts as black. Up to 0.01 % of the
pixels (capture noise, a hot pixel) may be brighter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import cv2

from pytest_virtualpy.errors import BlackTimeout

from ._diff import now_of
from .frame import frame_time
from .image import ImageLike, load_mask, to_gray, validate_frame
from .region import Region

LIMITED_RANGE_BLACK = 16
_ALLOWED_FRACTION = 0.0001


@dataclass(frozen=True)
class BlackResult:
    """The result of `is_black`: truthy if the frame was black.

    ``max_level`` is the brightest considered gray level (ignoring the few
    allowed outliers would need a histogram; this is the plain maximum).

    >>> assert is_black(frame), "expected a black screen"   # doctest: +SKIP
    >>> bool(BlackResult(time=None, black=False, region=None, max_level=200))
    False
    """

    time: float | None
    black: bool
    region: Region | None
    max_level: int
    frame: Any = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.black)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "black": bool(self.black),
            "region": None if self.region is None else list(self.region.to_tuple()),
            "max_level": self.max_level,
        }


def is_black(
    frame: Any,
    region: Region = Region.ALL,
    mask: ImageLike | None = None,
    threshold: int = 10,
) -> BlackResult:
    """Is the frame (or ``region`` of it) black?

    :param threshold: brightest gray level (0-255) still counted as black.
    :param mask: only pixels where the mask is non-zero are considered.

    Example::

        assert is_black(frame), "expected a black screen while zapping"
    """
    validate_frame(frame)
    clipped = region.clip(frame.shape[1], frame.shape[0])
    if clipped is None:
        raise ValueError(f"{region} is outside the {frame.shape[1]}x{frame.shape[0]} frame")
    gray = to_gray(frame[clipped.to_slice()])
    m = load_mask(mask, frame.shape)
    if m is not None:
        m = m[clipped.to_slice()]
    lo, hi, _, _ = cv2.minMaxLoc(gray, m)
    limit = threshold
    if 12 <= lo <= 20:
        limit = threshold + LIMITED_RANGE_BLACK
    total = gray.size if m is None else cv2.countNonZero(m)
    if hi <= limit:
        black = True
    else:
        _, bright = cv2.threshold(gray, limit, 255, cv2.THRESH_BINARY)
        if m is not None:
            bright = cv2.bitwise_and(bright, m)
        black = cv2.countNonZero(bright) <= _ALLOWED_FRACTION * total
    return BlackResult(frame_time(frame), black, clipped, int(hi), frame)


def wait_for_black(
    frames: Iterable[Any],
    timeout_secs: float = 10.0,
    region: Region = Region.ALL,
    mask: ImageLike | None = None,
    threshold: int = 10,
) -> BlackResult:
    """Wait for a black frame; returns its `BlackResult`.

    :raises pytest_virtualpy.errors.BlackTimeout: no black frame within
        ``timeout_secs`` (measured on the frames' timestamps).

    Example::

        gap = wait_for_black(frames_after_zap, timeout_secs=2)
        print("black from", gap.time)
    """
    start = None
    last = None
    for frame in frames:
        now = now_of(frame)
        if start is None:
            start = now
        elif now - start > timeout_secs:
            break
        last = frame
        result = is_black(frame, region, mask, threshold)
        if result:
            return result
    err = BlackTimeout(f"The screen ({region}) didn't go black within {timeout_secs:g} seconds")
    err.frame = last  # type: ignore[attr-defined]
    err.timeout_secs = timeout_secs  # type: ignore[attr-defined]
    raise err

"""Frame differencing shared by motion, freeze and transition detection.

It works like stb-tester's default differ (``BGRDiff``), on colour:

1. A pixel has *changed* when its colour distance, the root mean square of its
   blue, green and red differences, ``sqrt((dB² + dG² + dR²) / 3)``, is at least
   ``threshold`` (0-255, default `DEFAULT_THRESHOLD` = 25). A gray change of 25
   levels counts, and so does a focus highlight that only changes hue at the same
   brightness, which a grayscale comparison cannot see.
2. The changed pixels are *opened* with a 3x3 cross (eroded, then dilated back):
   specks and blobs only 1-2 px wide or high (compression noise along edges)
   vanish, while anything at least 3x3 keeps its shape. Unlike stb-tester, thin
   straight lines of 15 px or more are kept too, see `keep_shapes`.
3. What is left is a change when its bounding box is at least ``min_size`` =
   ``(width, height)`` pixels (default `DEFAULT_MIN_SIZE` = (4, 4), or the size of
   the compared region if that is smaller): that ignores a blinking text cursor up
   to 3 px wide, but sees a 10 px strip of a moving object.
   Pass ``min_size=(0, 0)`` to count any change that survives step 2 (as
   stb-tester's default does), or a larger size to ignore small animations such as
   a spinner.

Motion detection (`detect_motion`) compares each frame with the last frame that
moved, not always with the previous one, so slow changes (a gradient wipe of 20
levels a frame) add up until they count, as stb-tester's do.

>>> differ = Differ(threshold=25, min_size=(4, 4))
>>> a = np.zeros((720, 1280, 3), np.uint8)
>>> b = a.copy(); b[100:110, 200:210] = (0, 0, 60)     # a 10x10 px change of red
>>> differ.compare(differ.prepare(a), differ.prepare(b))
Change(changed=True, region=Region(x=200, y=100, width=10, height=10))
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pytest_virtualpy.errors import BadArgument

from .frame import frame_time
from .image import ImageLike, load_mask, to_bgr, to_gray, validate_frame
from .region import Region

DEFAULT_THRESHOLD = 25
DEFAULT_MIN_SIZE = (4, 4)
MAX_MIN_SIZE = 16384  # pixels: larger than any frame
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
LINE_PIXELS = 15  # a 1-2 px thin straight change at least this long is kept
_ROW = np.ones((1, LINE_PIXELS), np.uint8)
_COLUMN = np.ones((LINE_PIXELS, 1), np.uint8)
_SQUARES = np.arange(256, dtype=np.float32) ** 2
_SUM_CHANNELS = np.ones((1, 3), np.float32)


def pick_threshold(threshold: float | None, noise_threshold: float | None) -> float | None:
    """``threshold`` (stb-tester's name) or its older synonym ``noise_threshold``.

    >>> pick_threshold(None, 30), pick_threshold(40, None), pick_threshold(None, None)
    (30, 40, None)
    """
    if threshold is not None and noise_threshold is not None:
        raise BadArgument("threshold and noise_threshold are the same setting: pass only threshold")
    return noise_threshold if threshold is None else threshold


def check_threshold(value: Any) -> float:
    """A colour distance from 0 to 255 (None: `DEFAULT_THRESHOLD`).

    >>> check_threshold(None), check_threshold(12.5)
    (25, 12.5)
    """
    if value is None:
        return DEFAULT_THRESHOLD
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 255:
        raise BadArgument(
            f"threshold must be a colour distance from 0 to 255 (default "
            f"{DEFAULT_THRESHOLD}; smaller is more sensitive), got {value!r}"
        )
    return value


def check_min_size(value: Any) -> tuple[int, int]:
    """``(width, height)`` in whole pixels, each 0 to `MAX_MIN_SIZE` (None: the default).

    >>> check_min_size(None), check_min_size([20, 10])
    ((4, 4), (20, 10))
    """
    if value is None:
        return DEFAULT_MIN_SIZE
    ok = isinstance(value, tuple | list) and len(value) == 2
    if ok:
        ok = all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_MIN_SIZE for n in value
        )
    if not ok:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise BadArgument(
            f"min_size must be (width, height) in whole pixels from 0 to {MAX_MIN_SIZE}, "
            f"e.g. min_size=(20, 20); got {shown}"
        )
    return int(value[0]), int(value[1])


def keep_shapes(changed: np.ndarray) -> np.ndarray:
    """Of the changed pixels, keep shapes at least 3x3 and straight lines at least
    `LINE_PIXELS` (15) long.

    The 3x3 opening is stb-tester's: it drops specks and anything only 1-2 px
    thick. The lines are ours: the 1 px slivers a focus highlight uncovers on the
    first and last frames of an eased animation are long and straight, while
    compression noise and antialiased edges that shift are not; keeping them times
    a transition to the frame rather than a frame late to start and a frame early
    to settle.
    """
    shapes = cv2.morphologyEx(changed, cv2.MORPH_OPEN, _CROSS)
    rows = cv2.morphologyEx(changed, cv2.MORPH_OPEN, _ROW)
    columns = cv2.morphologyEx(changed, cv2.MORPH_OPEN, _COLUMN)
    return cv2.bitwise_or(shapes, cv2.bitwise_or(rows, columns))


@dataclass(frozen=True)
class Change:
    """What `Differ.compare` found: ``region`` is the bounding box of the change in
    frame coordinates, None when nothing survived the opening."""

    changed: bool
    region: Region | None


class Differ:
    """Compares frames restricted to a region and mask, caching their crops.

    ``threshold`` and ``min_size`` are described in the module docstring; None
    means the default. A `Region` given as ``mask`` (stb-tester's way) narrows
    ``region``.
    """

    def __init__(
        self,
        region: Region = Region.ALL,
        mask: ImageLike | Region | None = None,
        threshold: float | None = None,
        min_size: tuple[int, int] | None = None,
    ) -> None:
        if isinstance(mask, Region):
            narrowed = Region.intersect(region, mask)
            if narrowed is None:
                raise BadArgument(f"mask={mask} doesn't overlap with region={region}")
            region, mask = narrowed, None
        self.region = region
        self._mask_arg = mask
        self._mask: np.ndarray | None = None
        self._clipped: Region | None = None
        self._shape: tuple[int, ...] | None = None
        self._min_w = self._min_h = 0
        self.threshold = check_threshold(threshold)
        self.min_size = check_min_size(min_size)
        # squared distances summed over 3 channels are compared with this
        self._limit = 3.0 * self.threshold**2

    def prepare(self, frame: Any) -> np.ndarray:
        """The crop of ``frame`` that comparisons use: BGR, or 2-D for a gray frame."""
        validate_frame(frame)
        if self._shape != frame.shape[:2]:
            self._shape = frame.shape[:2]
            self._clipped = self.region.clip(frame.shape[1], frame.shape[0])
            if self._clipped is None:
                raise BadArgument(
                    f"{self.region} is outside the {frame.shape[1]}x{frame.shape[0]} frame"
                )
            full = load_mask(self._mask_arg, frame.shape) if self._mask_arg is not None else None
            self._mask = None if full is None else full[self._clipped.to_slice()]
            if self._mask is not None and not cv2.countNonZero(self._mask):
                raise BadArgument(
                    f"the mask doesn't overlap with {self.region} of the frame: it has no "
                    "non-zero pixel there, so nothing could ever change. Pass a mask that "
                    "is non-zero (white) where changes should count."
                )
            # a change that fills the whole region is always big enough
            self._min_w = min(self.min_size[0], self._clipped.width)
            self._min_h = min(self.min_size[1], self._clipped.height)
        assert self._clipped is not None
        crop = frame[self._clipped.to_slice()]
        if crop.ndim == 3 and crop.shape[2] >= 3:
            return to_bgr(crop)
        return to_gray(crop)

    def compare(self, a: np.ndarray, b: np.ndarray) -> Change:
        """Compare two crops from `prepare`."""
        if a.shape != b.shape:
            raise BadArgument(
                f"can't compare a {a.shape} crop with a {b.shape} one: frames in one "
                "sequence must have the same size and be all colour or all gray"
            )
        diff = cv2.absdiff(a, b)
        # A colour distance (a root mean square) is at most the largest channel's
        # difference: where no channel moved by the threshold, nothing changed. That
        # cheap test bounds the exact one, which then only runs where it may pass.
        loudest = diff if diff.ndim == 2 else cv2.max(cv2.max(*cv2.split(diff)[:2]), diff[:, :, 2])
        changed = cv2.compare(loudest, math.ceil(self.threshold), cv2.CMP_GE)
        if self._mask is not None:
            changed = cv2.bitwise_and(changed, self._mask)
        x, y, w, h = cv2.boundingRect(changed)
        if w == 0 or h == 0:
            return Change(False, None)
        # the margin lets `keep_shapes` see the same neighbourhood as on the whole crop
        x0, y0 = max(0, x - LINE_PIXELS), max(0, y - LINE_PIXELS)
        x1 = min(diff.shape[1], x + w + LINE_PIXELS)
        y1 = min(diff.shape[0], y + h + LINE_PIXELS)
        changed = changed[y0:y1, x0:x1]
        if diff.ndim == 3:  # exactly: dB² + dG² + dR² >= 3 threshold²
            squares = cv2.transform(cv2.LUT(diff[y0:y1, x0:x1], _SQUARES), _SUM_CHANNELS)
            changed = cv2.bitwise_and(changed, cv2.compare(squares, self._limit, cv2.CMP_GE))
        x, y, w, h = cv2.boundingRect(keep_shapes(changed))
        if w == 0 or h == 0:
            return Change(False, None)
        assert self._clipped is not None
        region = Region(x + x0 + self._clipped.x, y + y0 + self._clipped.y, w, h)
        return Change(w >= self._min_w and h >= self._min_h, region)


def now_of(frame: Any) -> float:
    """Frame timestamp, or the monotonic clock for frames without one."""
    t = frame_time(frame)
    return _time.monotonic() if t is None else t

"""Frame differencing shared by motion, freeze and transition detection.

A pixel has *changed* when its grayscale value differs by more than
``noise_threshold`` (default `DEFAULT_NOISE_THRESHOLD` = 25 of 255). The
changed pixels are then despeckled (only pixels in a horizontal or vertical run
of 3 are kept), which removes specks of compression noise but keeps thin moving
edges, and what is left must cover at least ``max(25 px, 0.025 % of the
area)`` (about 230 px at 720p: a 15x15 blob) to count as a change. A blinking
cursor or a few noisy pixels don't count; a moving video window does.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .frame import frame_time
from .image import ImageLike, load_mask, to_gray, validate_frame
from .region import Region

DEFAULT_NOISE_THRESHOLD = 25
MIN_AREA_PIXELS = 25
MIN_AREA_FRACTION = 0.00025
_ROW = np.ones((1, 3), np.uint8)
_COLUMN = np.ones((3, 1), np.uint8)


def despeckle(changed: np.ndarray) -> np.ndarray:
    """Keep changed pixels that belong to a horizontal or vertical run of 3.

    This drops isolated specks of noise but, unlike a 3x3 erosion, keeps thin
    lines: the 1-2 px slivers a focus highlight uncovers on the first and last
    frames of an eased animation. Without them a transition would be timed a
    frame late to start and a frame early to settle.
    """
    return cv2.bitwise_or(cv2.erode(changed, _ROW), cv2.erode(changed, _COLUMN))


@dataclass
class Change:
    changed: bool
    region: Region | None  # bounding box of the change, frame coordinates
    pixels: int


class Differ:
    """Compares frames restricted to a region and mask, caching grayscale crops."""

    def __init__(
        self,
        region: Region = Region.ALL,
        mask: ImageLike | None = None,
        noise_threshold: float | None = None,
    ) -> None:
        self.region = region
        self._mask_arg = mask
        self._mask: np.ndarray | None = None
        self._clipped: Region | None = None
        self._shape: tuple[int, ...] | None = None
        if noise_threshold is None:
            noise_threshold = DEFAULT_NOISE_THRESHOLD
        if not 0 <= noise_threshold <= 255:
            raise ValueError(f"noise_threshold must be 0-255 gray levels, got {noise_threshold}")
        self.noise_threshold = int(noise_threshold)

    def prepare(self, frame: Any) -> np.ndarray:
        """The grayscale crop of ``frame`` that comparisons use."""
        validate_frame(frame)
        if self._shape != frame.shape[:2]:
            self._shape = frame.shape[:2]
            self._clipped = self.region.clip(frame.shape[1], frame.shape[0])
            if self._clipped is None:
                raise ValueError(
                    f"{self.region} is outside the {frame.shape[1]}x{frame.shape[0]} frame"
                )
            full = load_mask(self._mask_arg, frame.shape) if self._mask_arg is not None else None
            self._mask = None if full is None else full[self._clipped.to_slice()]
        assert self._clipped is not None
        return to_gray(frame[self._clipped.to_slice()])

    def compare(self, a: np.ndarray, b: np.ndarray) -> Change:
        """Compare two grayscale crops from `prepare`."""
        diff = cv2.absdiff(a, b)
        _, changed = cv2.threshold(diff, self.noise_threshold, 255, cv2.THRESH_BINARY)
        if self._mask is not None:
            changed = cv2.bitwise_and(changed, self._mask)
        changed = despeckle(changed)
        n = cv2.countNonZero(changed)
        if n < max(MIN_AREA_PIXELS, MIN_AREA_FRACTION * changed.size):
            return Change(False, None, n)
        x, y, w, h = cv2.boundingRect(changed)
        assert self._clipped is not None
        return Change(True, Region(x, y, w, h).translate(self._clipped.x, self._clipped.y), n)


def now_of(frame: Any) -> float:
    """Frame timestamp, or the monotonic clock for frames without one."""
    t = frame_time(frame)
    return _time.monotonic() if t is None else t

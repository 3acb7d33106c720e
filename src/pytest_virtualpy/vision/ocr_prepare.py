"""Getting pixels ready for an OCR engine: crop, trim, scale, pad; and mapping boxes back.

Every engine reads a `Prepared` crop and reports boxes in its pixels; `Prepared.to_frame`
turns such a box into a `Region` of the frame.

>>> import numpy as np
>>> p = prepare(np.zeros((720, 1280, 3), np.uint8), Region(100, 50, 200, 100), None)
>>> p.scale, p.pad, p.region
(1.0, 8, Region(x=100, y=50, width=200, height=100))
>>> p.to_frame(8, 8, 108, 28)
Region(x=100, y=50, width=100, height=20)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pytest_virtualpy.errors import BadArgument

from .image import to_bgr, validate_frame
from .region import Region

__all__ = ["Prepared", "prepare", "trim"]

MIN_CROP_PX = 64  # crops less tall than this are enlarged: small text reads better bigger
PAD = 8  # text touching the edge is hard to detect


@dataclass(frozen=True)
class Prepared:
    """A crop ready for OCR: ``image`` (BGR) is ``region`` of the frame, scaled, then padded."""

    image: np.ndarray
    region: Region
    scale: float
    pad: int

    def to_frame(self, x0: float, y0: float, x1: float, y1: float) -> Region:
        """A box in ``image`` pixels as a frame `Region` (clipped to the crop, at least 1 px)."""
        fx0 = max(0.0, (x0 - self.pad) / self.scale)
        fy0 = max(0.0, (y0 - self.pad) / self.scale)
        fx1 = min(float(self.region.width), (x1 - self.pad) / self.scale)
        fy1 = min(float(self.region.height), (y1 - self.pad) / self.scale)
        left, top = int(fx0), int(fy0)
        right = max(left + 1, min(self.region.width, math.ceil(fx1)))
        bottom = max(top + 1, min(self.region.height, math.ceil(fy1)))
        return Region.from_extents(
            self.region.x + left, self.region.y + top, self.region.x + right, self.region.y + bottom
        )


def trim(crop: np.ndarray, region: Region, margin: int = 4) -> tuple[np.ndarray, Region]:
    """Crop to the pixels that differ clearly from the background (the median grey level).

    Line mode recognises the whole crop as one line, so a region much taller or wider
    than its text reads badly (rapidocr: 77% of characters right on the simulator's
    one-line crops, 99% after trimming).
    """
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.int16)
    ink = np.abs(grey - int(np.median(grey))) > 48
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return crop, region
    y0, y1 = max(0, rows[0] - margin), min(crop.shape[0], rows[-1] + 1 + margin)
    x0, x1 = max(0, cols[0] - margin), min(crop.shape[1], cols[-1] + 1 + margin)
    trimmed = Region.from_extents(region.x + x0, region.y + y0, region.x + x1, region.y + y1)
    return np.ascontiguousarray(crop[y0:y1, x0:x1]), trimmed


def prepare(frame: Any, region: Region, upscale: float | None, mode: str = "block") -> Prepared:
    """Crop ``region`` of ``frame`` (trimmed to its text in line mode), scale and pad it."""
    validate_frame(frame)
    if not isinstance(region, Region):
        raise BadArgument(
            f"OCR region must be a Region (Region.ALL for the whole frame), not {region!r}"
        )
    clipped = region.clip(frame.shape[1], frame.shape[0])
    if clipped is None:
        raise BadArgument(
            f"OCR region {region} is outside the {frame.shape[1]}x{frame.shape[0]} frame: "
            "give a region that overlaps the frame (or Region.ALL for all of it)"
        )
    crop = to_bgr(np.ascontiguousarray(frame[clipped.to_slice()]))
    if mode == "line":
        crop, clipped = trim(crop, clipped)
    if upscale is None:
        tall = crop.shape[0]
        upscale = 1.0 if tall >= MIN_CROP_PX else min(4.0, MIN_CROP_PX / tall)
    if not upscale > 0:
        raise BadArgument(f"upscale must be a positive factor (or None to choose), not {upscale!r}")
    if upscale != 1.0:
        crop = cv2.resize(crop, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
    crop = cv2.copyMakeBorder(crop, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
    return Prepared(crop, clipped, float(upscale), PAD)

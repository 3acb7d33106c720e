"""Turn wire values (region tuples, mask PNGs) into vision arguments."""

from __future__ import annotations

import cv2
import numpy as np

from pytest_virtualpy.lab.imaging import decode_image, encode_image
from pytest_virtualpy.vision import Region

__all__ = ["decode_image", "encode_image", "mask_from_wire", "region_from_wire"]


def region_from_wire(value: tuple | None) -> Region:
    """A Region from an ``(x, y, width, height)`` tuple; None means the whole frame."""
    if value is None:
        return Region.ALL
    if len(value) != 4:
        raise ValueError(f"a region is (x, y, width, height), got {value!r}")
    return Region(*(int(v) for v in value))


def mask_from_wire(data: bytes | None) -> np.ndarray | None:
    """A grayscale mask from PNG bytes, or None."""
    if not data:
        return None
    mask = decode_image(data, "mask")
    if mask.ndim == 3:
        mask = cv2.cvtColor(mask[:, :, :3], cv2.COLOR_BGR2GRAY)
    return mask

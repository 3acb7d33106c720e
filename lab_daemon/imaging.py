"""Turn wire values (region tuples, reference and mask PNGs) into vision arguments.

Images come off the network, so their size is read from the PNG or JPEG header and
checked *before* decoding: a 380 KB PNG can claim 20000x20000 pixels, and decoding it
would allocate 1.2 GB. :func:`decode_bounded` refuses anything larger than
:data:`MAX_IMAGE_SIDE` on a side or :data:`MAX_IMAGE_PIXELS` in all.

>>> image_size(encode_image(np.zeros((20, 30, 3), np.uint8)))
(30, 20)
"""

from __future__ import annotations

import cv2
import numpy as np

from pytest_virtualpy.errors import ImageError
from pytest_virtualpy.lab.imaging import decode_image, encode_image, image_size
from pytest_virtualpy.vision import Region

__all__ = [
    "decode_bounded",
    "decode_image",
    "encode_image",
    "image_size",
    "mask_from_wire",
    "region_from_wire",
]

MAX_IMAGE_SIDE = 4096  # pixels on either side of a reference image or mask
MAX_IMAGE_PIXELS = 3840 * 2160  # and in all: a 4K frame, the largest a capture gives
MAX_COORDINATE = 1 << 16  # region values beyond this are never a real screen position


def decode_bounded(data: bytes, what: str = "image") -> np.ndarray:
    """Decode a PNG/JPEG whose header says it fits the size limits; ImageError otherwise."""
    width, height = image_size(data, what)
    if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE) or (
        width * height > MAX_IMAGE_PIXELS
    ):
        raise ImageError(
            f"the {what} is {width}x{height} pixels; at most {MAX_IMAGE_SIDE} on a side and "
            f"{MAX_IMAGE_PIXELS} pixels in all (3840x2160): crop it to what you look for"
        )
    array = decode_image(data, what)
    if array.shape[0] != height or array.shape[1] != width:  # a header that lied
        raise ImageError(f"the {what} decoded to a size its header does not say")
    return array


def region_from_wire(value: tuple | None) -> Region:
    """A Region from an ``(x, y, width, height)`` tuple; None means the whole frame."""
    if value is None:
        return Region.ALL
    if not isinstance(value, tuple) or len(value) != 4:
        raise ValueError(f"a region is (x, y, width, height) or None, got {value!r}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not abs(v) <= MAX_COORDINATE:
            raise ValueError(
                f"a region is (x, y, width, height), whole numbers within "
                f"±{MAX_COORDINATE}, got {value!r}"
            )
    return Region(*value)


def mask_from_wire(data: bytes | None) -> np.ndarray | None:
    """A grayscale mask from PNG bytes, or None."""
    if not data:
        return None
    if not isinstance(data, bytes):
        raise ValueError(f"a mask is PNG bytes or None, got {type(data).__name__}")
    mask = decode_bounded(data, "mask")
    if mask.ndim == 3:
        mask = cv2.cvtColor(mask[:, :, :3], cv2.COLOR_BGR2GRAY)
    return mask

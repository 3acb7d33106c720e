"""PNG/JPEG encoding of the images that cross the wire, used by both ends."""

from __future__ import annotations

import struct

import cv2
import numpy as np

from pytest_virtualpy.errors import ImageError


def decode_image(data: bytes, what: str = "image") -> np.ndarray:
    """Decode PNG/JPEG bytes, keeping any alpha channel."""
    if not data:
        raise ImageError(f"the {what} is empty")
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageError(f"the {what} is not a PNG or JPEG image the daemon can decode")
    if array.dtype != np.uint8:
        raise ImageError(f"the {what} must be 8 bits per channel, not {array.dtype}")
    return array


def encode_image(array: np.ndarray, fmt: str = "png", quality: int = 90) -> bytes:
    """Encode a frame as PNG (lossless, fast setting) or JPEG."""
    fmt = fmt.lower()
    if fmt == "png":
        ok, buf = cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    elif fmt in ("jpeg", "jpg"):
        ok, buf = cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    else:
        raise ImageError(f"unknown image format {fmt!r}; use 'png' or 'jpeg'")
    if not ok:
        raise ImageError("could not encode the frame")
    return buf.tobytes()


_PNG = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}  # PNG colour type -> channels once decoded


def png_pixels(png: bytes) -> tuple[int, int]:
    """``(pixels, decoded bytes)`` of a PNG, from its header (no pixel is decoded).

    >>> png_pixels(encode_image(np.zeros((720, 1280, 3), np.uint8), "png"))
    (921600, 2764800)
    """
    if not png.startswith(_PNG) or png[12:16] != b"IHDR" or len(png) < 26:
        raise ImageError("a reference is not a PNG image (no IHDR header)")
    width, height, _, colour = struct.unpack(">IIBB", png[16:26])
    return width * height, width * height * _CHANNELS.get(colour, 4)

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
# JPEG start-of-frame markers (baseline, progressive, lossless...): not DHT, JPG, DAC
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes, what: str) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ImageError(f"the {what} is a damaged JPEG (no marker at byte {i})")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # no length field
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF:
            if i + 9 > len(data):
                break
            precision, height, width = struct.unpack(">BHH", data[i + 4 : i + 9])
            if precision != 8:
                raise ImageError(f"the {what} must be 8 bits per channel, not {precision}")
            return width, height
        if length < 2:
            break
        i += 2 + length
    raise ImageError(f"the {what} is a JPEG without a frame header the daemon can read")


def image_size(data: bytes, what: str = "image") -> tuple[int, int]:
    """``(width, height)`` from a PNG or JPEG header, without decoding any pixel.

    Anything else (another format, a damaged header) is an :class:`ImageError`.
    """
    if not data:
        raise ImageError(f"the {what} is empty")
    if data.startswith(_PNG):
        return _png_header(data, what)[:2]
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data, what)
    raise ImageError(f"the {what} is not a PNG or JPEG image (it starts {bytes(data[:8])!r})")


def png_pixels(png: bytes) -> tuple[int, int]:
    """``(pixels, decoded bytes)`` of a PNG, from its header (no pixel is decoded).

    >>> png_pixels(encode_image(np.zeros((720, 1280, 3), np.uint8), "png"))
    (921600, 2764800)
    """
    if not png.startswith(_PNG):
        raise ImageError("a reference is not a PNG image (no IHDR header)")
    width, height, colour = _png_header(png, "reference")
    return width * height, width * height * _CHANNELS.get(colour, 4)


def _png_header(data: bytes, what: str) -> tuple[int, int, int]:
    """``(width, height, colour type)`` from a PNG's IHDR; 8 bits per channel at most."""
    if len(data) < 26 or data[12:16] != b"IHDR":
        raise ImageError(f"the {what} is a damaged PNG (no IHDR header)")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if depth > 8:
        raise ImageError(f"the {what} must be 8 bits per channel, not {depth}")
    return width, height, colour

"""How the ``tv_screen`` and ``remote`` fixtures put their arguments on the wire.

Regions as tuples clipped to the daemon's bound, images and masks as PNG bytes, match
parameters as dicts; and frames back from the daemon's PNG bytes.
"""

from __future__ import annotations

from pathlib import Path

from pytest_virtualpy import vision
from pytest_virtualpy.lab.imaging import decode_image, encode_image

#: the daemon refuses region coordinates beyond this (lab_daemon.imaging.MAX_COORDINATE)
_WIRE_LIMIT = 1 << 16


def region_tuple(region: vision.Region | None) -> tuple | None:
    """A region as it crosses the wire.

    Clipped to the daemon's coordinate bound first, so a region running to
    `Region.ALL`'s edge (``region.below()``, ``region.right_of()``) is accepted;
    the daemon clips it to the frame.

    >>> region_tuple(vision.Region(0, 700, 1280, 10).below())
    (0, 710, 1280, 64826)
    """
    if region is None or region == vision.Region.ALL:
        return None
    region = region.clip(_WIRE_LIMIT, _WIRE_LIMIT) or region  # wholly outside: as it is
    return tuple(int(v) for v in (region.x, region.y, region.width, region.height))


def image_bytes(image) -> bytes:
    """A reference image (path, array or PNG bytes) as PNG bytes, alpha kept."""
    if isinstance(image, bytes | bytearray):
        return bytes(image)
    return encode_image(vision.load_image(image), "png")


def mask_bytes(mask) -> bytes | None:
    if mask is None:
        return None
    return image_bytes(mask)


def image_name(image) -> str:
    """How to name an image argument in a message."""
    if isinstance(image, str | Path):
        return str(image)
    return "the reference image"


def frame_from_wire(meta: dict, png: bytes) -> vision.Frame:
    """A frame the daemon sent (its metadata and PNG bytes), with its capture time."""
    return vision.Frame(decode_image(png, "frame"), time=meta["time"])


def params_dict(params: vision.MatchParameters | None) -> dict | None:
    """Match parameters as they cross the wire (None: the daemon's defaults).

    >>> params_dict(None) is None
    True
    """
    return None if params is None else params.to_dict()

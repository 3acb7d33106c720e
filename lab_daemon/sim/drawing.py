"""Low-level drawing helpers: Pillow text on a canvas, converted once to BGR numpy.

Text is drawn only while building cached layers and patches, never per frame. The
font is Pillow's bundled scalable default font (Pillow >= 10.1), so no system font
files are needed.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

Color = tuple[int, int, int]  # RGB for Pillow canvases

BG = (18, 22, 38)
PANEL = (32, 40, 66)
TILE = (44, 56, 92)
ACCENT = (255, 196, 0)  # focus highlight (RGB)
ACCENT_BGR = (0, 196, 255)
WHITE = (240, 240, 240)
GREY = (170, 176, 190)


@functools.lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` pixels."""
    return ImageFont.load_default(size=max(8, int(size)))


class Canvas:
    """An RGB Pillow image with helpers for panels and text, exported as BGR numpy."""

    def __init__(self, width: int, height: int, color: Color = BG) -> None:
        self.image = Image.new("RGB", (width, height), color)
        self.draw = ImageDraw.Draw(self.image)

    def rect(
        self,
        rect: tuple[int, int, int, int],
        fill: Color,
        outline: Color | None = None,
        width: int = 1,
    ) -> None:
        """Fill ``rect`` (x1/y1 exclusive)."""
        x0, y0, x1, y1 = rect
        self.draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=fill, outline=outline, width=width)

    def text(
        self, xy: tuple[float, float], text: str, size: int, fill: Color = WHITE, anchor: str = "la"
    ) -> None:
        """Draw ``text`` with its anchor (Pillow anchor codes, e.g. "mm" = centre) at ``xy``."""
        self.draw.text(xy, text, font=font(size), fill=fill, anchor=anchor)

    def text_in(
        self,
        rect: tuple[int, int, int, int],
        text: str,
        size: int,
        fill: Color = WHITE,
        align: str = "left",
        pad: int = 0,
    ) -> None:
        """Draw ``text`` vertically centred in ``rect``, left-aligned or centred."""
        x0, y0, x1, y1 = rect
        cy = (y0 + y1) / 2
        if align == "center":
            self.text(((x0 + x1) / 2, cy), text, size, fill, anchor="mm")
        else:
            self.text((x0 + pad, cy), text, size, fill, anchor="lm")

    def to_bgr(self) -> np.ndarray:
        """The canvas as a contiguous, read-only BGR uint8 array."""
        arr = np.ascontiguousarray(np.asarray(self.image)[:, :, ::-1])
        arr.flags.writeable = False
        return arr


def text_width(text: str, size: int) -> int:
    """Rendered width of ``text`` in pixels."""
    x0, _, x1, _ = font(size).getbbox(text)
    return int(x1 - x0)


def fit_size(text: str, size: int, max_width: int) -> int:
    """Largest font size <= ``size`` at which ``text`` fits in ``max_width`` pixels."""
    while size > 10 and text_width(text, size) > max_width:
        size -= 1
    return size

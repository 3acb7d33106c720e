"""The reference cache: a reference image prepared once for matching (`_prepare`).

A `_Template` holds the reference's pixels, its transparency mask and, made on
first use, its gray, shrunk (for the coarse pass of the search) and rescaled
(for `MatchParameters.scales`) versions. References given as a file path are
cached by path, modification time and size, so a test that waits for the same
PNG in a loop decodes it once and the pyramid of it is built once.
"""

from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np

from .image import ImageLike, load_image, split_alpha, to_gray

MAX_SCALED = 32  # rescaled versions kept per reference


class _Template:
    """A reference image prepared for matching (pixels, mask, coarse versions)."""

    def __init__(self, raw: np.ndarray) -> None:
        self.raw = raw
        pixels, mask = split_alpha(raw)
        self.pixels = np.ascontiguousarray(pixels)
        self.mask = mask
        self.h, self.w = self.pixels.shape[:2]
        self.transparent = mask is not None and not mask.any()
        self.is_colour = self.pixels.ndim == 3
        self._gray: np.ndarray | None = None
        self._coarse: dict[tuple[int, bool], tuple[np.ndarray, np.ndarray | None] | None] = {}
        self._scaled: dict[float, _Template | None] = {}

    @property
    def gray(self) -> np.ndarray:
        if self._gray is None:
            self._gray = np.ascontiguousarray(to_gray(self.pixels))
        return self._gray

    def for_frame(self, colour: bool) -> np.ndarray:
        return self.pixels if (colour and self.is_colour) else self.gray

    def coarse(self, f: int, colour: bool = False) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Template (and mask) shrunk by ``f`` (gray unless ``colour``); None if too small."""
        key = (f, colour)
        if key not in self._coarse:
            hh, ww = self.h // f, self.w // f
            out = None
            if hh >= 4 and ww >= 4:
                src = self.pixels if colour else self.gray
                g = cv2.resize(src[: hh * f, : ww * f], (ww, hh), interpolation=cv2.INTER_AREA)
                m = None
                if self.mask is not None:
                    mc = cv2.resize(
                        self.mask[: hh * f, : ww * f], (ww, hh), interpolation=cv2.INTER_AREA
                    )
                    m = np.where(mc == 255, 255, 0).astype(np.uint8)
                    n = int(np.count_nonzero(m))
                    if n == m.size:
                        m = None
                    elif n < 16:
                        self._coarse[key] = None
                        return None
                out = (np.ascontiguousarray(g), m)
            self._coarse[key] = out
        return self._coarse[key]

    def scaled(self, factor: float) -> _Template | None:
        """This reference resized by ``factor`` (None if that leaves less than 2 px a side).

        Shrinking averages areas (as a capture of a smaller screen does);
        enlarging interpolates linearly. Transparency survives: a pixel is kept
        only where the resized alpha is still fully opaque.
        """
        if factor == 1.0:
            return self
        if factor not in self._scaled:
            w, h = round(self.w * factor), round(self.h * factor)
            out = None
            if w >= 2 and h >= 2:
                interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
                out = _Template(cv2.resize(self.raw, (w, h), interpolation=interp))
            if len(self._scaled) >= MAX_SCALED:
                self._scaled.pop(next(iter(self._scaled)))
            self._scaled[factor] = out
        return self._scaled[factor]


@lru_cache(maxsize=64)
def _template_from_file(path: str, mtime_ns: int, size: int) -> _Template:
    return _Template(load_image(path))


def _prepare(image: ImageLike | _Template) -> _Template:
    if isinstance(image, _Template):
        return image
    if isinstance(image, str | os.PathLike):
        p = os.fspath(image)
        try:
            st = os.stat(p)
        except OSError:
            load_image(p)  # raises a helpful ImageError
            raise
        return _template_from_file(os.path.abspath(p), st.st_mtime_ns, st.st_size)
    return _Template(load_image(image))

"""Recognising a capture's "no signal" picture: `is_no_signal`.

The rule: shrink the frame to 160x90, take its median colour, and count the
pixels within ``tolerance`` (default 12 levels, every channel) of it. If at
least ``uniform_fraction`` (default 95 %) of the frame is that one colour, the
frame is "no signal": a black frame, a blue or grey "no signal" screen, even
with a small "No signal" caption or logo on it. Anything with real content
(UI, video) has far more variety. Optionally (``use_ocr=True``, slower) a frame
that fails that test still counts if OCR reads "no signal" on it.

A black screen in the middle of a programme also satisfies the rule: use it to
tell "no picture" from "picture", not to diagnose the cause.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .image import validate_frame


def is_no_signal(
    frame: Any,
    *,
    tolerance: int = 12,
    uniform_fraction: float = 0.95,
    use_ocr: bool = False,
) -> bool:
    """True if ``frame`` looks like a capture with no (or an empty) input signal.

    Example::

        assert not is_no_signal(frame), "the set-top box output is off"
    """
    validate_frame(frame)
    img = frame
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    small = cv2.resize(np.ascontiguousarray(img), (160, 90), interpolation=cv2.INTER_AREA)
    pixels = small.reshape(-1, small.shape[2] if small.ndim == 3 else 1).astype(np.int16)
    median = np.median(pixels, axis=0)
    close = np.all(np.abs(pixels - median) <= tolerance, axis=1)
    if float(close.mean()) >= uniform_fraction:
        return True
    if use_ocr:
        from .ocr import ocr  # slow, optional

        text = " ".join(ocr(frame).lower().split())
        return "no signal" in text or "nosignal" in text.replace(" ", "")
    return False

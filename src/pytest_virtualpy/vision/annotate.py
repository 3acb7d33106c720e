"""Draw what a match looked at onto a frame, for humans tuning or debugging.

The searched region is drawn in blue, the best candidate in green if it matched
and red if not, labelled with its first-pass score.
"""

from __future__ import annotations

import cv2
import numpy as np

from .match import MatchResult
from .region import Region

SEARCH_COLOUR = (255, 160, 0)
MATCH_COLOUR = (0, 200, 0)
MISS_COLOUR = (0, 0, 255)


def annotate_match(
    frame: np.ndarray, result: MatchResult | None, region: Region | None = None
) -> np.ndarray:
    """A BGR copy of ``frame`` with ``region`` and ``result``'s candidate drawn on it.

    >>> png = cv2.imencode(".png", annotate_match(frame, match(ref, frame)))[1]  # doctest: +SKIP
    """
    img = np.ascontiguousarray(frame[:, :, :3] if frame.ndim == 3 else frame).copy()
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    h, w = img.shape[:2]
    if region is not None and region != Region.ALL:
        r = region.clip(w, h)
        if r is not None:
            cv2.rectangle(img, (r.x, r.y), (r.right - 1, r.bottom - 1), SEARCH_COLOUR, 2)
    if result is not None:
        b = result.region
        colour = MATCH_COLOUR if result.match else MISS_COLOUR
        cv2.rectangle(img, (b.x, b.y), (b.right - 1, b.bottom - 1), colour, 2)
        label = f"{'match' if result.match else 'best'} {result.first_pass_result:.3f}"
        y = b.y - 8 if b.y > 24 else min(h - 6, b.bottom + 20)
        cv2.putText(img, label, (b.x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 4)
        cv2.putText(img, label, (b.x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2)
    return img

"""Finding text first: a page of dark-on-white text, with each text region's own polarity.

tesseract binarises a page with one global threshold and expects dark text on a light
page. A TV screen has light text on dark bars, dark text on light tiles, text over
pictures, and backgrounds of two colours: one global inversion and threshold lose some of
it (white "No Signal" across a blue/green boundary was read as nothing). So before a block
read, `text_page` finds where text may be (strong local contrast joined into line-shaped
blobs), and draws each such region onto a white page of the same size: its background
(the median of the ring around it) white, its ink (what differs from that) dark, whichever
way round it was. Long straight edges (borders, the boundary between two colours) are left
out of the search. Everything else becomes white, which tesseract skips at no cost, so
word boxes stay in the crop's coordinates.

>>> import numpy as np
>>> grey = np.full((40, 120), 30, np.uint8); grey[15:25, 10:50] = 220   # light on dark
>>> page = text_page(grey)
>>> int(page[20, 30]) < 64, int(page[2, 2])
(True, 255)
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["text_boxes", "text_page"]

EDGE = 32  # grey-level step (morphological gradient) that may be the edge of a stroke
INK = 40  # a pixel this far from its region's background is ink
LINE_PX = 61  # an edge running straight for this long is a border, not a stroke


Boxes = list[tuple[int, int, int, int]]


def text_boxes(grey: np.ndarray) -> Boxes:
    """Boxes (x0, y0, x1, y1) around runs of strong local contrast: candidate text lines."""
    grad = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edges = (grad >= EDGE).astype(np.uint8)
    # Long straight edges are borders and colour boundaries, not strokes of text: drop them
    # (else a boundary joins all the text along it into one region of two backgrounds).
    lines = np.zeros_like(edges)
    for size in ((LINE_PX, 1), (1, LINE_PX)):
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, size)
        lines |= cv2.morphologyEx(edges, cv2.MORPH_OPEN, kernel)
    edges &= 1 - lines
    joined = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 3)))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    h, w = grey.shape
    boxes = []
    for contour in contours:
        x, y, bw, bh = cv2.boundingRect(contour)
        if bh < 6 or bw < 4 or bw * bh < 20:
            continue  # specks: noise, not characters
        pad = max(3, bh // 4)
        boxes.append((max(0, x - pad), max(0, y - pad), min(w, x + bw + pad), min(h, y + bh + pad)))
    return boxes


def text_page(grey: np.ndarray) -> np.ndarray:
    """A white page the size of ``grey`` with every text region drawn dark on white."""
    page = np.full_like(grey, 255)
    for x0, y0, x1, y1 in text_boxes(grey):
        patch = grey[y0:y1, x0:x1].astype(np.int16)
        ring = np.concatenate([patch[0], patch[-1], patch[:, 0], patch[:, -1]])
        bg = int(np.median(ring))
        dev = np.abs(patch - bg)
        ink = dev > INK
        if not ink.any():
            continue
        level = max(float(dev.max()) * 0.9, 1.0)
        drawn = np.clip(255 - dev * (255.0 / level), 0, 255).astype(np.uint8)
        np.minimum(page[y0:y1, x0:x1], drawn, out=page[y0:y1, x0:x1])
    return page

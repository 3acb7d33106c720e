"""The rapidocr engine (PP-OCRv4 models shipped in the pip package): lines cut into words.

rapidocr's detector gives a box per run of text and its recogniser often leaves out the
space between words ("YOUVIEWMENU"). With ``return_word_box`` it also says where each
character is; `gap_breaks` finds the gaps with no ink wider than 0.3 times the text's
height in the line's pixels (its character boxes alone are too rough for that: the step
between the two m's of "programme" was wider than the one between "YOUVIEW" and "MENU"),
and `words_from_chars` splits the characters there, which brings the spaces back and
gives each word its own region. Its models know no £, € or accented letters: for those
use tesseract.

>>> from .region import Region
>>> units = [("a", 4), ("b", 14), ("c", 24), ("d", 54), ("e", 64)]
>>> [w.text for w in words_from_chars(units, [40], Region(0, 0, 70, 10), float, 0.9)]
['abc', 'de']
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from .ocr_engine import rapidocr_engine
from .ocr_model import OcrLine, OcrWord
from .ocr_prepare import Prepared
from .ocr_text import filter_text, in_rows, split_line
from .region import Region

__all__ = ["read_rapidocr", "words_from_chars"]

WORD_GAP = 0.3  # a gap with no ink this many times the text's height is a space


def gap_breaks(grey: np.ndarray, box: tuple[int, int, int, int]) -> list[float]:
    """x positions (image pixels) of word gaps in ``box`` of ``grey``: wide runs of no ink.

    Ink is what differs clearly from the box's median grey level; a run of columns with no
    ink at least `WORD_GAP` times the ink's height wide is a space between words.

    >>> img = np.zeros((20, 60), np.uint8)
    >>> img[5:15, 2:12] = img[5:15, 14:24] = img[5:15, 40:50] = 255  # "ab c"
    >>> gap_breaks(img, (0, 0, 60, 20))
    [31.5]
    """
    x0, y0, x1, y1 = box
    crop = grey[max(0, y0) : y1, max(0, x0) : x1].astype(np.int16)
    if crop.size == 0:
        return []
    ink = np.abs(crop - int(np.median(crop))) > 48
    rows = np.flatnonzero(ink.any(axis=1))
    cols = ink.any(axis=0)
    if rows.size == 0:
        return []
    min_gap = max(2.0, WORD_GAP * (rows[-1] - rows[0] + 1))
    inked = np.flatnonzero(cols)
    breaks = []
    for a, b in itertools.pairwise(inked):
        if b - a - 1 >= min_gap:
            breaks.append(max(0, x0) + (int(a) + int(b)) / 2)
    return breaks


def words_from_chars(
    units: Sequence[tuple[str, float]],
    breaks: Sequence[float],
    line: Region,
    to_frame: Any,
    confidence: float,
) -> tuple[OcrWord, ...]:
    """Words from rapidocr's characters (with their centre x) split at spaces and gaps.

    A word ends at a space the recogniser read and at every gap in ``breaks`` (x in the
    same pixels as the centres); ``to_frame`` maps an x to frame pixels.
    """
    words: list[list[tuple[str, float]]] = [[]]
    gaps = sorted(breaks)
    for c, x in units:
        if not c.strip():
            words.append([])
            continue
        while gaps and x > gaps[0]:
            gaps.pop(0)
            words.append([])
        words[-1].append((c, x))
    out = []
    for chars in (w for w in words if w):
        pitch = (chars[-1][1] - chars[0][1]) / max(1, len(chars) - 1) if len(chars) > 1 else 0
        half = pitch / 2 if pitch else line.height / 4
        left = max(line.x, int(to_frame(chars[0][1] - half)))
        right = min(line.right, int(np.ceil(to_frame(chars[-1][1] + half))))
        region = Region.from_extents(left, line.y, max(right, left + 1), line.bottom)
        out.append(OcrWord("".join(c for c, _ in chars), region, confidence))
    return tuple(out)


def read_rapidocr(prepared: Prepared, mode: str, char_whitelist: str | None) -> list[OcrLine]:
    """Lines (with words) that rapidocr reads in ``prepared``, in frame coordinates."""
    eng = rapidocr_engine()
    if mode == "line":
        result, _ = eng(prepared.image, use_det=False, use_cls=False, use_rec=True)
        lines = []
        for text, score in result or []:
            text = " ".join(filter_text(text, char_whitelist).split())
            if text:
                words = split_line(text, prepared.region, float(score))
                lines.append(OcrLine(text, prepared.region, float(score), words))
        return lines
    result, _ = eng(prepared.image, use_cls=False, return_word_box=True)
    grey = cv2.cvtColor(prepared.image, cv2.COLOR_BGR2GRAY)

    def to_frame_x(x: float) -> float:
        return prepared.region.x + (x - prepared.pad) / prepared.scale

    pieces = []
    for item in result or []:
        box, text, score = item[0], item[1], float(item[2])
        pts = np.asarray(box, dtype=np.float32)
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        region = prepared.to_frame(x0, y0, x1, y1)
        boxes = item[3] if len(item) > 4 else []
        contents = item[4] if len(item) > 4 else []
        units = [
            (str(c), (min(p[0] for p in b) + max(p[0] for p in b)) / 2)
            for c, b in zip(contents, boxes, strict=False)
        ]
        if units and "".join(c for c, _ in units).replace(" ", "") == text.replace(" ", ""):
            breaks = gap_breaks(grey, (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))))
            words = words_from_chars(units, breaks, region, to_frame_x, score)
        else:
            words = split_line(" ".join(text.split()), region, score)
        kept = tuple(
            OcrWord(t, w.region, w.confidence)
            for w in words
            if (t := filter_text(w.text, char_whitelist).strip())
        )
        if kept:
            pieces.append(OcrLine(" ".join(w.text for w in kept), region, score, kept))
    return in_rows(pieces)

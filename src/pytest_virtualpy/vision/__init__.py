"""Pure image processing for virtualpy: matching, motion, black/freeze, OCR, transitions.

This package depends only on numpy, OpenCV (and scikit-image/Pillow, tesserocr/rapidocr
for OCR). It never imports pytest, RPyC or the lab daemon, so it runs the same in the
lab daemon at capture rate and in a test on saved screenshots::

    from pytest_virtualpy.vision import Region, load_image, match

    frame = load_image("screenshot.png")
    assert match("images/ok-button.png", frame, region=Region(0, 600, 1280, 120))

Defaults, in one place:

- matching (`MatchParameters`): stb-tester's shipped defaults: ``sqdiff``,
  ``match_threshold=0.98``, ``normed-absdiff``, ``confirm_threshold=0.70``
  (higher is stricter), ``erode_passes=1``. See `match` for the algorithm.
- motion, freeze, transition: on colour, as stb-tester's BGR differ: a pixel
  changed if its colour distance (RMS of the B, G, R differences) is at least
  ``threshold=25``; the changes are opened with a 3x3 cross (thin straight lines
  of 15 px or more are kept) and their bounding box must be at least
  ``min_size=(4, 4)``. Motion is measured against the last frame that moved, so
  slow changes add up. See ``vision/_diff.py``.
- black: gray level <= 10 (<= 26 when the capture is limited range).
- OCR: tesseract in process (tesserocr, eng+deu data) when installed, else rapidocr
  (offline); engine created on first use. See ``vision/ocr.py``.
"""

from .annotate import annotate_match
from .black import BlackResult, is_black, wait_for_black
from .frame import Frame
from .freeze import FreezeResult, is_frozen, wait_for_freeze
from .image import load_image, load_mask
from .match import (
    ConfirmMethod,
    MatchMethod,
    MatchParameters,
    MatchResult,
    match,
    match_all,
    wait_for_match,
)
from .motion import MotionResult, detect_motion, wait_for_motion
from .nosignal import is_no_signal
from .ocr import OcrLine, OcrWord, TextMatchResult, match_text, ocr, ocr_lines, wait_for_text
from .region import Region
from .transition import Transition, wait_for_transition

__all__ = [
    "BlackResult",
    "ConfirmMethod",
    "Frame",
    "FreezeResult",
    "MatchMethod",
    "MatchParameters",
    "MatchResult",
    "MotionResult",
    "OcrLine",
    "OcrWord",
    "Region",
    "TextMatchResult",
    "Transition",
    "annotate_match",
    "detect_motion",
    "is_black",
    "is_frozen",
    "is_no_signal",
    "load_image",
    "load_mask",
    "match",
    "match_all",
    "match_text",
    "ocr",
    "ocr_lines",
    "wait_for_black",
    "wait_for_freeze",
    "wait_for_match",
    "wait_for_motion",
    "wait_for_text",
    "wait_for_transition",
]

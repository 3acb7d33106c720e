"""Scoring a reference at a position: the first-pass certainty and the confirm step.

``_score`` maps a reference over an image with ``cv2.matchTemplate`` and turns
every method's output into a certainty from 0 (poor) to 1 (perfect);
``_exact_score`` is the same at one position; ``_confirm`` is the second pass
(see `match`).
"""

from __future__ import annotations

import cv2
import numpy as np

from .image import to_gray
from .match_params import ConfirmMethod, MatchMethod, MatchParameters
from .match_reference import _Template

_CV_METHOD = {
    MatchMethod.SQDIFF: cv2.TM_SQDIFF,
    MatchMethod.SQDIFF_NORMED: cv2.TM_SQDIFF_NORMED,
    MatchMethod.CCORR_NORMED: cv2.TM_CCORR_NORMED,
    MatchMethod.CCOEFF_NORMED: cv2.TM_CCOEFF_NORMED,
}
_MAX_CONTRAST_RATIO = 2.0  # normed-absdiff: candidate vs reference standard deviation
_NORMALISE_MIN_RANGE = 32  # normed-absdiff of low-contrast references: stretch <= 255/32x


def _score_near(image: np.ndarray, tpl: np.ndarray, mask: np.ndarray | None, method: MatchMethod):
    """Like `_score`, for a window only a few positions wide (faster than OpenCV's DFT path)."""
    ph, pw = image.shape[0] - tpl.shape[0] + 1, image.shape[1] - tpl.shape[1] + 1
    if method is not MatchMethod.SQDIFF or ph * pw > 49 or tpl.shape[0] * tpl.shape[1] < 1024:
        return _score(image, tpl, mask, method)
    th, tw = tpl.shape[:2]
    channels = tpl.shape[2] if tpl.ndim == 3 else 1
    n = cv2.countNonZero(mask) if mask is not None else th * tw
    scale = 1.0 / (max(1, n * channels) * 255.0 * 255.0)
    out = np.empty((ph, pw), np.float32)
    for y in range(ph):
        for x in range(pw):
            ssd = cv2.norm(image[y : y + th, x : x + tw], tpl, cv2.NORM_L2SQR, mask=mask)
            out[y, x] = 1.0 - ssd * scale
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _score(image: np.ndarray, tpl: np.ndarray, mask: np.ndarray | None, method: MatchMethod):
    """Certainty map (0..1, higher is better) of ``tpl`` at every position in ``image``."""
    cv_method = _CV_METHOD[method]
    if mask is not None:
        raw = cv2.matchTemplate(image, tpl, cv_method, mask=mask)
    else:
        raw = cv2.matchTemplate(image, tpl, cv_method)
    if method is MatchMethod.SQDIFF:
        channels = tpl.shape[2] if tpl.ndim == 3 else 1
        n = cv2.countNonZero(mask) if mask is not None else tpl.shape[0] * tpl.shape[1]
        raw *= -1.0 / (max(1, n * channels) * 255.0 * 255.0)
        raw += 1.0
    elif method is MatchMethod.SQDIFF_NORMED:
        raw = 1.0 - raw
    np.nan_to_num(raw, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(raw, 0.0, 1.0, out=raw)
    return raw


def _exact_score(
    img: np.ndarray, x: int, y: int, t: _Template, tpl: np.ndarray, method: MatchMethod
) -> float:
    """First-pass certainty of ``tpl`` at exactly (x, y) (same scale as `_score`)."""
    if t.transparent:
        return 1.0
    roi = img[y : y + t.h, x : x + t.w]
    if method is MatchMethod.SQDIFF:
        channels = tpl.shape[2] if tpl.ndim == 3 else 1
        n = cv2.countNonZero(t.mask) if t.mask is not None else t.w * t.h
        ssd = cv2.norm(roi, tpl, cv2.NORM_L2SQR, mask=t.mask)
        return float(min(1.0, max(0.0, 1.0 - ssd / (max(1, n * channels) * 255.0 * 255.0))))
    return float(_score(np.ascontiguousarray(roi), tpl, t.mask, method)[0, 0])


def _confirm(img: np.ndarray, x: int, y: int, t: _Template, params: MatchParameters) -> bool:
    """Second pass: does the reference really match ``img`` at (x, y)?

    Compares grayscale (colour was already checked by the first pass, which
    scores colour images in colour). A pixel "differs" if its absolute
    difference is more than ``(1 - confirm_threshold) * 255`` (so higher
    thresholds are stricter, like ``match_threshold``); the differing pixels are
    eroded ``erode_passes`` times and none may be left.
    """
    if params.confirm_method is ConfirmMethod.NONE or t.transparent:
        return True
    roi = img[y : y + t.h, x : x + t.w]
    if roi.ndim == 3:
        roi = to_gray(roi)
    tpl = t.gray
    mask = t.mask
    if params.confirm_method is ConfirmMethod.NORMED_ABSDIFF:
        # A low-contrast reference (a flat tile, a gradient) would have capture
        # noise stretched past the threshold, so its stretch is limited. A
        # high-contrast reference keeps stb-tester's full stretch, which also
        # exposes a flat frame region where the reference has structure.
        # Normalising hides a difference in contrast (a flat area where the
        # reference has thin text, which erosion would then remove): reject
        # candidates whose contrast is very different from the reference's.
        _, sd_t = cv2.meanStdDev(tpl, mask=mask)
        _, sd_r = cv2.meanStdDev(roi, mask=mask)
        ratio = (float(sd_r[0, 0]) + 2.0) / (float(sd_t[0, 0]) + 2.0)
        if not 1 / _MAX_CONTRAST_RATIO <= ratio <= _MAX_CONTRAST_RATIO:
            return False
        lo, hi, _, _ = cv2.minMaxLoc(tpl, mask)
        floor = _NORMALISE_MIN_RANGE if hi - lo < 2 * _NORMALISE_MIN_RANGE else 0
        diff = cv2.absdiff(_normalise(roi, mask, floor), _normalise(tpl, mask, floor))
    else:
        diff = cv2.absdiff(roi, tpl)
    if mask is not None:
        diff = cv2.bitwise_and(diff, mask)
    limit = int((1.0 - params.confirm_threshold) * 255)
    _, differing = cv2.threshold(diff, limit, 255, cv2.THRESH_BINARY)
    if params.erode_passes:
        differing = cv2.erode(differing, _ELLIPSE, iterations=params.erode_passes)
    return cv2.countNonZero(differing) == 0


_ELLIPSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def _normalise(image: np.ndarray, mask: np.ndarray | None, min_range: float = 0) -> np.ndarray:
    """Stretch a gray ``image`` so its (masked) levels span 0..255.

    The gain is at most ``255 / min_range`` (no limit when 0).
    """
    lo, hi, _, _ = cv2.minMaxLoc(image, mask)
    if hi <= lo:
        return np.zeros_like(image)
    shifted = cv2.subtract(image, np.full_like(image, round(lo)))
    return cv2.convertScaleAbs(shifted, alpha=255.0 / max(hi - lo, min_range))

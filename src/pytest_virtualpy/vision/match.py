"""Finding a reference image in a video frame: `match`, `match_all`, `wait_for_match`.

The algorithm has two passes, like stb-tester's:

1. **Find candidates** with ``cv2.matchTemplate``. To keep this cheap at capture
   rate, large searches run coarse-to-fine: the frame and the reference are
   shrunk (grayscale, area-averaged, by 2 or 4 so that the shrunk reference
   is still at least 6 px; by 8 for references of 128 px and more), and the
   coarse score map's peaks above a relaxed threshold are followed down the
   pyramid, best first, in a +-1 px window per level (`match`: up to 16
   peaks, 48 for small references whose shrunk text or icon ranks poorly,
   stopping at the first one that scores 0.998 in colour; `match_all`: every
   peak). The frame's pyramid levels are built once per search and shared by
   all candidates. The reported ``first_pass_result`` is the exact
   full-resolution (colour) score. Small searches, and references the same
   size as the region, are scored directly at full resolution.
2. **Confirm** the best candidates: the absolute difference between reference
   and frame at that position, thresholded and eroded (so single-pixel noise
   doesn't count), must leave no differing pixels. Candidates are ranked in
   gray but judged by their exact colour score, so the same tile with another
   highlight colour is rejected there. Only when gray was fooled (a candidate
   looked right in gray and wrong in colour) is the search redone with a
   colour coarse pass, skipping places already refuted, so a hard negative
   costs one extra coarse pass rather than a thorough retry.

``confirm_threshold`` follows current stb-tester: higher is stricter (a pixel
differs when its difference exceeds ``(1 - confirm_threshold) * 255``).

Transparency: pixels of the reference with alpha < 255 are ignored. A reference
that is completely transparent matches everywhere (score 1.0), like stb-tester.
A reference larger than the (clipped) search region never matches: `match`
returns a falsy result and `match_all` yields nothing.
"""

from __future__ import annotations

import enum
import os
import time as _time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from pytest_virtualpy.errors import MatchTimeout

from .frame import frame_time
from .image import ImageLike, image_name, load_image, split_alpha, to_gray, validate_frame
from .region import Region

__all__ = [
    "ConfirmMethod",
    "MatchMethod",
    "MatchParameters",
    "MatchResult",
    "match",
    "match_all",
    "wait_for_match",
]


class MatchMethod(enum.StrEnum):
    """First-pass scoring (see ``cv2.matchTemplate``). SQDIFF is the default."""

    SQDIFF = "sqdiff"
    SQDIFF_NORMED = "sqdiff-normed"
    CCORR_NORMED = "ccorr-normed"
    CCOEFF_NORMED = "ccoeff-normed"

    def __str__(self) -> str:
        return self.value


class ConfirmMethod(enum.StrEnum):
    """Second-pass check at the candidate position. NORMED_ABSDIFF is the default."""

    NONE = "none"
    ABSDIFF = "absdiff"
    NORMED_ABSDIFF = "normed-absdiff"

    def __str__(self) -> str:
        return self.value


_CV_METHOD = {
    MatchMethod.SQDIFF: cv2.TM_SQDIFF,
    MatchMethod.SQDIFF_NORMED: cv2.TM_SQDIFF_NORMED,
    MatchMethod.CCORR_NORMED: cv2.TM_CCORR_NORMED,
    MatchMethod.CCOEFF_NORMED: cv2.TM_CCOEFF_NORMED,
}


@dataclass(frozen=True)
class MatchParameters:
    """Tuning for `match` and friends. The defaults are stb-tester's shipped defaults.

    :param match_method: first-pass score, one of "sqdiff" (default),
        "sqdiff-normed", "ccorr-normed", "ccoeff-normed". Every method's score
        is reported as a certainty from 0 (poor) to 1 (perfect). "sqdiff" is
        ``1 - mean squared difference`` (as a fraction of the 0-255 range), which
        unlike OpenCV's normalised methods behaves well on dark or flat images.
    :param match_threshold: minimum first-pass certainty for a candidate
        (default 0.98).
    :param confirm_method: "normed-absdiff" (default: compare after stretching
        both images' brightness to 0-255, robust to capture levels, e.g.
        16-235 limited range), "absdiff" (compare raw pixels) or "none".
    :param confirm_threshold: a pixel differs if its absolute difference is
        more than this fraction of 255 (default 0.70).
    :param erode_passes: erosions (3x3) applied to the differing pixels before
        counting them, to ignore single-pixel noise (default 1).

    Example::

        lenient = MatchParameters(match_threshold=0.9, confirm_threshold=0.8)
        match("button.png", frame, params=lenient)
    """

    match_method: MatchMethod | str = MatchMethod.SQDIFF
    match_threshold: float = 0.98
    confirm_method: ConfirmMethod | str = ConfirmMethod.NORMED_ABSDIFF
    confirm_threshold: float = 0.70
    erode_passes: int = 1

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "match_method", MatchMethod(self.match_method))
            object.__setattr__(self, "confirm_method", ConfirmMethod(self.confirm_method))
        except ValueError as e:
            raise ValueError(f"Invalid MatchParameters: {e}") from None
        for name in ("match_threshold", "confirm_threshold"):
            v = float(getattr(self, name))
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"MatchParameters.{name} must be between 0 and 1, got {v}")
            object.__setattr__(self, name, v)
        if int(self.erode_passes) < 0:
            raise ValueError(f"erode_passes must be >= 0, got {self.erode_passes}")
        object.__setattr__(self, "erode_passes", int(self.erode_passes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "match_method": str(self.match_method),
            "match_threshold": self.match_threshold,
            "confirm_method": str(self.confirm_method),
            "confirm_threshold": self.confirm_threshold,
            "erode_passes": self.erode_passes,
        }


_DEFAULT_PARAMS = MatchParameters()


@dataclass
class MatchResult:
    """The result of `match`: truthy if the reference image was found.

    ``region`` is where it was found, or the closest candidate if it wasn't.
    ``first_pass_result`` is that position's first-pass certainty (0..1).
    ``time`` is the frame's capture time; ``frame`` and ``image`` are what was
    searched (``image`` is the path if a path was given).

    >>> result = match("images/ok-button.png", frame)      # doctest: +SKIP
    >>> if result:
    ...     print("OK button at", result.region)
    """

    time: float | None
    match: bool
    region: Region
    first_pass_result: float
    frame: Any = field(default=None, repr=False)
    image: Any = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return bool(self.match)

    @property
    def position(self) -> tuple[int, int]:
        return (self.region.x, self.region.y)

    def __repr__(self) -> str:
        t = "None" if self.time is None else f"{self.time:.3f}"
        return (
            f"MatchResult(time={t}, match={self.match}, region={self.region!r}, "
            f"first_pass_result={self.first_pass_result:.4f}, image={image_name(self.image)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict (no arrays); ``image`` is a path or None."""
        image = self.image
        return {
            "time": self.time,
            "match": bool(self.match),
            "region": list(self.region.to_tuple()),
            "first_pass_result": float(self.first_pass_result),
            "image": str(image) if isinstance(image, str | os.PathLike) else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], frame: Any = None) -> MatchResult:
        """Rebuild a result from `to_dict` output (optionally re-attaching the frame)."""
        return cls(
            time=d.get("time"),
            match=bool(d["match"]),
            region=Region.from_tuple(d["region"]),
            first_pass_result=float(d.get("first_pass_result", 0.0)),
            frame=frame,
            image=d.get("image"),
        )


# --- reference preparation ------------------------------------------------------------


class _Template:
    """A reference image prepared for matching (pixels, mask, coarse versions)."""

    def __init__(self, raw: np.ndarray) -> None:
        pixels, mask = split_alpha(raw)
        self.pixels = np.ascontiguousarray(pixels)
        self.mask = mask
        self.h, self.w = self.pixels.shape[:2]
        self.transparent = mask is not None and not mask.any()
        self.is_colour = self.pixels.ndim == 3
        self._gray: np.ndarray | None = None
        self._coarse: dict[tuple[int, bool], tuple[np.ndarray, np.ndarray | None] | None] = {}

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


# --- scoring --------------------------------------------------------------------------


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


class _Heat:
    """A sparse full-resolution score map: windows of scored positions."""

    def __init__(self) -> None:
        self.windows: list[tuple[int, int, np.ndarray]] = []

    def add(self, x0: int, y0: int, scores: np.ndarray) -> None:
        self.windows.append((x0, y0, scores))

    def best(self) -> tuple[float, int, int]:
        best = (-1.0, 0, 0)
        for x0, y0, s in self.windows:
            _, mx, _, loc = cv2.minMaxLoc(s)
            if mx > best[0] or (mx == best[0] and (loc[1] + y0, loc[0] + x0) < (best[2], best[1])):
                best = (mx, loc[0] + x0, loc[1] + y0)
        return best

    def exclude(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Mark positions x0 <= x < x1, y0 <= y < y1 as used."""
        for wx, wy, s in self.windows:
            ax, ay = max(x0 - wx, 0), max(y0 - wy, 0)
            bx, by = min(x1 - wx, s.shape[1]), min(y1 - wy, s.shape[0])
            if ax < bx and ay < by:
                s[ay:by, ax:bx] = -1.0


# Direct (single-pass, full resolution, colour) search when it is this cheap, in
# positions x template pixels; above it, coarse-to-fine.
_DIRECT_BUDGET = 3_000_000
_COARSE_MIN_TEMPLATE = 6  # px: smallest side of the shrunk template
_COARSE_BIG_TEMPLATE = 16  # px: ... to shrink by 8
_COARSE_RELAX = {MatchMethod.SQDIFF: 0.03}  # others: 0.2 (as stb-tester)
# match(): how many coarse peaks (above the relaxed threshold, best first) to
# follow down the pyramid. A small shrunk reference (text, an icon) is blurred
# to a few pixels and misaligned by up to f-1 px with the coarse grid, so on a
# dark or busy background the right place can rank behind dozens of others:
# follow more of them (each costs tens of microseconds).
_MAX_CANDIDATES_MATCH = 16
_MAX_CANDIDATES_SMALL = 48
_SMALL_COARSE_AREA = 256  # px: a shrunk reference smaller than this is "small"
_MAX_UNCONFIRMED = 8  # match(): candidates that may fail confirmation before giving up
_MAX_CONTRAST_RATIO = 2.0  # normed-absdiff: candidate vs reference standard deviation
_NORMALISE_MIN_RANGE = 32  # normed-absdiff of low-contrast references: stretch <= 255/32x
_GOOD_ENOUGH = 0.998  # match(): stop refining candidates after one scores this well
_MAX_CANDIDATES_ALL = 4000
_MAX_REFINE = 64
_FINAL_MARGIN = 1


class _Pyramid:
    """The searched image (a region crop) shrunk by 2, 4, 8: each level built once per search.

    Refining many candidates used to resize a small crop per candidate and
    step; one area-averaged resize of the whole image per level is cheaper as
    soon as a few candidates are followed, and gives the same pixels (area
    averaging by an integer factor is a plain block mean, so a crop of the
    shrunk image equals the shrunk crop when the crop is grid-aligned).
    """

    def __init__(self, base: np.ndarray) -> None:
        self.base = base
        self._levels: dict[int, np.ndarray] = {1: base}

    def level(self, f: int) -> np.ndarray:
        out = self._levels.get(f)
        if out is None:
            h, w = self.base.shape[0] // f, self.base.shape[1] // f
            src = self.base[: h * f, : w * f]
            out = cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)
            self._levels[f] = out
        return out


def _refine_step(
    pyr: _Pyramid, t: _Template, method: MatchMethod, colour: bool, level: int, x: int, y: int
) -> tuple[int, int, float, tuple[int, int, np.ndarray] | None]:
    """Best position near (x, y) at pyramid ``level`` (coordinates at that level), and its score.

    Searches +-1 position, and follows the score uphill (a few steps) if the
    best is on the edge of that window. Also returns the last scored window
    ``(x0, y0, scores)`` (None if nothing was scored), so the full-resolution
    step needs no second scoring.
    """
    coarse_t = (t.pixels if colour else t.gray, t.mask) if level == 1 else t.coarse(level, colour)
    if coarse_t is None:
        return x, y, 1.0, None
    ctpl, cmask = coarse_t
    src = pyr.level(level)
    th, tw = ctpl.shape[:2]
    max_x, max_y = src.shape[1] - tw, src.shape[0] - th
    if max_x < 0 or max_y < 0:
        return x, y, 1.0, None
    x, y = min(max(0, x), max_x), min(max(0, y), max_y)
    best = 0.0
    window = None
    for _ in range(4):
        x0, y0 = max(0, x - 1), max(0, y - 1)
        x1, y1 = min(max_x, x + 1), min(max_y, y + 1)
        scores = _score_near(src[y0 : y1 + th, x0 : x1 + tw], ctpl, cmask, method)
        window = (x0, y0, scores)
        _, best, _, loc = cv2.minMaxLoc(scores)
        nx, ny = x0 + loc[0], y0 + loc[1]
        if (nx, ny) == (x, y):
            break
        x, y = nx, ny
    return x, y, best, window


def _choose_factor(rw: int, rh: int, t: _Template) -> int:
    positions = (rw - t.w + 1) * (rh - t.h + 1)
    if positions * t.w * t.h <= _DIRECT_BUDGET or t.transparent:
        return 1
    f = 1
    # Shrink by up to 4 while the shrunk reference keeps >= 6 px; by 8 only for
    # big references (>= 16 px shrunk), where the up-to-4 px misalignment
    # between the coarse grids matters less. Deeper pyramids miss real matches.
    while (
        f * 2 <= 8
        and min(t.w, t.h) // (f * 2) >= (_COARSE_MIN_TEMPLATE if f < 4 else _COARSE_BIG_TEMPLATE)
        and t.coarse(f * 2) is not None
    ):
        f *= 2
    if f == 1 and min(t.w, t.h) // 2 >= 4 and t.coarse(2) is not None:
        f = 2
    return f


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


class _Candidates:
    """Scored candidate positions of a reference within an image (region crop)."""

    def __init__(self, heat: _Heat, exact: bool, truncated: bool = False) -> None:
        self.heat = heat
        self.exact = exact  # heat values are final first-pass scores (else: a gray ranking)
        # More coarse peaks passed the relaxed threshold than were followed.
        self.truncated = truncated


class _Search:
    """Per-call state shared by the passes of one search: the image and its pyramids."""

    def __init__(self, img: np.ndarray) -> None:
        self.img = img
        self._gray: _Pyramid | None = None
        self._colour: _Pyramid | None = None

    def pyramid(self, colour: bool) -> _Pyramid:
        if colour:
            if self._colour is None:
                self._colour = _Pyramid(self.img)
            return self._colour
        if self._gray is None:
            self._gray = _Pyramid(to_gray(self.img) if self.img.ndim == 3 else self.img)
        return self._gray


def _find_candidates(
    search: _Search,
    t: _Template,
    params: MatchParameters,
    colour: bool,
    find_all: bool,
    colour_coarse: bool = False,
    refuted: frozenset[tuple[int, int]] = frozenset(),
) -> _Candidates:
    """First pass: score candidate positions of ``t`` in ``search.img`` (already cropped).

    With ``find_all`` every coarse peak above the relaxed threshold is refined.
    Otherwise the best coarse peaks above it (16, or 48 for a small shrunk
    reference), best first, until one scores `_GOOD_ENOUGH` in colour. One
    pass covers near misses and hard negatives (similar tiles, another
    highlight), so a miss costs a bounded number of cheap refinements rather
    than a second search; ``truncated`` tells the caller more peaks existed.
    ``refuted``: full-resolution positions whose exact colour score already
    failed; coarse peaks within one coarse pixel of them aren't followed again.
    """
    img = search.img
    rh, rw = img.shape[:2]
    heat = _Heat()
    hw, hh = rw - t.w + 1, rh - t.h + 1
    if t.transparent:
        heat.add(0, 0, np.ones((hh, hw), np.float32))
        return _Candidates(heat, exact=True)
    tpl = t.for_frame(colour)
    if hw * hh <= 4:
        # Same size (or nearly): compare directly, no search needed.
        s = np.array(
            [
                [_exact_score(img, x, y, t, tpl, params.match_method) for x in range(hw)]
                for y in range(hh)
            ],
            np.float32,
        )
        heat.add(0, 0, s)
        return _Candidates(heat, exact=True)
    f = _choose_factor(rw, rh, t)
    if f == 1:
        heat.add(0, 0, _score(img, tpl, t.mask, params.match_method))
        return _Candidates(heat, exact=True)

    colour_coarse = colour_coarse and colour
    coarse_t = t.coarse(f, colour_coarse)
    if coarse_t is None:
        heat.add(0, 0, _score(img, tpl, t.mask, params.match_method))
        return _Candidates(heat, exact=True)
    ctpl, cmask = coarse_t
    pyr = search.pyramid(colour_coarse)
    cheat = _score(pyr.level(f), ctpl, cmask, params.match_method)
    relax = _COARSE_RELAX.get(params.match_method, 0.2)  # type: ignore[call-overload]
    threshold = max(0.0, params.match_threshold - relax)
    best_loc = cv2.minMaxLoc(cheat)[3]

    truncated = False
    if find_all:
        dil = cv2.dilate(cheat, np.ones((3, 3), np.uint8))
        ys, xs = np.nonzero((cheat >= dil) & (cheat >= threshold))
        if len(xs) > _MAX_CANDIDATES_ALL:
            order = np.argsort(-cheat[ys, xs], kind="stable")[:_MAX_CANDIDATES_ALL]
            ys, xs = ys[order], xs[order]
        cands = list(zip(xs.tolist(), ys.tolist(), strict=True))
    else:
        # The best few, best first, at least half a template apart.
        small = ctpl.shape[0] * ctpl.shape[1] < _SMALL_COARSE_AREA
        limit = _MAX_CANDIDATES_SMALL if small else _MAX_CANDIDATES_MATCH
        cands = []
        work = cheat.copy()
        ry, rx = max(1, ctpl.shape[0] // 2), max(1, ctpl.shape[1] // 2)
        while True:
            _, v, _, (px, py) = cv2.minMaxLoc(work)
            if v < threshold:
                break
            if len(cands) == limit:
                truncated = True
                break
            cands.append((px, py))
            work[max(0, py - ry) : py + ry + 1, max(0, px - rx) : px + rx + 1] = -1.0
    if best_loc not in cands:
        cands.append(best_loc)  # always refine the best, so a miss reports a position
    if len(cands) > _MAX_REFINE:
        # So many candidates (a repeating pattern, a flat template) that one
        # full-resolution pass is cheaper than refining each of them.
        heat.add(0, 0, _score(img, tpl, t.mask, params.match_method))
        return _Candidates(heat, exact=True)

    # Refine each candidate down the pyramid (f/2, f/4, ... 1), each time in a
    # small window around the previous estimate. Full resolution is scored in
    # gray unless colour_coarse; the exact colour score is computed later, only
    # for the positions that get picked (and here for a candidate that looks
    # good enough to stop at).
    seen: set[tuple[int, int]] = set()
    floor = max(0.0, params.match_threshold - relax)
    good = max(_GOOD_ENOUGH, params.match_threshold)
    exact = colour_coarse or not colour
    for i, (cx, cy) in enumerate(cands):
        if i and any(abs(cx * f - rx) <= f and abs(cy * f - ry) <= f for rx, ry in refuted):
            continue
        x, y, level = cx, cy, f
        score = 1.0
        window = None
        while level > 1 and (score >= floor or i == 0):
            level //= 2
            x, y, score, window = _refine_step(
                pyr, t, params.match_method, colour_coarse, level, 2 * x, 2 * y
            )
        if level > 1 or window is None:
            continue  # dropped: it stopped looking like a match on the way down
        if (x, y) in seen:
            continue
        seen.add((x, y))
        heat.add(*window)
        if (
            not find_all
            and score >= good
            and (exact or _exact_score(img, x, y, t, tpl, params.match_method) >= good)
        ):
            break
    return _Candidates(heat, exact=exact, truncated=truncated)


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


def _iter_matches(
    image: ImageLike | _Template,
    frame: np.ndarray,
    region: Region,
    params: MatchParameters | None,
    find_all: bool,
    original_image: Any = None,
) -> Iterator[MatchResult]:
    """Yield confirmed matches best first, then one falsy result (closest miss).

    For `match_all`, like stb-tester, the search stops at the first candidate
    (in first-pass order) that passes the first pass but fails confirmation;
    `match` tries up to 8 such candidates before giving up.
    """
    params = _DEFAULT_PARAMS if params is None else params
    if original_image is None and not isinstance(image, _Template):
        original_image = image
    t = _prepare(image)
    validate_frame(frame)
    t_now = frame_time(frame)
    clipped = region.clip(frame.shape[1], frame.shape[0])

    def result(ok: bool, x: int, y: int, score: float) -> MatchResult:
        reg = Region(x + clipped.x, y + clipped.y, t.w, t.h)
        return MatchResult(t_now, ok, reg, float(score), frame, original_image)

    if clipped is None or clipped.width < t.w or clipped.height < t.h:
        # The reference can't fit: a defined "no match" rather than an exception.
        base = clipped or Region(0, 0, 0, 0)
        yield MatchResult(
            t_now, False, Region(base.x, base.y, t.w, t.h), 0.0, frame, original_image
        )
        return

    img = frame[clipped.to_slice()]
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    elif img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    colour = img.ndim == 3 and t.is_colour
    if img.ndim == 3 and not t.is_colour:
        img = to_gray(img)
    img = np.ascontiguousarray(img)
    tpl = t.for_frame(colour)

    search = _Search(img)
    yielded = False
    colour_coarse = False
    refuted: set[tuple[int, int]] = set()
    while True:
        cands = _find_candidates(
            search, t, params, colour, find_all, colour_coarse, frozenset(refuted)
        )
        closest = None
        fooled = False
        for kind, score, x, y in _extract(img, t, tpl, params, cands, find_all):
            if kind == "match":
                yielded = True
                yield result(True, x, y, score)
            elif kind == "fooled":
                fooled = True
                refuted.add((x, y))
            elif kind == "closest":
                closest = (score, x, y)
        if yielded or colour_coarse or not fooled:
            break
        # The gray ranking was fooled by colours of equal brightness (its best
        # places are a different colour) and it had more peaks than it could
        # follow: the right one may be among them. Search again with a colour
        # coarse pass (slower, rare: a hard negative with few look-alikes, such
        # as a tile with another highlight colour, doesn't get here).
        colour_coarse = True
    if closest is not None:
        score, x, y = closest
        yield result(False, x, y, max(score, 0.0))


def _extract(
    img: np.ndarray,
    t: _Template,
    tpl: np.ndarray,
    params: MatchParameters,
    cands: _Candidates,
    find_all: bool,
) -> Iterator[tuple[str, float, int, int]]:
    """Greedy non-overlapping extraction of matches from the candidate scores.

    Yields ("match", score, x, y) for each confirmed match, best first;
    ("fooled", ...) when a gray ranking promised a match that the exact colour
    score refuted (the extraction carries on with the next candidate); then
    ("closest", ...) describing the best miss.
    """
    heat = cands.heat
    threshold = params.match_threshold
    # A gray ranking can be a hair below the colour score: look a little further.
    rank_threshold = threshold if cands.exact else threshold - 0.005
    closest: tuple[float, int, int] | None = None
    rejected = 0
    while True:
        rank, x, y = heat.best()
        if rank < 0:
            break
        exact = cands.exact
        score = rank if exact else _exact_score(img, x, y, t, tpl, params.match_method)
        if rank < rank_threshold:
            if closest is None or score > closest[0]:
                closest = (score, x, y)
            break
        if score < threshold:
            # Only this candidate's own window is refuted: a neighbour (an
            # overlapping position of another colour) may still be the match.
            yield ("fooled", score, x, y)
            if closest is None or score > closest[0]:
                closest = (score, x, y)
            heat.exclude(x - 2, y - 2, x + 3, y + 3)
            continue
        if not _confirm(img, x, y, t, params):
            if closest is None or closest[0] < threshold:
                closest = (score, x, y)
            rejected += 1
            if find_all or rejected >= _MAX_UNCONFIRMED:
                break  # match_all stops at the first unconfirmed candidate, like stb-tester
            heat.exclude(x - t.w + 1, y - t.h + 1, x + t.w, y + t.h)
            continue
        yield ("match", score, x, y)
        heat.exclude(x - t.w + 1, y - t.h + 1, x + t.w, y + t.h)
    if closest is not None:
        yield ("closest", *closest)


# --- public API -----------------------------------------------------------------------


def match(
    image: ImageLike,
    frame: np.ndarray,
    region: Region = Region.ALL,
    params: MatchParameters | None = None,
) -> MatchResult:
    """Search for a reference image in a single frame.

    :param image: the reference: a PNG path or a uint8 BGR/BGRA/gray array.
        Pixels with alpha < 255 are ignored.
    :param frame: the frame to search (a `Frame` or any uint8 array).
    :param region: only search here; clipped to the frame.
    :param params: `MatchParameters`; None means the defaults.
    :returns: a `MatchResult`, truthy if found. When nothing is found its
        ``region`` and ``first_pass_result`` describe the closest candidate.

    Example::

        if match("images/epg-title.png", frame, region=Region(0, 0, 640, 120)):
            ...
    """
    return _match(_prepare(image), frame, region, params, image)


def _match(
    t: _Template, frame: np.ndarray, region: Region, params: MatchParameters | None, original: Any
) -> MatchResult:
    last = None
    for r in _iter_matches(t, frame, region, params, find_all=False, original_image=original):
        if r.match:
            return r
        last = r
    assert last is not None
    return last


def match_all(
    image: ImageLike,
    frame: np.ndarray,
    region: Region = Region.ALL,
    params: MatchParameters | None = None,
) -> Iterator[MatchResult]:
    """Every non-overlapping place ``image`` matches in ``frame``, best first.

    Arguments are the same as `match`. Yields only truthy results::

        buttons = list(match_all("images/button.png", frame))
    """
    for r in _iter_matches(_prepare(image), frame, region, params, True, image):
        if not r.match:
            return
        yield r


def wait_for_match(
    image: ImageLike,
    frames: Iterable[np.ndarray],
    timeout_secs: float = 10.0,
    consecutive_matches: int = 1,
    region: Region = Region.ALL,
    params: MatchParameters | None = None,
) -> MatchResult:
    """Search ``frames`` until ``image`` matches in ``consecutive_matches`` frames in a row.

    Consecutive matches must be at the same position (so a moving highlight
    has to stop first). The timeout is measured on the frames' own timestamps
    (``frame.time``; wall-clock time for frames without one), from the first
    frame.

    :raises pytest_virtualpy.errors.MatchTimeout: with ``frame`` (the last frame
        checked), ``best`` (the best `MatchResult` seen), ``image`` and
        ``timeout_secs``.

    Example::

        result = wait_for_match("images/home.png", frames, timeout_secs=5)
    """
    if consecutive_matches < 1:
        raise ValueError("consecutive_matches must be >= 1")
    t = _prepare(image)
    count = 0
    last_pos: tuple[int, int] | None = None
    best: MatchResult | None = None
    last_frame = None
    start: float | None = None
    for frame in frames:
        now = frame_time(frame)
        if now is None:
            now = _time.monotonic()
        if start is None:
            start = now
        elif now - start > timeout_secs:
            break
        last_frame = frame
        res = _match(t, frame, region, params, image)
        if (
            best is None
            or res.first_pass_result > best.first_pass_result
            or (res.match and not best.match)
        ):
            best = res
        if res.match and (count == 0 or res.position == last_pos):
            count += 1
        elif res.match:
            count = 1
        else:
            count = 0
        last_pos = res.position if res.match else None
        if count >= consecutive_matches:
            return res
    raise MatchTimeout(
        f"Didn't find a match for {image_name(image)} within {timeout_secs:g} seconds"
        + (
            f" (best first_pass_result {best.first_pass_result:.4f} at {best.region})."
            if best is not None
            else " (no frames)."
        ),
        frame=last_frame,
        best=best,
        image=image,
        timeout_secs=timeout_secs,
    )

"""The search: candidate positions of a reference in an image, coarse to fine.

See `match` for the algorithm. ``_find_candidates`` is the first pass: it
scores the reference directly when that is cheap, and otherwise on a shrunk
copy of both (the `_Pyramid`), following the best coarse peaks down to full
resolution. Its output (`_Candidates`) is a sparse score map that the caller
ranks, scores exactly and confirms.
"""

from __future__ import annotations

import cv2
import numpy as np

from .image import to_gray
from .match_params import MatchMethod, MatchParameters
from .match_reference import _Template
from .match_score import _exact_score, _score, _score_near


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
# ... and for a small reference (<= _SMALL_AREA) in a small image (a region beside an
# icon's place): matchTemplate's cost follows the image's area, while a small shrunk
# reference ranks dozens of coarse peaks, each refined on its own (and retried a level
# finer when they ran out): there, one full-resolution pass is the quicker (3x, on
# bench/match_vs_stbt.py's "icon neg" cases) and never less exact.
_DIRECT_AREA = 160_000  # px of the searched image: a 400x400 region
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
_SMALL_AREA = 64 * 64  # px: a reference this small gets a final +-4 px look around
_POLISH_RADIUS = 4
_GOOD_ENOUGH = 0.998  # match(): stop refining candidates after one scores this well
_MAX_CANDIDATES_ALL = 4000
_MAX_REFINE = 64


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


def _choose_factor(rw: int, rh: int, t: _Template, most: int = 8) -> int:
    positions = (rw - t.w + 1) * (rh - t.h + 1)
    if positions * t.w * t.h <= _DIRECT_BUDGET or t.transparent:
        return 1
    if rw * rh <= _DIRECT_AREA and t.w * t.h <= _SMALL_AREA:
        return 1
    f = 1
    # Shrink by up to 4 while the shrunk reference keeps >= 6 px; by 8 only for
    # big references (>= 16 px shrunk), where the up-to-4 px misalignment
    # between the coarse grids matters less. Deeper pyramids miss real matches.
    while (
        f * 2 <= most
        and min(t.w, t.h) // (f * 2) >= (_COARSE_MIN_TEMPLATE if f < 4 else _COARSE_BIG_TEMPLATE)
        and t.coarse(f * 2) is not None
    ):
        f *= 2
    if f == 1 and min(t.w, t.h) // 2 >= 4 and t.coarse(2) is not None:
        f = 2
    return f


class _Candidates:
    """Scored candidate positions of a reference within an image (region crop)."""

    def __init__(self, heat: _Heat, exact: bool, truncated: bool = False, factor: int = 1) -> None:
        self.heat = heat
        self.factor = factor  # the coarse pass shrank by this (1: scored directly)
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
    thorough: bool = False,
    most: int = 8,
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
    ``thorough``: score every position at full resolution, as stb-tester does;
    ``most``: shrink by at most this much.
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
    if thorough:
        # Every position at full resolution, ranked in gray (a third of the
        # cost of colour); the extraction scores the best ones exactly.
        gray = search.pyramid(False).level(1)
        heat.add(0, 0, _score(gray, t.gray, t.mask, params.match_method))
        return _Candidates(heat, exact=not colour)
    f = _choose_factor(rw, rh, t, most)
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
    return _Candidates(heat, exact=exact, truncated=truncated, factor=f)


def _polish(
    img: np.ndarray, x: int, y: int, t: _Template, tpl: np.ndarray, method: MatchMethod
) -> tuple[int, int, float]:
    """The best full-resolution position within +-4 px of (x, y), and its exact score.

    On smooth video the score is nearly flat for a few pixels around a small
    reference's right place, and the coarse-to-fine climb can stop on a noise
    bump short of it: one look around it (81 positions) finds the top.
    """
    best = 0.0
    for _ in range(3):  # and again around the top if it was on the window's edge
        x0, y0 = max(0, x - _POLISH_RADIUS), max(0, y - _POLISH_RADIUS)
        x1 = min(img.shape[1] - t.w, x + _POLISH_RADIUS)
        y1 = min(img.shape[0] - t.h, y + _POLISH_RADIUS)
        window = np.ascontiguousarray(img[y0 : y1 + t.h, x0 : x1 + t.w])
        _, best, _, loc = cv2.minMaxLoc(_score(window, tpl, t.mask, method))
        nx, ny = x0 + loc[0], y0 + loc[1]
        if (nx, ny) == (x, y) or (x0 < nx < x1 and y0 < ny < y1):
            return nx, ny, float(best)
        x, y = nx, ny
    return x, y, float(best)

"""`match` and `match_all`: one frame, one reference, at one or more scales.

``_iter_matches`` runs the search (`match_search`) on the region's crop,
confirms the candidates (`match_score._confirm`) and yields results best
first; the public functions add `MatchParameters.scales`: each factor is a
search of the resized reference, and the best match over them wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .frame import frame_time
from .image import ImageLike, to_gray, validate_frame
from .match_params import MatchParameters
from .match_reference import _prepare, _Template
from .match_result import MatchResult
from .match_score import _confirm, _exact_score
from .match_search import (
    _GOOD_ENOUGH,
    _SMALL_AREA,
    _Candidates,
    _choose_factor,
    _find_candidates,
    _polish,
    _Search,
)
from .region import Region

_DEFAULT_PARAMS = MatchParameters()


def _iter_matches(
    image: ImageLike | _Template,
    frame: np.ndarray,
    region: Region,
    params: MatchParameters | None,
    find_all: bool,
    original_image: Any = None,
    scale: float = 1.0,
    thorough: bool = False,
) -> Iterator[MatchResult]:
    """Yield confirmed matches best first, then one falsy result (closest miss).

    Like stb-tester, the search stops at the first candidate (in first-pass
    order) that passes the first pass but fails confirmation: trying further
    ones found small textured references (icons cut from video) in places
    where a weaker look-alike happened to pass. ``image`` is the reference
    already resized by ``scale``, which the results report.
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
        return MatchResult(t_now, ok, reg, float(score), frame, original_image, scale)

    if clipped is None or clipped.width < t.w or clipped.height < t.h:
        # The reference can't fit: a defined "no match" rather than an exception.
        base = clipped or Region(0, 0, 0, 0)
        reg = Region(base.x, base.y, t.w, t.h)
        yield MatchResult(t_now, False, reg, 0.0, frame, original_image, scale)
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
    most = 8
    while True:
        cands = _find_candidates(
            search, t, params, colour, find_all, colour_coarse, frozenset(refuted), thorough, most
        )
        closest = None
        fooled = False
        for kind, score, x, y in _extract(img, t, tpl, params, cands):
            if kind == "match":
                yielded = True
                yield result(True, x, y, score)
            elif kind == "fooled":
                fooled = True
                refuted.add((x, y))
            elif kind == "closest":
                closest = (score, x, y)
        if yielded:
            break
        if cands.truncated and cands.factor > 2 and t.w * t.h <= _SMALL_AREA:
            # More coarse peaks passed than could be followed and the
            # reference is small: shrunk, it lost what tells it apart (a
            # textured icon on video ranks behind thousands of flat places).
            # Search one level finer before giving up.
            most = cands.factor // 2
            continue
        if colour_coarse or not fooled:
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
        if cands.factor > 1 and t.w * t.h <= _SMALL_AREA:
            x, y, score = _polish(img, x, y, t, tpl, params.match_method)
        if not _confirm(img, x, y, t, params):
            if closest is None or closest[0] < threshold:
                closest = (score, x, y)
            break  # the first unconfirmed candidate ends the search, like stb-tester
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
    :param params: `MatchParameters`; None means the defaults. With
        ``scales``, the reference is searched at each of those sizes and the
        best match is returned (its ``scale`` says which).
    :returns: a `MatchResult`, truthy if found. When nothing is found its
        ``region`` and ``first_pass_result`` describe the closest candidate.

    Example::

        if match("images/epg-title.png", frame, region=Region(0, 0, 640, 120)):
            ...
    """
    return _match(_prepare(image), frame, region, params, image)


def _scaled(t: _Template, params: MatchParameters | None) -> Iterator[tuple[float, _Template]]:
    """``(factor, reference resized by it)`` for each of ``params.scales`` (just ``t`` if None)."""
    if params is None or params.scales is None:
        yield 1.0, t
        return
    for s in params.scales:
        ts = t.scaled(s)
        if ts is not None:
            yield s, ts


def _match(
    t: _Template, frame: np.ndarray, region: Region, params: MatchParameters | None, original: Any
) -> MatchResult:
    best: MatchResult | None = None
    for s, ts in _scaled(t, params):
        r = _match_one(ts, frame, region, params, original, s)
        if best is None or (r.match, r.first_pass_result) > (best.match, best.first_pass_result):
            best = r
    if best is None:  # every factor shrank the reference to nothing
        validate_frame(frame)
        clipped = region.clip(frame.shape[1], frame.shape[0]) or Region(0, 0, 0, 0)
        reg = Region(clipped.x, clipped.y, t.w, t.h)
        return MatchResult(frame_time(frame), False, reg, 0.0, frame, original)
    return best


def _match_one(
    t: _Template,
    frame: np.ndarray,
    region: Region,
    params: MatchParameters | None,
    original: Any,
    scale: float,
) -> MatchResult:
    r = _first_match(t, frame, region, params, original, scale)
    if r.match and r.first_pass_result < _GOOD_ENOUGH and t.w * t.h <= _SMALL_AREA:
        clipped = region.clip(frame.shape[1], frame.shape[0])
        if clipped is not None and _choose_factor(clipped.width, clipped.height, t) > 1:
            # A small reference that only just passed, found coarse-to-fine: on
            # textured content (video) many places pass the first pass, and the
            # one the coarse pass led to may pass confirmation by luck. Decide
            # as stb-tester does: confirm the best place at full resolution.
            r = _first_match(t, frame, region, params, original, scale, thorough=True)
    return r


def _first_match(
    t: _Template,
    frame: np.ndarray,
    region: Region,
    params: MatchParameters | None,
    original: Any,
    scale: float,
    thorough: bool = False,
) -> MatchResult:
    last = None
    for r in _iter_matches(t, frame, region, params, False, original, scale, thorough):
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

    With several ``scales``, the matches of every factor are ranked together
    and one that overlaps a better one is dropped.
    """
    t = _prepare(image)
    if params is None or params.scales is None:
        yield from _match_all_one(t, frame, region, params, image, 1.0)
        return
    found: list[MatchResult] = []
    for s, ts in _scaled(t, params):
        found.extend(_match_all_one(ts, frame, region, params, image, s))
    kept: list[MatchResult] = []
    for r in sorted(found, key=lambda r: -r.first_pass_result):
        if not any(_overlap(r.region, k.region) for k in kept):
            kept.append(r)
    yield from kept


def _match_all_one(
    t: _Template,
    frame: np.ndarray,
    region: Region,
    params: MatchParameters | None,
    original: Any,
    scale: float,
) -> Iterator[MatchResult]:
    for r in _iter_matches(t, frame, region, params, True, original, scale):
        if not r.match:
            return
        yield r


def _overlap(a: Region, b: Region) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom

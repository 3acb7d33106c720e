"""The wait loop: `wait_for_match` searches frames until a reference appears."""

from __future__ import annotations

import time as _time
from collections.abc import Iterable

import numpy as np

from pytest_virtualpy.errors import MatchTimeout

from .frame import frame_time
from .image import ImageLike, image_name
from .match_find import _match
from .match_params import MatchParameters
from .match_reference import _prepare
from .match_result import MatchResult
from .region import Region

__all__ = ["wait_for_match"]


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

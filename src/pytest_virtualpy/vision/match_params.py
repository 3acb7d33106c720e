"""What `match` is tuned with: `MatchParameters` and its methods `MatchMethod`, `ConfirmMethod`.

Parameters are frozen (hashable, safe to share between tests) and cross the
wire to the lab daemon as a plain dict (`MatchParameters.to_dict` and
`MatchParameters.from_dict`), so every field is validated here, with an error
that says what was wrong.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["ConfirmMethod", "MatchMethod", "MatchParameters"]

MAX_SCALES = 16  # factors in MatchParameters.scales
MIN_SCALE = 0.125  # the smallest factor: a reference 8x the size it has on screen
MAX_SCALE = 8.0


class MatchMethod(enum.StrEnum):
    """First-pass scoring (see ``cv2.matchTemplate``). SQDIFF is the default.

    >>> MatchParameters(match_method=MatchMethod.CCOEFF_NORMED).match_method
    <MatchMethod.CCOEFF_NORMED: 'ccoeff-normed'>
    """

    SQDIFF = "sqdiff"
    SQDIFF_NORMED = "sqdiff-normed"
    CCORR_NORMED = "ccorr-normed"
    CCOEFF_NORMED = "ccoeff-normed"

    def __str__(self) -> str:
        return self.value


class ConfirmMethod(enum.StrEnum):
    """Second-pass check at the candidate position. NORMED_ABSDIFF is the default.

    >>> str(MatchParameters(confirm_method="absdiff").confirm_method)
    'absdiff'
    """

    NONE = "none"
    ABSDIFF = "absdiff"
    NORMED_ABSDIFF = "normed-absdiff"

    def __str__(self) -> str:
        return self.value


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
    :param scales: None (default: the reference is searched at its own size,
        the fastest) or the sizes to search it at, as factors of its own size:
        a reference saved from a 1080p screenshot is 2/3 of its size on a 720p
        capture, so ``scales=(1.0, 2 / 3)`` finds it on either. Each factor is
        searched (``MAX_SCALES`` = 16 at most, each from 0.125 to 8) and the
        best match wins; its `MatchResult.scale` says which, and its ``region``
        is in frame coordinates, the size of the scaled reference.

    Example::

        lenient = MatchParameters(match_threshold=0.9, confirm_threshold=0.8)
        match("button.png", frame, params=lenient)
        from_1080p = MatchParameters(scales=(1.0, 720 / 1080))
        match("shot-1080p-logo.png", frame_720p, params=from_1080p).scale  # 0.667

    >>> MatchParameters(scales=[1, 0.5]).scales
    (1.0, 0.5)
    """

    match_method: MatchMethod | str = MatchMethod.SQDIFF
    match_threshold: float = 0.98
    confirm_method: ConfirmMethod | str = ConfirmMethod.NORMED_ABSDIFF
    confirm_threshold: float = 0.70
    erode_passes: int = 1
    scales: tuple[float, ...] | None = None

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
        if self.scales is not None:
            object.__setattr__(self, "scales", _check_scales(self.scales))

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict, the inverse of `from_dict`.

        ``scales`` is left out when it is None, so a daemon that predates it
        still accepts the defaults.

        >>> MatchParameters(scales=(0.5,)).to_dict()["scales"]
        [0.5]
        """
        d: dict[str, Any] = {
            "match_method": str(self.match_method),
            "match_threshold": self.match_threshold,
            "confirm_method": str(self.confirm_method),
            "confirm_threshold": self.confirm_threshold,
            "erode_passes": self.erode_passes,
        }
        if self.scales is not None:
            d["scales"] = list(self.scales)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MatchParameters:
        """Parameters from `to_dict` output (JSON from a client); a ValueError if bad.

        >>> MatchParameters.from_dict({"match_threshold": 0.9}).match_threshold
        0.9
        """
        if not isinstance(d, dict):
            raise ValueError(f"match parameters must be a dict, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(
                f"unknown match parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**d)


def _check_scales(scales: Any) -> tuple[float, ...]:
    """``scales`` as a tuple of floats, or a ValueError saying what is wrong with it."""
    what = "MatchParameters.scales"
    if isinstance(scales, str | bytes) or not isinstance(scales, Iterable):
        raise ValueError(
            f"{what} must be a sequence of size factors such as (1.0, 0.667), got {scales!r}"
        )
    values = list(scales)
    if not values:
        raise ValueError(f"{what} is empty: give at least one factor, or None for (1.0,)")
    if len(values) > MAX_SCALES:
        raise ValueError(f"{what} has {len(values)} factors; at most {MAX_SCALES} are searched")
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"{what} must hold numbers, got {v!r}")
        f = float(v)
        if not math.isfinite(f) or not MIN_SCALE <= f <= MAX_SCALE:
            raise ValueError(
                f"{what}: each factor must be from {MIN_SCALE} to {MAX_SCALE}, got {v!r}"
            )
        if f not in out:
            out.append(f)
    return tuple(out)

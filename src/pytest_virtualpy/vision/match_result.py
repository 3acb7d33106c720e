"""What `match` returns: `MatchResult`, frozen, truthy only when the reference was found."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .image import image_name
from .region import Region

__all__ = ["MatchResult"]


@dataclass(frozen=True)
class MatchResult:
    """The result of `match`: truthy if the reference image was found, falsy if not.

    ``region`` is where it was found (in frame coordinates), or the closest
    candidate if it wasn't. ``first_pass_result`` is that position's
    first-pass certainty (0..1). ``time`` is the frame's capture time;
    ``frame`` and ``image`` are what was searched (``image`` is the path if a
    path was given). ``scale`` is the factor the reference was searched at
    (1.0 unless `MatchParameters.scales` asked for others). Results are frozen,
    like stb-tester's: use ``dataclasses.replace`` to derive another::

        result = match("images/ok-button.png", frame)
        if result:
            print("OK button at", result.region)

    >>> bool(MatchResult(None, False, Region(0, 0, 10, 10), 0.5))
    False
    """

    time: float | None
    match: bool
    region: Region
    first_pass_result: float
    frame: Any = field(default=None, repr=False, compare=False)
    image: Any = field(default=None, repr=False, compare=False)
    scale: float = 1.0

    def __bool__(self) -> bool:
        return bool(self.match)

    @property
    def position(self) -> tuple[int, int]:
        """``(x, y)`` of the top-left corner of ``region``.

        >>> MatchResult(None, True, Region(3, 4, 10, 10), 1.0).position
        (3, 4)
        """
        return (self.region.x, self.region.y)

    def __repr__(self) -> str:
        t = "None" if self.time is None else f"{self.time:.3f}"
        scale = "" if self.scale == 1.0 else f", scale={self.scale:.4g}"
        return (
            f"MatchResult(time={t}, match={self.match}, region={self.region!r}, "
            f"first_pass_result={self.first_pass_result:.4f}{scale}, "
            f"image={image_name(self.image)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict (no arrays); ``image`` is a path or None.

        >>> MatchResult(None, True, Region(1, 2, 3, 4), 0.99).to_dict()["region"]
        [1, 2, 3, 4]
        """
        image = self.image
        return {
            "time": self.time,
            "match": bool(self.match),
            "region": list(self.region.to_tuple()),
            "first_pass_result": float(self.first_pass_result),
            "image": str(image) if isinstance(image, str | os.PathLike) else None,
            "scale": float(self.scale),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], frame: Any = None) -> MatchResult:
        """Rebuild a result from `to_dict` output (optionally re-attaching the frame).

        >>> r = MatchResult(None, True, Region(1, 2, 3, 4), 0.99, scale=0.5)
        >>> MatchResult.from_dict(r.to_dict()) == r
        True
        """
        return cls(
            time=d.get("time"),
            match=bool(d["match"]),
            region=Region.from_tuple(d["region"]),
            first_pass_result=float(d.get("first_pass_result", 0.0)),
            frame=frame,
            image=d.get("image"),
            scale=float(d.get("scale", 1.0)),
        )

"""Rectangular areas of a video frame.

A `Region` is how every function in this package is told *where* to look, and
how results report *where* something was found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pytest_virtualpy.errors import BadArgument

_BIG = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle within a frame, in pixels: ``Region(x, y, width, height)``.

    ``x`` and ``y`` are the top-left corner, measured from the top-left of the
    frame. Regions are immutable and hashable, so they can be used as dict keys
    or constants at the top of a test file::

        BANNER = Region(0, 520, 1280, 200)
        assert BANNER.right == 1280 and BANNER.bottom == 720

    `Region.ALL` means "the whole frame, whatever its size": functions clip it
    (and any other region partly outside the frame) to the frame they are given.
    """

    x: int
    y: int
    width: int
    height: int

    ALL: ClassVar[Region]

    def __post_init__(self) -> None:
        for name in ("x", "y", "width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                try:
                    ivalue = int(value)
                except (TypeError, ValueError):
                    raise BadArgument(f"Region.{name} must be an int, got {value!r}") from None
                if ivalue != value:
                    raise BadArgument(f"Region.{name} must be a whole number, got {value!r}")
                object.__setattr__(self, name, ivalue)
        if self.width < 0 or self.height < 0:
            raise ValueError(
                f"Region width and height must be >= 0, got {self.width}x{self.height}"
            )

    # -- derived values -------------------------------------------------------------

    @property
    def right(self) -> int:
        """The x coordinate just past the right edge (``x + width``)."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """The y coordinate just past the bottom edge (``y + height``)."""
        return self.y + self.height

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def centre(self) -> tuple[int, int]:
        """``((x + right) // 2, (y + bottom) // 2)``."""
        return ((self.x + self.right) // 2, (self.y + self.bottom) // 2)

    # -- constructors ---------------------------------------------------------------

    @staticmethod
    def from_extents(x: int, y: int, right: int, bottom: int) -> Region:
        """Build a region from its edges: ``Region.from_extents(10, 10, 20, 30)``."""
        return Region(x, y, right - x, bottom - y)

    @staticmethod
    def from_tuple(t: tuple[int, int, int, int] | list[int]) -> Region:
        """The inverse of `to_tuple`: ``Region.from_tuple((x, y, width, height))``."""
        if len(t) != 4:
            raise ValueError(f"Region.from_tuple expects (x, y, width, height), got {t!r}")
        return Region(*(int(v) for v in t))

    def to_tuple(self) -> tuple[int, int, int, int]:
        """``(x, y, width, height)``: plain ints, JSON friendly."""
        return (self.x, self.y, self.width, self.height)

    # -- geometry -------------------------------------------------------------------

    def intersect(self, other: Region) -> Region | None:
        """The overlap of two regions, or None if they don't overlap."""
        x = max(self.x, other.x)
        y = max(self.y, other.y)
        right = min(self.right, other.right)
        bottom = min(self.bottom, other.bottom)
        if right <= x or bottom <= y:
            return None
        return Region.from_extents(x, y, right, bottom)

    def clip(self, width: int, height: int) -> Region | None:
        """This region clipped to a ``width`` x ``height`` frame (None if outside it).

        >>> Region(-10, -10, 50, 50).clip(1280, 720)
        Region(x=0, y=0, width=40, height=40)
        """
        return self.intersect(Region(0, 0, int(width), int(height)))

    def translate(self, dx: int, dy: int) -> Region:
        """The same-sized region moved by ``(dx, dy)``."""
        return Region(self.x + dx, self.y + dy, self.width, self.height)

    def contains(self, other: Region) -> bool:
        """True if ``other`` lies entirely within this region."""
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def to_slice(self) -> tuple[slice, slice]:
        """Index a numpy image with it: ``frame[region.to_slice()]``."""
        return (slice(self.y, self.bottom), slice(self.x, self.right))

    def __repr__(self) -> str:
        if self == Region.ALL:
            return "Region.ALL"
        return f"Region(x={self.x}, y={self.y}, width={self.width}, height={self.height})"

    __str__ = __repr__


Region.ALL = Region(0, 0, _BIG, _BIG)


def frame_region(image: Any) -> Region:
    """The region covering the whole of ``image`` (a numpy array)."""
    return Region(0, 0, int(image.shape[1]), int(image.shape[0]))

"""Rectangular areas of a video frame.

A `Region` is how every function in this package is told *where* to look, and
how results report *where* something was found. It offers what stb-tester's
``stbt.Region`` users rely on (``right=``/``bottom=`` construction, `extend`,
`replace`, `Region.bounding_box`, `Region.intersect`, sorting), in integer pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pytest_virtualpy.errors import BadArgument

from ._region_args import replace_span, span, whole

_BIG = 2**31 - 1


@dataclass(frozen=True, slots=True, init=False, order=True)
class Region:
    """A rectangle within a frame, in pixels: ``Region(x, y, width, height)``.

    ``x`` and ``y`` are the top-left corner, measured from the top-left of the
    frame; ``right`` and ``bottom`` are just past the far edges. Give either the
    size or the far edges, as with ``stbt.Region``. Regions are immutable and
    hashable, so they can be used as dict keys or constants at the top of a test
    file::

        BANNER = Region(0, 520, 1280, 200)
        assert BANNER.right == 1280 and BANNER.bottom == 720
        assert Region(0, 520, right=1280, bottom=720) == BANNER

    >>> a = Region(0, 0, width=8, height=8)
    >>> b = Region(4, 4, right=13, bottom=10)
    >>> b.width, b.height
    (9, 6)
    >>> Region.intersect(a, b)
    Region(x=4, y=4, width=4, height=4)
    >>> sorted([b, a]) == [a, b]
    True

    Regions sort as stb-tester's do: by ``x``, then ``y``, then ``right``, then
    ``bottom`` (the same order as by ``(x, y, width, height)``).

    `Region.ALL` means "the whole frame, whatever its size": functions clip it
    (and any other region partly outside the frame) to the frame they are given.
    """

    x: int
    y: int
    width: int
    height: int

    ALL: ClassVar[Region]

    def __init__(
        self,
        x: int,
        y: int,
        width: int | None = None,
        height: int | None = None,
        *,
        right: int | None = None,
        bottom: int | None = None,
    ) -> None:
        x, width = span(x, width, right, ("x", "width", "right"))
        y, height = span(y, height, bottom, ("y", "height", "bottom"))
        if width < 0 or height < 0:
            raise BadArgument(
                f"Region width and height must be >= 0, got {width}x{height} "
                f"(x={x}, y={y}, right={x + width}, bottom={y + height}): "
                "right must not be left of x, nor bottom above y"
            )
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "height", height)

    # -- derived values -------------------------------------------------------------

    @property
    def right(self) -> int:
        """The x coordinate just past the right edge (``x + width``).

        >>> Region(10, 20, 30, 40).right
        40
        """
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """The y coordinate just past the bottom edge (``y + height``).

        >>> Region(10, 20, 30, 40).bottom
        60
        """
        return self.y + self.height

    @property
    def area(self) -> int:
        """``width * height``, in pixels.

        >>> Region(0, 0, 10, 4).area
        40
        """
        return self.width * self.height

    @property
    def centre(self) -> tuple[int, int]:
        """``((x + right) // 2, (y + bottom) // 2)``.

        >>> Region(4, 4, right=13, bottom=10).centre
        (8, 7)
        """
        return ((self.x + self.right) // 2, (self.y + self.bottom) // 2)

    @property
    def center(self) -> tuple[int, int]:
        """The same as `centre`, under ``stbt.Region``'s spelling.

        >>> Region(4, 4, right=13, bottom=10).center
        (8, 7)
        """
        return self.centre

    # -- constructors ---------------------------------------------------------------

    @staticmethod
    def from_extents(x: int, y: int, right: int, bottom: int) -> Region:
        """Build a region from its edges, e.g. from a tuple of extents.

        >>> Region.from_extents(10, 10, 20, 30)
        Region(x=10, y=10, width=10, height=20)
        """
        return Region(x, y, right=right, bottom=bottom)

    @staticmethod
    def from_tuple(t: tuple[int, int, int, int] | list[int]) -> Region:
        """The inverse of `to_tuple`.

        >>> Region.from_tuple((10, 20, 30, 40))
        Region(x=10, y=20, width=30, height=40)
        """
        if len(t) != 4:
            raise ValueError(f"Region.from_tuple expects (x, y, width, height), got {t!r}")
        return Region(*(int(v) for v in t))

    def to_tuple(self) -> tuple[int, int, int, int]:
        """``(x, y, width, height)``: plain ints, JSON friendly (the wire form).

        >>> Region(10, 20, right=40, bottom=60).to_tuple()
        (10, 20, 30, 40)
        """
        return (self.x, self.y, self.width, self.height)

    # -- combining regions ------------------------------------------------------------

    # ``intersect`` and ``bounding_box`` take only ``*regions``: called on the class,
    # ``Region.intersect(a, b, c)``; called on a region, ``a.intersect(b)`` is the same
    # call with ``a`` first, so both of stbt's forms and our older method form work.

    def intersect(*regions: Region | None) -> Region | None:
        """The overlap of the regions, or None if they don't all overlap.

        Works on the class with any number of regions (None counts as an empty
        region, so ``intersect`` is commutative and associative) and as a method:

        >>> a, b = Region(0, 0, 10, 10), Region(5, 5, 10, 10)
        >>> a.intersect(b)
        Region(x=5, y=5, width=5, height=5)
        >>> Region.intersect(a, b, Region(0, 0, 7, 7))
        Region(x=5, y=5, width=2, height=2)
        >>> print(Region.intersect(a, Region(10, 0, 5, 5)), Region.intersect(a, None))
        None None
        >>> Region.intersect()
        Region.ALL
        """
        if not regions:
            return Region.ALL
        if any(r is None for r in regions):
            return None
        x = max(r.x for r in regions)
        y = max(r.y for r in regions)
        right = min(r.right for r in regions)
        bottom = min(r.bottom for r in regions)
        if right <= x or bottom <= y:
            return None
        return Region.from_extents(x, y, right, bottom)

    def bounding_box(*regions: Region | None) -> Region | None:
        """The smallest region containing all the given regions (None ones are skipped).

        ``Region.bounding_box()`` (or of only None) is None.

        >>> a = Region(50, 20, right=60, bottom=40)
        >>> b = Region(20, 30, right=30, bottom=50)
        >>> Region.bounding_box(a, b)
        Region(x=20, y=20, width=40, height=30)
        >>> Region.bounding_box(None, b) == b
        True
        >>> print(Region.bounding_box())
        None
        """
        present = [r for r in regions if r is not None]
        if not present:
            return None
        return Region.from_extents(
            min(r.x for r in present),
            min(r.y for r in present),
            max(r.right for r in present),
            max(r.bottom for r in present),
        )

    # -- derived regions ------------------------------------------------------------

    def clip(self, width: int, height: int) -> Region | None:
        """This region clipped to a ``width`` x ``height`` frame (None if outside it).

        >>> Region(-10, -10, 50, 50).clip(1280, 720)
        Region(x=0, y=0, width=40, height=40)
        """
        return self.intersect(Region(0, 0, int(width), int(height)))

    def translate(self, x: int | Region | tuple[int, int] = 0, y: int = 0) -> Region:
        """The same-sized region moved by ``(x, y)``, or by another region's ``x, y``.

        >>> Region(4, 4, 9, 6).translate(1, 2)
        Region(x=5, y=6, width=9, height=6)
        >>> Region(4, 4, 9, 6).translate(y=-3)
        Region(x=4, y=1, width=9, height=6)
        >>> TITLE, CELL = Region(20, 5, 160, 40), Region(140, 45, 200, 200)
        >>> TITLE.translate(CELL)   # TITLE is given relative to CELL
        Region(x=160, y=50, width=160, height=40)
        """
        if isinstance(x, Region | tuple | list):
            if y:
                raise BadArgument(
                    f"Region.translate takes a region (or an (x, y) pair) or two numbers, "
                    f"not both: got {x!r} and y={y!r}"
                )
            x, y = x[:2] if not isinstance(x, Region) else (x.x, x.y)
        dx, dy = whole("x", x), whole("y", y)
        return Region(self.x + dx, self.y + dy, self.width, self.height)

    def extend(self, x: int = 0, y: int = 0, right: int = 0, bottom: int = 0) -> Region:
        """A region with each edge moved by the given number of pixels.

        Negative ``x``/``y`` and positive ``right``/``bottom`` grow it.

        >>> Region(10, 4, 3, 2).extend(x=-6, bottom=4)
        Region(x=4, y=4, width=9, height=6)
        >>> Region(0, 0, 8, 8).extend(right=-3).width
        5
        """
        return Region.from_extents(
            self.x + whole("x", x),
            self.y + whole("y", y),
            self.right + whole("right", right),
            self.bottom + whole("bottom", bottom),
        )

    def replace(
        self,
        x: int | None = None,
        y: int | None = None,
        width: int | None = None,
        height: int | None = None,
        right: int | None = None,
        bottom: int | None = None,
    ) -> Region:
        """A region with the given edges or sizes set (absolute, unlike `extend`).

        Give at most two of ``x``, ``width``, ``right`` (and of ``y``, ``height``,
        ``bottom``); what is not given keeps its value, ``right`` before ``width``.

        >>> c = Region(10, 4, 3, 2)
        >>> c.replace(bottom=10)
        Region(x=10, y=4, width=3, height=6)
        >>> c.replace(x=0, width=20)
        Region(x=0, y=4, width=20, height=2)
        >>> c.replace(width=5, right=20)
        Region(x=15, y=4, width=5, height=2)
        """
        x, right = replace_span(("x", "width", "right"), x, width, right, self.x, self.right)
        y, bottom = replace_span(("y", "height", "bottom"), y, height, bottom, self.y, self.bottom)
        return Region(x, y, right=right, bottom=bottom)

    def dilate(self, n: int) -> Region:
        """The region grown by ``n`` pixels on every side.

        >>> Region(20, 30, right=30, bottom=50).dilate(3)
        Region(x=17, y=27, width=16, height=26)
        """
        return self.extend(x=-n, y=-n, right=n, bottom=n)

    def erode(self, n: int) -> Region | None:
        """The region shrunk by ``n`` pixels on every side; None if nothing would be left.

        >>> Region(20, 30, right=30, bottom=50).erode(3)
        Region(x=23, y=33, width=4, height=14)
        >>> print(Region(20, 30, 10, 20).erode(5))
        None
        """
        if self.width > 2 * n and self.height > 2 * n:
            return self.dilate(-n)
        return None

    def above(self, height: int | None = None) -> Region:
        """The region directly above this one: ``height`` pixels, or up to the top.

        >>> Region(10, 40, 30, 20).above()
        Region(x=10, y=0, width=30, height=40)
        >>> Region(10, 40, 30, 20).above(10)
        Region(x=10, y=30, width=30, height=10)
        """
        top = min(Region.ALL.y, self.y) if height is None else self.y - height
        return self.replace(y=top, bottom=self.y)

    def below(self, height: int | None = None) -> Region:
        """The region directly below this one: ``height`` pixels, or down to the bottom.

        >>> Region(10, 40, 30, 20).below(100)
        Region(x=10, y=60, width=30, height=100)
        >>> Region(10, 40, 30, 20).below().clip(1280, 720)
        Region(x=10, y=60, width=30, height=660)
        """
        end = max(Region.ALL.bottom, self.bottom) if height is None else self.bottom + height
        return self.replace(y=self.bottom, bottom=end)

    def left_of(self, width: int | None = None) -> Region:
        """The region directly left of this one: ``width`` pixels, or to the left edge.

        >>> Region(100, 40, 30, 20).left_of()
        Region(x=0, y=40, width=100, height=20)
        """
        start = min(Region.ALL.x, self.x) if width is None else self.x - width
        return self.replace(x=start, right=self.x)

    def right_of(self, width: int | None = None) -> Region:
        """The region directly right of this one: ``width`` pixels, or to the right edge.

        >>> Region(100, 40, 30, 20).right_of(50)
        Region(x=130, y=40, width=50, height=20)
        """
        end = max(Region.ALL.right, self.right) if width is None else self.right + width
        return self.replace(x=self.right, right=end)

    # -- questions ------------------------------------------------------------------

    def contains(self, other: Region | tuple[int, int] | None) -> bool:
        """True if ``other`` (a region, or an ``(x, y)`` point) lies entirely within this one.

        >>> b = Region(4, 4, right=13, bottom=10)
        >>> b.contains(Region(10, 4, 3, 2)), b.contains(Region(0, 0, 8, 8)), b.contains(None)
        (True, False, False)
        >>> b.contains((12, 9)), b.contains(b.centre), b.contains((13, 9))
        (True, True, False)
        """
        if other is None:
            return False
        if isinstance(other, Region):
            return (
                self.x <= other.x
                and self.y <= other.y
                and other.right <= self.right
                and other.bottom <= self.bottom
            )
        if isinstance(other, tuple | list) and len(other) == 2:
            px, py = other
            return self.x <= px < self.right and self.y <= py < self.bottom
        raise BadArgument(f"Region.contains takes a Region, an (x, y) point or None, got {other!r}")

    def to_slice(self) -> tuple[slice, slice]:
        """Index a numpy image with it: ``frame[region.to_slice()]``.

        Edges left of or above the frame are taken as the frame's edge (a negative
        index would otherwise count from the far side).

        >>> Region(-10, 5, 30, 10).to_slice()
        (slice(5, 15, None), slice(0, 20, None))
        """
        return (
            slice(max(0, self.y), max(0, self.bottom)),
            slice(max(0, self.x), max(0, self.right)),
        )

    def __repr__(self) -> str:
        if self == Region.ALL:
            return "Region.ALL"
        return f"Region(x={self.x}, y={self.y}, width={self.width}, height={self.height})"

    __str__ = __repr__


Region.ALL = Region(0, 0, _BIG, _BIG)


def frame_region(image: Any) -> Region:
    """The region covering the whole of ``image`` (a numpy array).

    >>> import numpy as np
    >>> frame_region(np.zeros((720, 1280, 3), np.uint8))
    Region(x=0, y=0, width=1280, height=720)
    """
    return Region(0, 0, int(image.shape[1]), int(image.shape[0]))

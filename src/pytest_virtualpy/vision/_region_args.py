"""Argument checks of `Region`'s constructor and `Region.replace`: clear errors, plain ints."""

from __future__ import annotations

from typing import Any

from pytest_virtualpy.errors import BadArgument


def whole(name: str, value: Any) -> int:
    """``value`` as an int, or a clear error saying which coordinate was wrong."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        raise BadArgument(f"Region.{name} must be an int, got {value!r}")
    try:
        ivalue = int(value)
    except (TypeError, ValueError, OverflowError):
        raise BadArgument(f"Region.{name} must be an int, got {value!r}") from None
    if ivalue != value:
        raise BadArgument(f"Region.{name} must be a whole number, got {value!r}")
    return ivalue


def span(x: Any, width: Any, right: Any, names: tuple[str, str, str]) -> tuple[int, int]:
    """``(x, width)`` from ``x`` and exactly one of ``width`` / ``right``."""
    nx, nwidth, nright = names
    if (width is None) == (right is None):
        raise BadArgument(
            f"Region takes either {nwidth}= or {nright}=, not "
            f"{'both' if width is not None else 'neither'} (got {nx}={x!r}, "
            f"{nwidth}={width!r}, {nright}={right!r}): write Region(x, y, width, height) "
            "or Region(x, y, right=..., bottom=...)"
        )
    x = whole(nx, x)
    if width is None:
        width = whole(nright, right) - x
    return x, whole(nwidth, width)


def replace_span(
    names: tuple[str, str, str],
    x: int | None,
    width: int | None,
    right: int | None,
    old_x: int,
    old_right: int,
) -> tuple[int, int]:
    """`Region.replace` along one axis: the new ``(x, right)``."""
    if x is not None and width is not None and right is not None:
        nx, nwidth, nright = names
        raise BadArgument(
            f"Region.replace takes at most two of {nx}, {nwidth} and {nright}; got "
            f"{nx}={x!r}, {nwidth}={width!r}, {nright}={right!r}"
        )
    if x is None:
        x = right - width if width is not None and right is not None else old_x
    if right is None:
        right = x + width if width is not None else old_right
    return x, right

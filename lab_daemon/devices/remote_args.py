"""Checks every remote driver makes on a press before anything is sent."""

from __future__ import annotations

import math

from pytest_virtualpy.errors import BadArgument, UnknownKeyError
from pytest_virtualpy.keys import check_key


def check_hold(hold_secs: float | None, max_secs: float = math.inf) -> None:
    """Refuse a ``hold_secs`` that is not a finite number of seconds in ``[0, max_secs)``.

    >>> check_hold(2.0)
    >>> check_hold(-1)
    Traceback (most recent call last):
    pytest_virtualpy.errors.BadArgument: hold_secs must be a number of seconds >= 0, not -1
    """
    if hold_secs is None:
        return
    if (
        isinstance(hold_secs, bool)
        or not isinstance(hold_secs, int | float)
        or not math.isfinite(hold_secs)
        or not 0 <= hold_secs < max_secs
    ):
        raise BadArgument(f"hold_secs must be a number of seconds >= 0, not {hold_secs!r}")


def unknown_key(key: str, known: list[str]) -> UnknownKeyError:
    """The :class:`UnknownKeyError` for ``key``: close matches, then every known key."""
    try:
        check_key(key, known)
    except UnknownKeyError as e:
        return UnknownKeyError(f"{e} This remote's keys: {', '.join(known) or '(none)'}")
    raise AssertionError(f"{key!r} is a known key")  # pragma: no cover - callers check first

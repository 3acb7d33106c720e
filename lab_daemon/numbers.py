"""The one check every number from the wire goes through: finite and in range.

Its own module, below :mod:`lab_daemon.exposing` and :mod:`lab_daemon.leases` alike, so
the lease table and the exposed methods refuse NaN, inf and out-of-range values the same
way.

>>> number(30, "ttl_secs", 1, 3600)
30.0
"""

from __future__ import annotations

import math
from typing import Any


def number(value: Any, what: str, low: float, high: float) -> float:
    """``value`` as a finite float in ``[low, high]``, or a ValueError that says so."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and low <= v <= high):
        raise ValueError(f"{what} must be between {low:g} and {high:g}, got {value!r}")
    return v

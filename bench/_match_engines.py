"""One search of bench/match_vs_stbt.py, and both engines running it, interleaved.

``Case`` is a frame, a reference, parameters and the right answer; ``measure`` runs ours
(``pytest_virtualpy.vision.match``) and stbt's (``stbt_core.match``) alternately and
keeps each one's median time and whether its answer was right (``correct``).
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

try:
    import stbt_core
except ImportError:
    import subprocess

    subprocess.check_call(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "stbt-core", "attrs"]
    )
    import stbt_core

from pytest_virtualpy.vision import MatchParameters, Region
from pytest_virtualpy.vision import match as our_match


@dataclass
class Case:
    """One search: a frame, a reference, parameters, and the right answer."""

    group: str
    name: str
    frame: np.ndarray
    ref: np.ndarray
    expect: bool
    position: tuple[int, int] | None = None
    region: tuple[int, int, int, int] | None = None
    params: dict = field(default_factory=dict)
    ours_params: dict = field(default_factory=dict)  # ours only (stbt has no such option)
    ours_ms: float = 0.0
    stbt_ms: float = 0.0
    ours_ok: bool = False
    stbt_ok: bool = False


def run_ours(c: Case):
    region = Region.from_tuple(c.region) if c.region else Region.ALL
    params = MatchParameters(**c.params, **c.ours_params)
    r = our_match(c.ref, c.frame, region=region, params=params)
    return bool(r.match), r.position


def run_stbt(c: Case):
    region = stbt_core.Region(*c.region) if c.region else stbt_core.Region.ALL
    mp = stbt_core.MatchParameters(**c.params)
    r = stbt_core.match(c.ref, frame=c.frame, match_parameters=mp, region=region)
    return bool(r.match), (r.region.x, r.region.y)


def correct(c: Case, got) -> bool:
    ok, pos = got
    if ok != c.expect:
        return False
    if ok and c.position is not None:
        return abs(pos[0] - c.position[0]) <= 2 and abs(pos[1] - c.position[1]) <= 2
    return True


def measure(c: Case, reps: int) -> None:
    """Interleave the two engines ``reps`` times; keep medians and correctness."""
    c.ours_ok = correct(c, run_ours(c))  # also warms up template caches, like a real test
    c.stbt_ok = correct(c, run_stbt(c))
    ours, stbt = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        run_ours(c)
        t1 = time.perf_counter()
        run_stbt(c)
        t2 = time.perf_counter()
        ours.append((t1 - t0) * 1000)
        stbt.append((t2 - t1) * 1000)
    c.ours_ms, c.stbt_ms = statistics.median(ours), statistics.median(stbt)

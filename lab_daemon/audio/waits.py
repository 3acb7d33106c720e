"""Sound waits evaluated next to the samples, on the lab host.

A wait looks at the level of the last :data:`WINDOW_SECS` each time a chunk arrives,
counting only sound heard after it was called: ``wait_for_audio`` returns when that
level reaches the threshold, ``wait_for_silence`` when it falls below. The reported time
is when the sound began (or stopped), refined to :data:`BLOCK_SECS`.
"""

from __future__ import annotations

import time

import numpy as np

from lab_daemon import lease_guard
from lab_daemon.audio.ring import AudioRing, rms_db

WINDOW_SECS = 0.1
BLOCK_SECS = 0.01


def wait_level(
    ring: AudioRing,
    threshold_db: float,
    timeout_secs: float,
    *,
    loud: bool,
    window: float = WINDOW_SECS,
) -> dict:
    """``{"ok", "level_db", "time"}``: whether the level over ``window`` reached
    (``loud``) or fell below ``threshold_db`` within ``timeout_secs``, the level then
    (the last level seen on a timeout) and when the sound began or stopped."""
    start = time.time()
    deadline = time.monotonic() + timeout_secs
    seen: float | None = None
    level: float | None = None
    while True:
        lease_guard.check()  # the call's lease ended: stop (LeaseLost)
        latest = ring.latest_time()
        timed_out = time.monotonic() >= deadline
        if latest is not None and latest != seen and (latest - window >= start or timed_out):
            seen = latest
            # only sound from the call on counts (all of it, on a short timeout)
            span = window if latest - window >= start or latest <= start else latest - start
            level = ring.level_db(span, latest)
            if (level >= threshold_db) == loud:
                t = onset(ring, latest, threshold_db, loud, window)
                return {"ok": True, "level_db": round(level, 2), "time": t}
        if timed_out:
            if level is None:
                level = ring.level_db(window)  # raises if nothing ever came
            return {"ok": False, "level_db": round(level, 2), "time": seen}
        left = deadline - time.monotonic()
        if not ring.wait_newer(latest, max(0.0, min(left, lease_guard.SLICE_SECS))):
            ring.level_db(window)  # a stalled or stopped capture raises LabError here


def onset(ring: AudioRing, end: float, threshold_db: float, loud: bool, window: float) -> float:
    """When the sound became loud (``loud``) or silent, looking back two windows from
    ``end``: the start of the first loud block of the last window, or the end of the last
    loud block."""
    t0, samples = ring.samples(end - 2 * window, end)
    n = max(1, round(BLOCK_SECS * ring.rate))
    blocks = len(samples) // n
    if not blocks:
        return end
    levels = np.array([rms_db(samples[i * n : (i + 1) * n]) for i in range(blocks)])
    above = levels >= threshold_db
    if loud:
        first_in_window = max(0, blocks - round(window / BLOCK_SECS))
        hits = np.flatnonzero(above[first_in_window:])
        k = first_in_window + (int(hits[0]) if len(hits) else 0)
        return round(t0 + k * n / ring.rate, 4)
    hits = np.flatnonzero(above)
    k = int(hits[-1]) + 1 if len(hits) else 0
    return round(t0 + k * n / ring.rate, 4)

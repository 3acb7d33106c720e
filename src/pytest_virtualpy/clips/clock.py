"""The offset between the lab host's clock and this process's ``time.time()``.

Frames are stamped on the lab host; steps in the test process. ``hello`` returns the
daemon's time: the offset is that minus the midpoint of the round trip, from the
quickest of a few tries (its error is at most half that round trip; ~0 for a local sim).

>>> offset = clock_offset(client)          # doctest: +SKIP
>>> lab_time = client_time + offset        # doctest: +SKIP
"""

from __future__ import annotations

import time

from pytest_virtualpy.lab.client import LabClient


def clock_offset(client: LabClient, tries: int = 3) -> float:
    """Lab-host time minus local time, in seconds."""
    best = None
    for _ in range(tries):
        t0 = time.time()
        lab = float(client.hello()["time"])
        t1 = time.time()
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, lab - (t0 + t1) / 2)
    return best[1]

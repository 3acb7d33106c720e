"""Helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence

from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.local import LocalLab


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values: Sequence[float]) -> str:
    return (
        f"n={len(values)} p50={percentile(values, 50):.3f} p95={percentile(values, 95):.3f} "
        f"p99={percentile(values, 99):.3f} mean={statistics.fmean(values):.3f}"
    )


def lease_device(lab: LocalLab) -> DeviceClient:
    return lab.lease("bench", ttl_secs=3600)  # a benchmark may run longer than a default lease


def wait_for_screen(device: DeviceClient, screen: str, timeout: float = 20.0) -> None:
    device.wait_for_sim_screen(screen, timeout)


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

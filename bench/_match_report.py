"""The tables bench/match_vs_stbt.py prints: per group, and overall per resolution.

``report_groups`` prints each group's median times, their ratio and how many answers
each engine got right; ``overall`` prints a resolution's time ratio (sum of medians and
per case) and returns it with the per-case p90.
"""

from __future__ import annotations

import statistics

from _match_engines import Case

try:
    from _common import percentile
except Exception:  # _common imports the lab client, which this bench doesn't need

    def percentile(values, p):
        s = sorted(values)
        k = (len(s) - 1) * p / 100
        lo, hi = int(k), min(int(k) + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)


def report_groups(cases: list[Case]) -> None:
    groups: dict[str, list[Case]] = {}
    for c in cases:
        groups.setdefault(c.group, []).append(c)
    print(
        f"{'group':<26} {'n':>3} {'ours ms':>8} {'stbt ms':>8} {'ratio':>6} "
        f"{'ours max':>8} {'ours ok':>8} {'stbt ok':>8}"
    )
    for g, cs in groups.items():
        o = statistics.median(c.ours_ms for c in cs)
        s = statistics.median(c.stbt_ms for c in cs)
        mx = max(c.ours_ms for c in cs)
        ook = sum(c.ours_ok for c in cs)
        sok = sum(c.stbt_ok for c in cs)
        print(
            f"{g:<26} {len(cs):>3} {o:>8.2f} {s:>8.2f} {o / s:>6.2f} {mx:>8.2f} "
            f"{ook:>4}/{len(cs):<3} {sok:>4}/{len(cs):<3}"
        )


def overall(label: str, cs: list[Case]) -> tuple[float, float]:
    if not cs:
        return float("nan"), float("nan")
    total = sum(c.ours_ms for c in cs) / sum(c.stbt_ms for c in cs)
    per_case = [c.ours_ms / c.stbt_ms for c in cs]
    ook, sok = sum(c.ours_ok for c in cs), sum(c.stbt_ok for c in cs)
    print(
        f"{label:<10} ratio (sum of medians) {total:.2f}   per-case ratio median "
        f"{statistics.median(per_case):.2f} p90 {percentile(per_case, 90):.2f} "
        f"max {max(per_case):.2f}   correct: ours {ook}/{len(cs)}, stbt {sok}/{len(cs)}"
    )
    return total, percentile(per_case, 90)

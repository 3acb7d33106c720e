"""What an edge costs to walk: its measured duration and failure rate, else a declared guess.

Every walked edge is measured (first key press to arrival, on the lab host's clock) and
recorded as KPI ``nav:FROM->TO``; a walk that did not arrive is KPI ``nav-miss:FROM->TO``
(its value is the time lost waiting). :class:`EdgeCosts` pools this run's measurements
with the results history the plugin read at session start (plain :class:`EdgeStats`,
by KPI name), and prices an edge as the *expected* time to get through it::

    cost = mean + p / (1 - p) * (timeout + mean)

where ``p`` is the edge's failure rate (each failure costs a wait for the timeout and
another try). An edge never measured costs its declared ``cost`` (seconds), else its
key count times the seconds per key measured on the other edges (1 s per key when
nothing is measured yet).

>>> costs = EdgeCosts({"nav:home->guide": EdgeStats(mean_ms=900.0, count=10)})
>>> round(costs.cost(Edge("home", "guide", ("KEY_RIGHT", "KEY_OK"))), 3)
0.9
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pytest_virtualpy.navigation.model import Edge

MISS_PREFIX = "nav-miss:"
DEFAULT_SECS_PER_KEY = 1.0
MAX_FAILURE_RATE = 0.9  # an edge that always failed is still priced, not infinite


@dataclass(frozen=True)
class EdgeStats:
    """An edge's measurements: ``count`` arrivals taking ``mean_ms`` on average, and
    ``failures`` walks that did not arrive.

    >>> EdgeStats(mean_ms=800.0, count=3, failures=1).failure_rate
    0.25
    """

    mean_ms: float
    count: int
    failures: int = 0

    @property
    def failure_rate(self) -> float:
        walks = self.count + self.failures
        return self.failures / walks if walks else 0.0

    def __bool__(self) -> bool:
        return self.count > 0 or self.failures > 0


def miss_kpi_name(edge: Edge) -> str:
    """The KPI a walk of ``edge`` that did not arrive is recorded under.

    >>> miss_kpi_name(Edge("home", "guide", ("KEY_OK",)))
    'nav-miss:home->guide'
    """
    return MISS_PREFIX + edge.kpi_name.removeprefix("nav:")


class EdgeCosts:
    """Edge costs in seconds from history (by KPI name) and this run's measurements.

    >>> costs = EdgeCosts()
    >>> costs.record(Edge("a", "b", ("KEY_OK",)), 400.0)
    >>> costs.stats(Edge("a", "b", ("KEY_OK",)))
    EdgeStats(mean_ms=400.0, count=1, failures=0)
    """

    def __init__(self, history: Mapping[str, EdgeStats] | None = None) -> None:
        self._history = dict(history or {})
        # this run's walks, per edge (two edges between the same nodes share a KPI name,
        # and so their history, but not what this run saw of each)
        self._run: dict[Edge, list[float]] = {}
        self._misses: dict[Edge, int] = {}

    @classmethod
    def from_history(cls, past: Mapping[str, Mapping[str, float]]) -> EdgeCosts:
        """Costs from one model's plain results history, as
        :func:`~pytest_virtualpy.results.nav_history.edge_history` gives it.

        >>> EdgeCosts.from_history({"nav:a->b": {"mean_ms": 900, "count": 3, "failures": 1}}
        ...                        ).stats(Edge("a", "b", ("KEY_OK",)))
        EdgeStats(mean_ms=900.0, count=3, failures=1)
        """
        return cls(
            {
                kpi: EdgeStats(float(s["mean_ms"]), int(s["count"]), int(s["failures"]))
                for kpi, s in past.items()
            }
        )

    def record(self, edge: Edge, duration_ms: float | None) -> None:
        """One walk of ``edge``: ``duration_ms`` to arrive, or None if it did not."""
        if duration_ms is None:
            self._misses[edge] = self._misses.get(edge, 0) + 1
        else:
            self._run.setdefault(edge, []).append(float(duration_ms))

    def stats(self, edge: Edge) -> EdgeStats | None:
        """History and this run pooled; None if the edge was never measured."""
        old = self._history.get(edge.kpi_name, EdgeStats(0.0, 0))
        run = self._run.get(edge, [])
        count = old.count + len(run)
        failures = old.failures + self._misses.get(edge, 0)
        if not count and not failures:
            return None
        mean = (old.mean_ms * old.count + sum(run)) / count if count else 0.0
        return EdgeStats(round(mean, 3), count, failures)

    def secs_per_key(self, edges: Iterable[Edge]) -> float:
        """Seconds per key press over the measured ones of ``edges`` (to price the rest).

        >>> EdgeCosts().secs_per_key([Edge("a", "b", ("KEY_OK",))])
        1.0
        """
        total_ms, keys = 0.0, 0
        for edge in edges:
            s = self.stats(edge)
            if s is not None and s.count:
                total_ms += s.mean_ms
                keys += len(edge.keys)
        return total_ms / keys / 1000 if keys else DEFAULT_SECS_PER_KEY

    def cost(self, edge: Edge, secs_per_key: float | None = None) -> float:
        """The expected seconds to get through ``edge`` (see the module doc)."""
        s = self.stats(edge)
        if s is not None and s.count:
            mean = s.mean_ms / 1000
        elif edge.cost is not None:
            mean = edge.cost
        else:
            mean = len(edge.keys) * (DEFAULT_SECS_PER_KEY if secs_per_key is None else secs_per_key)
        p = min(s.failure_rate, MAX_FAILURE_RATE) if s is not None else 0.0
        return mean + p / (1 - p) * (edge.timeout_secs + mean)

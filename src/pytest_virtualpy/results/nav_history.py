"""How navigation edges behaved in past runs, per device model: a plain read of ``kpis``.

The navigator records each walked edge as KPI ``nav:FROM->TO`` (press to arrival, ms)
and each walk that did not arrive as ``nav-miss:FROM->TO``. :func:`edge_history`
aggregates both per device model, so the plugin can hand navigation the measured costs
at session start as plain data. It never writes, never creates a database, and never
fails a session: no database (or one without the schema yet) is an empty history.
:func:`read_edge_history` is the same read of a database already opened, for callers
(``virtualpy nav draw --results-db URL``) to whom a database that fails is an error.

>>> edge_history(parse_url(".virtualpy/results.db", Path.cwd()))   # doctest: +SKIP
{'sim': {'nav:home->guide': {'mean_ms': 812.4, 'count': 31, 'failures': 1}}}
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_virtualpy.results.db import Database, DbUrl, ResultsDbError

HIT, MISS = "nav:", "nav-miss:"
DEFAULT_DAYS = 90.0  # older measurements describe older firmware


def edge_history(
    url: DbUrl | None, *, days: float = DEFAULT_DAYS, now: datetime | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """``{model: {"nav:FROM->TO": {"mean_ms", "count", "failures"}}}`` of the last ``days``.

    A model is the device's (``devices.model``; its name when it has none).
    """
    if url is None or (url.dialect == "sqlite" and not Path(url.target).is_file()):
        return {}
    try:
        db = Database.connect(url, migrate=False)
    except ResultsDbError:
        return {}
    try:
        return read_edge_history(db, days=days, now=now)
    except (sqlite3.Error, ResultsDbError):
        return {}
    except Exception as e:  # psycopg's errors, without importing psycopg here
        if type(e).__module__.startswith("psycopg"):
            return {}
        raise
    finally:
        db.close()


def read_edge_history(
    db: Database, *, days: float = DEFAULT_DAYS, now: datetime | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """:func:`edge_history` of an open database; its errors are the caller's to handle."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    # the patterns are parameters: a literal "%" in the SQL is a placeholder to psycopg
    rows = db.query(
        "SELECT COALESCE(d.model, d.name) AS model, k.name AS name, "
        "AVG(k.value_ms) AS mean_ms, COUNT(*) AS n FROM kpis k "
        "JOIN devices d ON d.id = k.device_id "
        "WHERE (k.name LIKE ? OR k.name LIKE ?) AND k.measured_at >= ? "
        "GROUP BY COALESCE(d.model, d.name), k.name",
        (HIT + "%", MISS + "%", since),
    )
    history: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        edges = history.setdefault(str(row["model"]), {})
        name = str(row["name"])
        if name.startswith(MISS):
            stats = edges.setdefault(HIT + name.removeprefix(MISS), _empty())
            stats["failures"] = int(row["n"])
        else:
            stats = edges.setdefault(name, _empty())
            stats.update(mean_ms=round(float(row["mean_ms"]), 3), count=int(row["n"]))
    return history


def _empty() -> dict[str, float]:
    return {"mean_ms": 0.0, "count": 0, "failures": 0}

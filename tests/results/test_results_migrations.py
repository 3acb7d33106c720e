"""Migrations on SQLite and Postgres: applied once, recorded, idempotent, newer DB refused,
and the tables match the schema contract in docs/results-schema.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_virtualpy.results.db import Database, SchemaTooNew, parse_url
from pytest_virtualpy.results.migrations import latest_version

DOC = Path(__file__).resolve().parents[2] / "docs" / "results-schema.md"


def _contract() -> dict[str, set[str]]:
    """table -> columns, read from the schema document's table (value lists dropped)."""
    tables = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"\| `(\w+)` \|[^|]*\| (.*) \|$", line)
        if m:
            tables[m.group(1)] = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", m.group(2))))
    return tables


def _columns(db: Database, table: str) -> set[str]:
    if db.dialect == "sqlite":
        return {r["name"] for r in db.query(f"PRAGMA table_info({table})")}
    rows = db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", (table,)
    )
    return {r["column_name"] for r in rows}


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'r.db'}"
    return request.getfixturevalue("pg_factory")()


def test_migrations_apply_once_and_match_the_contract(fresh_url, tmp_path):
    url = parse_url(fresh_url, tmp_path)
    db = Database.connect(url, migrate=False)
    assert db.migrate() == list(range(1, latest_version() + 1))
    assert db.migrate() == []  # applying twice is a no-op
    db.close()
    db = Database.connect(url)  # connect() migrates too: still a no-op
    rows = db.query("SELECT version, description, applied_at FROM schema_version")
    assert [r["version"] for r in rows] == list(range(1, latest_version() + 1))
    assert all(r["description"] and r["applied_at"] for r in rows)
    contract = _contract()
    assert len(contract) == 9 and "schema_version" in contract
    for table, expected in contract.items():
        actual = _columns(db, table)
        assert expected == actual, (
            f"{table}: missing {expected - actual}, extra {actual - expected}"
        )
    db.close()


def test_a_newer_database_is_refused(fresh_url, tmp_path):
    url = parse_url(fresh_url, tmp_path)
    db = Database.connect(url)
    db.execute(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
        (latest_version() + 5, "from the future", "2030-01-01T00:00:00+00:00"),
    )
    db.close()
    with pytest.raises(SchemaTooNew) as e:
        Database.connect(url)
    msg = str(e.value)
    assert f"schema version {latest_version() + 5}" in msg
    assert "upgrade virtualpy" in msg


def test_bad_urls_are_explained(tmp_path):
    from pytest_virtualpy.results.db import ResultsDbError

    assert parse_url("none", tmp_path) is None and parse_url("OFF", tmp_path) is None
    assert parse_url("r.db", tmp_path).target == str(tmp_path / "r.db")
    assert parse_url("sqlite:///abs/x.db", tmp_path).target == "/abs/x.db"
    assert parse_url("postgres://u@h/db", tmp_path).dialect == "postgres"
    with pytest.raises(ResultsDbError, match="unsupported results database URL 'mysql"):
        parse_url("mysql://u@h/db", tmp_path)

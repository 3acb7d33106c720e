"""Results database connections by URL, the few SQLite/Postgres differences, and migrations.

URLs: ``sqlite:///abs/path.db``, ``sqlite:rel/path.db``, a plain file path, or
``postgresql://user:pw@host:port/db`` (``postgres://`` too, e.g. Supabase). ``none`` or
``off`` mean "do not record" and are handled by :func:`parse_url` returning ``None``.

SQL is written once with ``?`` placeholders; :class:`Database` rewrites them to ``%s``
for psycopg and turns datetimes into ISO-8601 text for SQLite (the schema's contract).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pytest_virtualpy.results.migrations import all_migrations, latest_version

DISABLED = ("none", "off", "false", "no", "0", "")
CONNECT_TIMEOUT_SECS = 5
_PG_LOCK_ID = 0x76707972  # advisory lock: one migrator at a time ("vpyr")


class ResultsDbError(Exception):
    """The results database cannot be used (bad URL, unreachable, wrong schema)."""


class SchemaTooNew(ResultsDbError):
    """The database was migrated by a newer virtualpy than this one."""


@dataclass(frozen=True)
class DbUrl:
    """A parsed results-database URL."""

    dialect: str  # "sqlite" or "postgres"
    target: str  # file path (sqlite) or the libpq URL (postgres)

    def __str__(self) -> str:
        return f"sqlite://{self.target}" if self.dialect == "sqlite" else self.target

    @property
    def display(self) -> str:
        """The URL with any password hidden, for messages."""
        if self.dialect == "sqlite":
            return str(self)
        parts = urlsplit(self.target)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.target


def parse_url(value: str | None, base: Path) -> DbUrl | None:
    """Parse a ``--results-db`` value; ``None`` when recording is disabled.

    Relative SQLite paths are taken relative to ``base`` (the pytest rootdir or the
    current directory for the CLI). Raises :class:`ResultsDbError` for unknown schemes.
    """
    if value is None or value.strip().lower() in DISABLED:
        return None
    value = value.strip()
    if value.startswith(("postgresql://", "postgres://")):
        return DbUrl("postgres", value)
    if value.startswith("sqlite:"):
        path = value[len("sqlite:") :]
        if path.startswith("///"):
            path = path[2:]  # sqlite:///abs -> /abs
        elif path.startswith("//"):
            raise ResultsDbError(
                f"bad results database URL {value!r}: use sqlite:///absolute/path.db "
                "or sqlite:relative/path.db"
            )
        if not path:
            raise ResultsDbError(f"bad results database URL {value!r}: no file name")
        p = Path(path)
        return DbUrl("sqlite", str(p if p.is_absolute() else base / p))
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        raise ResultsDbError(
            f"unsupported results database URL {value!r}: use a SQLite file path, "
            "sqlite:///path.db, postgresql://user@host/db, or 'none' to disable"
        )
    p = Path(value).expanduser()
    return DbUrl("sqlite", str(p if p.is_absolute() else base / p))


def _sqlite_param(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    return v


class Database:
    """A connection to a results database; one per thread."""

    def __init__(self, url: DbUrl, conn: Any) -> None:
        self.url = url
        self.dialect = url.dialect
        self.conn = conn

    # -- connecting ----------------------------------------------------------------

    @classmethod
    def connect(cls, url: DbUrl, migrate: bool = True) -> Database:
        """Open ``url`` and (by default) bring its schema up to date."""
        if url.dialect == "sqlite":
            path = Path(url.target)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=30, isolation_level=None)
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA journal_mode = WAL")
            except (OSError, sqlite3.Error) as e:
                raise ResultsDbError(f"cannot open SQLite database {path}: {e}") from None
        else:
            import psycopg

            try:
                conn = psycopg.connect(
                    url.target, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECS
                )
            except psycopg.Error as e:
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ResultsDbError(
                    f"cannot connect to Postgres at {url.display}: {reason}"
                ) from None
        db = cls(url, conn)
        if migrate:
            db.migrate()
        return db

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    # -- running SQL ---------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def _params(self, params: Sequence[Any]) -> Sequence[Any]:
        if self.dialect == "sqlite":
            return [_sqlite_param(p) for p in params]
        return params

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns a cursor."""
        return self.conn.execute(self._sql(sql), self._params(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [self._params(r) for r in rows]
        if not rows:
            return
        if self.dialect == "sqlite":
            self.conn.executemany(sql, rows)
        else:
            with self.conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts (column name -> value)."""
        cur = self.execute(sql, params)
        cols = [d[0] for d in cur.description or ()]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def transaction(self) -> Any:
        """A context manager: everything inside commits together or not at all."""
        if self.dialect == "postgres":
            return self.conn.transaction()
        return _SqliteTransaction(self.conn)

    # -- schema --------------------------------------------------------------------

    def schema_version(self) -> int:
        """The highest applied migration (0 for an empty database)."""
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, description TEXT, applied_at "
            + ("TIMESTAMPTZ" if self.dialect == "postgres" else "TEXT")
            + " NOT NULL)"
        )
        return int(self.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version") or 0)

    def migrate(self) -> list[int]:
        """Apply the pending numbered migrations; returns the versions applied.

        Applying twice is a no-op. A database newer than this code is refused: writing
        into a schema we do not know could corrupt what the newer version relies on.
        """
        applied: list[int] = []
        with self.transaction():
            if self.dialect == "postgres":
                self.execute("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK_ID,))
            current = self.schema_version()
            latest = latest_version()
            if current > latest:
                raise SchemaTooNew(
                    f"the results database {self.url.display} has schema version {current}, "
                    f"but this virtualpy only knows up to version {latest}: upgrade virtualpy "
                    "(pip install -U pytest-virtualpy) or point --results-db elsewhere"
                )
            for m in all_migrations():
                if m.version <= current:
                    continue
                for stmt in m.render(self.dialect):
                    self.execute(stmt)
                self.execute(
                    "INSERT INTO schema_version (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    (m.version, m.description, datetime.now(UTC)),
                )
                applied.append(m.version)
        return applied


class _SqliteTransaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK for an autocommit sqlite3 connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def to_datetime(ts: float | None) -> datetime | None:
    """An epoch time as an aware UTC datetime (what both dialects store)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)

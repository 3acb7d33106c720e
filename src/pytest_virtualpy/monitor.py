"""``virtualpy monitor``: collect the labs' incidents into the results database.

Every ``--interval`` seconds the monitor asks each lab daemon for its incidents
(``incidents(since_seq)``: black screen, frozen video, no signal, silence, a stalled
capture) and writes each one to the ``alerts`` table of the results database, once:
a row when it is first seen, its ``ended_at`` when it ends. It prints one line per
incident opened or closed::

    virtualpy monitor --lab pi-03 --lab pi-04 --results-db postgresql://...
    2026-12-01 23:02:10 opened pi-03/tv-1 frozen: picture unchanged for 60 s
    2026-12-01 23:04:55 closed pi-03/tv-1 frozen after 225 s

A daemon that cannot be reached is said once per outage and recorded as an incident of
kind ``unreachable`` (no device) until it answers again; polling goes on. A daemon that
restarted (its start time changed) forgot its open incidents: they are closed at the
time the restart was noticed, and their message says so. ``--once`` polls every lab
once and exits (1 if a lab was unreachable), for cron jobs and tests.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pytest_virtualpy.errors import ConfigError, LabError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.inventory import LabSpec, resolve_one
from pytest_virtualpy.results.alerts import AlertStore
from pytest_virtualpy.results.db import Database, DbUrl, ResultsDbError

DEFAULT_INTERVAL = 5.0
INTERVAL = (0.2, 3600.0)
CONNECT_SECS = 5.0
MAX_PAGES = 100  # replies of one poll of one lab (each up to 1000 ended incidents)


def _is_db_error(e: Exception) -> bool:
    """Whether ``e`` says the database failed (retried next poll), not a bug of ours."""
    return isinstance(e, ResultsDbError) or type(e).__module__.split(".")[0] in (
        "sqlite3",
        "psycopg",
    )


def _clock_text(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


class LabWatch:
    """What the monitor knows of one lab: its connection, the daemon it saw, the seq."""

    def __init__(self, spec: LabSpec):
        self.spec = spec
        self.name = spec.name  # replaced by the daemon's own lab name once it answers
        self.client: LabClient | None = None
        self.started: float | None = None
        self.seq = 0
        self.down = False

    def replies(self) -> list[dict]:
        """Every reply of one poll (one unless the daemon has more than a page)."""
        if self.client is None or self.client.closed:
            self.client = self.spec.connect("virtualpy-monitor", timeout=CONNECT_SECS)
        out, seq = [], self.seq
        for _ in range(MAX_PAGES):
            reply = self.client.incidents(seq)
            if seq and not out and reply["started"] != self.started:
                seq = 0  # another daemon: our seq means nothing to it; take all it has
                reply = self.client.incidents(seq)
            if out and reply["started"] != out[0]["started"]:
                break  # restarted between two pages: the next poll starts again
            out.append(reply)
            seq = reply["seq"]
            if not reply.get("more"):
                break
        return out

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None


class Monitor:
    """Polls labs and writes their incidents with an :class:`AlertStore`.

    >>> Monitor([resolve_one("pi-03", Path("labs.toml"))], url).poll()
    """

    def __init__(self, specs: list[LabSpec], url: DbUrl, say: Callable[[str], None] = print):
        self.labs = [LabWatch(s) for s in specs]
        self.url = url
        self.say = say
        self._store: AlertStore | None = None
        self._db_down = False

    def _db(self) -> AlertStore:
        if self._store is None:
            self._store = AlertStore(Database.connect(self.url))
            if self._db_down:
                self.say(f"results database {self.url.display} is back")
                self._db_down = False
        return self._store

    def close(self) -> None:
        for lab in self.labs:
            lab.drop()
        if self._store is not None:
            self._store.db.close()

    def poll(self) -> bool:
        """Poll every lab once; False if a lab or the database could not be reached."""
        ok = True
        for lab in self.labs:
            try:
                replies = lab.replies()
            except (LabError, OSError) as e:
                lab.drop()
                self._unreachable(lab, str(e))
                ok = False
                continue
            try:
                self._write(lab, replies)
            except Exception as e:
                if not _is_db_error(e):
                    raise
                ok = self._db_failed(str(e))
        return ok

    def _db_failed(self, why: str) -> bool:
        if not self._db_down:
            self.say(f"cannot write to the results database: {why}; will retry")
        self._db_down = True
        if self._store is not None:
            self._store.db.close()
        self._store = None
        return False

    def _unreachable(self, lab: LabWatch, why: str) -> None:
        """Say so once per outage; record it (once) as an incident of kind unreachable."""
        now = time.time()
        store = self._guarded(self._db)
        if store is not None and lab.started is None and lab.name == lab.spec.name:
            lab.name = self._guarded(lambda: store.lab_at(lab.spec.address)) or lab.name
        if not lab.down:
            self.say(f"{_clock_text(now)} opened {lab.name} unreachable: {why}")
            lab.down = True
        if store is not None:

            def write() -> None:
                with store.db.transaction():
                    store.unreachable(lab.name, now, f"lab unreachable: {why}")

            self._guarded(write)

    def _guarded(self, fn: Callable):
        """``fn()``, or None once a database failure was said (retried next poll)."""
        try:
            return fn()
        except Exception as e:
            if not _is_db_error(e):
                raise
            self._db_failed(str(e))
            return None

    def _write(self, lab: LabWatch, replies: list[dict]) -> None:
        store, now = self._db(), time.time()
        first = replies[0]
        name = str(first["lab"])
        with store.db.transaction():
            closed = [r for n in dict.fromkeys((lab.name, name)) for r in store.reachable(n, now)]
            if lab.down or closed:
                self.say(f"{_clock_text(now)} closed {name} unreachable: the lab answers again")
            lab.name = name
            if first["started"] != lab.started:  # first sight, or the daemon restarted
                seen = {i["id"] for r in replies for i in r["open"] + r["ended"]}
                current = f"{name}:{round(float(first['started']) * 1000)}:"

                def note(uid: str) -> str:
                    if uid.startswith(current):
                        return "ended while nobody was monitoring"
                    return "closed: the lab daemon restarted"

                for row in store.close_others(name, seen, now, note):
                    self.say(
                        f"{_clock_text(now)} closed {name}/{row['device']} {row['kind']} "
                        f"({note(row['uid'])})"
                    )
                if lab.started is not None:
                    self.say(f"lab {name} restarted at {_clock_text(float(first['started']))}")
            for reply in replies:
                for incident in reply["open"] + reply["ended"]:
                    self._one(store, name, lab.spec.address, incident)
        lab.down = False
        lab.started = first["started"]
        lab.seq = replies[-1]["seq"]

    def _one(self, store: AlertStore, lab: str, address: str, incident: dict) -> None:
        written = store.record(lab, incident, address)
        where = f"{lab}/{incident.get('device')} {incident['kind']}"
        if written.opened:
            self.say(f"{_clock_text(incident['start'])} opened {where}: {incident['message']}")
        if written.closed:
            secs = float(incident["end"]) - float(incident["start"])
            self.say(f"{_clock_text(incident['end'])} closed {where} after {secs:.0f} s")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="virtualpy monitor",
        description="Poll lab daemons and write their incidents to the results database.",
    )
    p.add_argument(
        "--lab",
        action="append",
        required=True,
        metavar="NAME",
        help="a lab name from labs.toml or HOST:PORT (token in $VIRTUALPY_LAB_TOKEN); "
        "repeat for more labs",
    )
    p.add_argument("--labs-file", type=Path, default=Path("labs.toml"), help="lab inventory")
    p.add_argument(
        "--results-db",
        help="results database URL (default: $VIRTUALPY_RESULTS_DB, else "
        ".virtualpy/results.db, as `virtualpy results` finds it)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help=f"seconds between polls (default {DEFAULT_INTERVAL:g})",
    )
    p.add_argument("--once", action="store_true", help="poll every lab once and exit")
    return p


def _say(line: str) -> None:
    print(f"virtualpy monitor: {line}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``virtualpy monitor``; returns the exit code."""
    from pytest_virtualpy.results.cli import CliError, _db_url

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        if not INTERVAL[0] <= args.interval <= INTERVAL[1]:
            raise ConfigError(
                f"--interval must be {INTERVAL[0]:g} to {INTERVAL[1]:g} seconds, "
                f"not {args.interval:g}"
            )
        specs = [resolve_one(v, args.labs_file) for v in args.lab]
        for spec in specs:
            spec.token()  # a missing token is a mistake to fix now, not an outage
        url = _db_url(args.results_db)
    except (ConfigError, CliError) as e:
        print(f"virtualpy monitor: {e}", file=sys.stderr)
        return 2
    monitor = Monitor(specs, url, _say)
    stop = threading.Event()
    if not args.once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        _say(
            f"watching {', '.join(s.name for s in specs)} every {args.interval:g} s "
            f"into {url.display}"
        )
    try:
        while True:
            ok = monitor.poll()
            if args.once:
                return 0 if ok else 1
            if stop.wait(args.interval):
                return 0
    finally:
        monitor.close()

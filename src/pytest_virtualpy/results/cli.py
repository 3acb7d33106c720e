"""``virtualpy results list | show RUN | sync | export RUN``: read and ship recorded runs.

Exit codes: 0 success, 1 the data is not there (unknown run, unreachable database,
records left in the spool), 2 bad usage (bad URL, bad option).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_virtualpy.results import tables
from pytest_virtualpy.results.db import Database, DbUrl, ResultsDbError, parse_url
from pytest_virtualpy.results.migrations import latest_version
from pytest_virtualpy.results.s3 import ArtifactStoreError, S3Store, S3Target
from pytest_virtualpy.results.settings import DEFAULT_DB, DEFAULT_SPOOL, find_upwards
from pytest_virtualpy.results.sync import Overrides, Syncer, run_sync, spool_roots


class CliError(Exception):
    """A user-facing error: message and exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _db_url(value: str | None) -> DbUrl:
    value = (
        value or os.environ.get("VIRTUALPY_RESULTS_DB") or str(find_upwards(Path.cwd(), DEFAULT_DB))
    )
    try:
        url = parse_url(value, Path.cwd())
    except ResultsDbError as e:
        raise CliError(str(e), 2) from None
    if url is None:
        raise CliError(f"results recording is disabled ({value!r}): pass --results-db URL", 2)
    return url


def _open_for_reading(url: DbUrl) -> Database:
    if url.dialect == "sqlite" and not Path(url.target).exists():
        raise CliError(
            f"no results database at {url.target}: run pytest here first, "
            "or pass --results-db URL (or set VIRTUALPY_RESULTS_DB)"
        )
    try:
        db = Database.connect(url, migrate=False)
        version = db.schema_version()
    except ResultsDbError as e:
        raise CliError(str(e)) from None
    if version > latest_version():
        raise CliError(
            f"the results database {url.display} has schema version {version}, but this "
            f"virtualpy only knows up to {latest_version()}: upgrade virtualpy"
        )
    if version == 0:
        raise CliError(f"the results database {url.display} has no virtualpy results yet")
    return db


def _find_run(db: Database, run: str) -> dict[str, Any]:
    if run == "latest":
        rows = db.query("SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT 1")
    else:
        rows = db.query("SELECT * FROM runs WHERE run_uid = ?", (run,))
        if not rows:
            rows = db.query("SELECT * FROM runs WHERE run_uid LIKE ?", (run + "%",))
    if len(rows) != 1:
        what = "is ambiguous" if rows else "is not in"
        raise CliError(
            f"run {run!r} {what} {db.url.display}; `virtualpy results list` shows the runs"
        )
    return rows[0]


def _ts(value: Any) -> str:
    """A timestamp (datetime or ISO text) as 'YYYY-MM-DD HH:MM:SS' UTC."""
    if value is None:
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _secs(run: dict[str, Any]) -> float | None:
    start, end = run.get("started_at"), run.get("finished_at")
    if start is None or end is None:
        return None
    if isinstance(start, str):
        start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
    return round((end - start).total_seconds(), 1)


# -- commands ------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    db = _open_for_reading(_db_url(args.results_db))
    runs = db.query("SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", (args.limit,))
    if not runs:
        print(f"no runs in {db.url.display}")
        return 0
    headers = ["run", "started (UTC)", "status", "build", "name", "campaign", "secs"]
    headers += ["passed", "failed", "errors", "skipped", "xfailed", "xpassed"]
    rows = [
        [
            r["run_uid"],
            _ts(r["started_at"]),
            r["status"],
            (r["build"] or None) and str(r["build"])[:12],
            r["name"],
            r["campaign"],
            _secs(r),
            r["passed"],
            r["failed"],
            r["errors"],
            r["skipped"],
            r["xfailed"],
            r["xpassed"],
        ]
        for r in runs
    ]
    print(tables.render(headers, rows))
    return 0


def _tests(db: Database, run_id: int) -> list[dict[str, Any]]:
    tests = db.query(
        "SELECT t.*, d.name AS device, l.name AS lab FROM test_results t "
        "LEFT JOIN devices d ON d.id = t.device_id LEFT JOIN labs l ON l.id = t.lab_id "
        "WHERE t.run_id = ? ORDER BY t.started_at, t.id",
        (run_id,),
    )
    arts = db.query(
        "SELECT test_result_id, kind, name, uri, size_bytes, sha256 FROM artifacts "
        "WHERE run_id = ? ORDER BY id",
        (run_id,),
    )
    by_test: dict[int, list[dict[str, Any]]] = {}
    for a in arts:
        by_test.setdefault(a.pop("test_result_id"), []).append(a)
    for t in tests:
        t["artifacts"] = by_test.get(t["id"], [])
        t["lab_error"] = bool(t["lab_error"])
        t["usage_error"] = bool(t.get("usage_error"))
    return tests


def cmd_show(args: argparse.Namespace) -> int:
    db = _open_for_reading(_db_url(args.results_db))
    run = _find_run(db, args.run)
    tests = _tests(db, run["id"])
    print(f"run       {run['run_uid']}  ({run['status']})")
    for label, key in (("name", "name"), ("campaign", "campaign"), ("build", "build")):
        if run.get(key):
            print(f"{label:<9} {run[key]}")
    print(f"started   {_ts(run['started_at'])} UTC, {_secs(run) or '-'} s, host {run['host']}")
    print(f"labs      {run['labs'] or '-'}, {run['workers']} worker(s)")
    counts = ", ".join(
        f"{run[k]} {k}" for k in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
    )
    print(f"results   {counts}\n")
    rows = [
        [
            t["outcome"] + (" (lab)" if t["lab_error"] else " (usage)" if t["usage_error"] else ""),
            t["duration_ms"],
            t["device"],
            t["nodeid"],
        ]
        for t in tests
    ]
    print(tables.render(["outcome", "ms", "device", "test"], rows, max_width=120))
    arts = [[t["nodeid"], a["kind"], a["uri"]] for t in tests for a in t["artifacts"]]
    if arts:
        print("\nartifacts")
        print(tables.render(["test", "kind", "uri"], arts, max_width=200))
    return 0


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    return v


def cmd_export(args: argparse.Namespace) -> int:
    db = _open_for_reading(_db_url(args.results_db))
    run = _find_run(db, args.run)
    tests = _tests(db, run["id"])
    if args.format == "json":
        for t in tests:
            t["steps"] = db.query(
                "SELECT idx, depth, kind, name, started_at, duration_ms, ok, detail, error "
                "FROM steps WHERE test_result_id = ? ORDER BY idx",
                (t["id"],),
            )
            t["kpis"] = db.query(
                "SELECT name, value_ms, measured_at FROM kpis WHERE test_result_id = ? ORDER BY id",
                (t["id"],),
            )
            for s in t["steps"]:
                s["ok"] = bool(s["ok"]) if s["ok"] is not None else None
                if isinstance(s["detail"], str):
                    s["detail"] = json.loads(s["detail"])
        text = json.dumps({"run": run, "tests": tests}, default=_jsonable, indent=2)
    else:
        text = junit_xml(run, tests)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


def junit_xml(run: dict[str, Any], tests: list[dict[str, Any]]) -> str:
    """A JUnit XML document (the common Jenkins/GitLab dialect) of one run."""
    suites = ET.Element("testsuites", name=f"virtualpy run {run['run_uid']}")
    failures = sum(t["outcome"] == "failed" for t in tests)
    errors = sum(t["outcome"] == "error" for t in tests)
    skipped = sum(t["outcome"] in ("skipped", "xfailed") for t in tests)
    total_ms = sum(t["duration_ms"] or 0 for t in tests)
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=run["name"] or run["run_uid"],
        tests=str(len(tests)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{total_ms / 1000:.3f}",
        timestamp=_ts(run["started_at"]).replace(" ", "T"),
        hostname=run["host"] or "",
    )
    props = ET.SubElement(suite, "properties")
    for key in ("run_uid", "build", "campaign", "labs"):
        if run.get(key):
            ET.SubElement(props, "property", name=key, value=str(run[key]))
    for t in tests:
        path, _, rest = t["nodeid"].partition("::")
        parts = rest.split("::") if rest else [t["nodeid"]]
        classname = ".".join(
            [path.removesuffix(".py").replace("/", ".").replace("\\", "."), *parts[:-1]]
        )
        case = ET.SubElement(
            suite,
            "testcase",
            classname=classname,
            name=parts[-1],
            time=f"{(t['duration_ms'] or 0) / 1000:.3f}",
        )
        props = [("device", t["device"]), ("lab", t["lab"])]
        props += [(f"artifact:{a['kind']}", a["uri"]) for a in t["artifacts"]]
        if any(v for _, v in props):
            p = ET.SubElement(case, "properties")
            for k, v in props:
                if v:
                    ET.SubElement(p, "property", name=k, value=str(v))
        msg = t["message"] or ""
        if t["outcome"] == "failed":
            ET.SubElement(case, "failure", message=msg[:500]).text = msg
        elif t["outcome"] == "error":
            kind = "lab error" if t["lab_error"] else "usage error" if t["usage_error"] else "error"
            ET.SubElement(case, "error", message=msg[:500], type=kind).text = msg
        elif t["outcome"] in ("skipped", "xfailed"):
            ET.SubElement(case, "skipped", message=(msg or t["outcome"])[:500])
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def cmd_sync(args: argparse.Namespace) -> int:
    overrides = Overrides(
        results_db=_db_url(args.results_db) if args.results_db else None,
        s3_endpoint=args.s3_endpoint,
    )
    if args.artifacts:
        try:
            overrides.store = S3Store(S3Target.parse(args.artifacts), args.s3_endpoint)
        except ArtifactStoreError as e:
            raise CliError(str(e), 2) from None
    roots = spool_roots(args.spool, overrides, Path.cwd())
    report = run_sync(roots, Syncer(overrides, _db_url))
    return 1 if report.left else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="virtualpy results", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    db_help = "results database URL (default $VIRTUALPY_RESULTS_DB or .virtualpy/results.db)"

    s = sub.add_parser("list", help="recent runs")
    s.add_argument("--results-db", help=db_help)
    s.add_argument("--limit", type=int, default=30)
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("show", help="one run: its tests and artifacts")
    s.add_argument("run", help="run id, a unique prefix of it, or 'latest'")
    s.add_argument("--results-db", help=db_help)
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("export", help="one run as JSON or JUnit XML")
    s.add_argument("run", help="run id, a unique prefix of it, or 'latest'")
    s.add_argument("--format", choices=("json", "junit"), default="json")
    s.add_argument("-o", "--output", help="file to write (default: standard output)")
    s.add_argument("--results-db", help=db_help)
    s.set_defaults(func=cmd_export)

    s = sub.add_parser(
        "sync",
        help="ship spooled results (idempotent)",
        description="Ship every pending spool on this machine to the database it was "
        "recorded for. With --results-db, --artifacts or --s3-endpoint, ship only this "
        "project's spools, to the place given. Spools of runs still going are skipped.",
    )
    s.add_argument(
        "--results-db",
        help="ship this project's runs here instead of where they meant to go",
    )
    s.add_argument("--artifacts", help="s3://bucket/prefix (default: what each run meant)")
    s.add_argument("--s3-endpoint", help="S3 endpoint URL (default: what each run meant)")
    s.add_argument(
        "--spool", help=f"ship this spool folder only (default: this project's {DEFAULT_SPOOL})"
    )
    s.set_defaults(func=cmd_sync)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``virtualpy results``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        return args.func(args)
    except CliError as e:
        print(f"virtualpy results: {e}", file=sys.stderr)
        return e.code
    except ResultsDbError as e:
        print(f"virtualpy results: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into head
        return 0

"""Nothing is lost to a concurrent sync or a crash, and results go where they were meant to.

Each test drives real processes: a pytest run in a subprocess, ``virtualpy results sync``
as its own process beside it, real SQLite files and a real Postgres.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pytest_virtualpy.results.db import Database, parse_url

SYNC = [str(Path(sys.executable).parent / "virtualpy"), "results", "sync"]
DEAD_PG = "postgresql://postgres@127.0.0.1:1/test"
DEAD_SQLITE = "/proc/virtualpy-no-such-dir/results.db"  # cannot be created, even by root

SLOW_SUITE = "\n".join(
    f"def test_slow_{i}():\n    import time\n    time.sleep(0.05)\n" for i in range(40)
)

HANGING_SUITE = (
    "\n".join(f"def test_ok_{i}():\n    pass\n" for i in range(5))
    + """
def test_hangs():
    import pathlib, time
    pathlib.Path("hanging.marker").write_text("x")
    time.sleep(120)
"""
)


@pytest.fixture(params=["sqlite", "postgres"])
def live_and_dead(request, tmp_path) -> tuple[str, str]:
    """(a live results database, a dead one) of one dialect."""
    if request.param == "sqlite":
        return str(tmp_path / "live.db"), DEAD_SQLITE
    return request.getfixturevalue("pg_factory")(), DEAD_PG


def _env(project: Path, run_uid: str) -> dict[str, str]:
    env = dict(os.environ, VIRTUALPY_RUN_ID=run_uid, XDG_CACHE_HOME=str(project / "cache"))
    for name in ("VIRTUALPY_RESULTS_DB", "VIRTUALPY_ARTIFACTS", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    return env


def _pytest(project: Path, run_uid: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=project,
        env=_env(project, run_uid),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _sync(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SYNC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _rows(url: str, run_uid: str) -> tuple[dict | None, list[str]]:
    db = Database.connect(parse_url(url, Path(".")))  # with its schema, even if never written
    try:
        runs = db.query("SELECT * FROM runs WHERE run_uid = ?", (run_uid,))
        if not runs:
            return None, []
        nodeids = [
            r["nodeid"]
            for r in db.query("SELECT nodeid FROM test_results WHERE run_id = ?", (runs[0]["id"],))
        ]
        return runs[0], nodeids
    finally:
        db.close()


def test_sync_looping_beside_a_run_on_a_dead_sink_loses_nothing(pytester, live_and_dead):
    """A cron-style sync loop never claims a spool that a live run is writing."""
    live, dead = live_and_dead
    project, run_uid = pytester.path, f"loop-{secrets.token_hex(3)}"
    pytester.makepyfile(SLOW_SUITE)
    env = _env(project, run_uid)
    outputs: list[str] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            done = _sync(project, env, "--results-db", live)
            outputs.append(done.stdout + done.stderr)

    run = _pytest(project, run_uid, f"--results-db={dead}")
    looper = threading.Thread(target=loop)
    looper.start()
    try:
        out, _ = run.communicate(timeout=180)
    finally:
        time.sleep(0.5)
        stop.set()
        looper.join(180)
    assert run.returncode == 0, out
    assert "40 passed" in out
    summary = [line for line in out.splitlines() if "virtualpy:" in line]
    assert any("41 records are kept in the spool" in line for line in summary), out
    during = "\n".join(outputs)
    assert f"run {run_uid}: skipped" in during, during  # the loop met the live spool

    final = _sync(project, env, "--results-db", live)
    assert final.returncode == 0, final.stdout + final.stderr
    row, nodeids = _rows(live, run_uid)
    assert row is not None, during + final.stdout
    assert len(nodeids) == len(set(nodeids)) == 40  # every result, exactly once
    assert {n.split("::")[1] for n in nodeids} == {f"test_slow_{i}" for i in range(40)}
    assert row["status"] == "passed" and row["passed"] == 40 and row["finished_at"] is not None
    assert not (project / ".virtualpy" / "spool" / run_uid).exists()


def test_sigkilled_run_keeps_its_records_and_sync_marks_it_aborted(pytester, live_and_dead):
    live, _ = live_and_dead
    project, run_uid = pytester.path, f"kill-{secrets.token_hex(3)}"
    pytester.makepyfile(HANGING_SUITE)
    run = _pytest(project, run_uid, f"--results-db={live}")
    marker = project / "hanging.marker"
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert run.poll() is None, run.communicate()[0]
        assert time.monotonic() < deadline, "the hanging test never started"
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)

    spool = project / ".virtualpy" / "spool" / run_uid
    lines = [json.loads(x) for x in (spool / "records.jsonl").read_text().splitlines()]
    assert sum(r["type"] == "test" for r in lines) == 5  # what it recorded up to the kill
    row, _ = _rows(live, run_uid)
    assert row is None or row["status"] == "running"  # nothing closed the run yet

    elsewhere = pytester.mkdir("elsewhere")  # a plain sync finds it from any folder
    done = _sync(elsewhere, _env(project, run_uid))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"run {run_uid}" in done.stdout and "aborted" in done.stdout
    row, nodeids = _rows(live, run_uid)
    assert row["status"] == "aborted" and row["finished_at"] is not None
    assert sorted(n.split("::")[1] for n in nodeids) == [f"test_ok_{i}" for i in range(5)]
    assert row["passed"] == 5
    assert not spool.exists()


def test_sync_with_results_db_ships_only_this_folders_runs(pytester, pg_factory):
    """A run meant for database A never lands in B because B's project ran a sync."""
    import psycopg

    later = f"vpy_later_{secrets.token_hex(4)}"
    url_a = f"postgresql://postgres@127.0.0.1:5432/{later}"  # does not exist yet: dead
    url_b = pg_factory()
    project_a = pytester.mkdir("project_a")
    project_b = pytester.mkdir("project_b")
    run_uid = f"meant-a-{secrets.token_hex(3)}"
    (project_a / "test_a.py").write_text("def test_one():\n    pass\n")
    run = _pytest(project_a, run_uid, f"--results-db={url_a}")
    out, _ = run.communicate(timeout=180)
    assert run.returncode == 0, out
    env = _env(project_a, run_uid)  # the same machine: one pending-spools index

    other = _sync(project_b, env, "--results-db", url_b)
    assert other.returncode == 0, other.stdout + other.stderr
    assert run_uid not in other.stdout
    assert _rows(url_b, run_uid)[0] is None  # B never got A's run

    plain = _sync(project_b, env)  # every spool to its own sink: A is still down
    assert plain.returncode == 1
    assert f"run {run_uid}: not shipped" in plain.stderr and later in plain.stderr
    assert (project_a / ".virtualpy" / "spool" / run_uid).exists()

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{later}"')
    try:
        plain = _sync(project_b, env)
        assert plain.returncode == 0, plain.stdout + plain.stderr
        assert f"run {run_uid}: shipped" in plain.stdout and later in plain.stdout
        row, nodeids = _rows(url_a, run_uid)
        assert row["status"] == "passed" and nodeids == ["test_a.py::test_one"]
        assert _rows(url_b, run_uid)[0] is None
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{later}" WITH (FORCE)')


def test_sync_with_results_db_in_the_runs_folder_redirects_it(pytester, pg_factory):
    """The database was given wrong: a sync in the run's own folder sends it to URL; a sync
    in a sub-folder (another project, as far as it can tell) does not."""
    url = pg_factory()
    run_uid = f"moved-{secrets.token_hex(3)}"
    pytester.makepyfile("def test_one():\n    pass\n")
    run = _pytest(pytester.path, run_uid, f"--results-db={DEAD_PG}")
    out, _ = run.communicate(timeout=180)
    assert run.returncode == 0, out
    nested = _sync(pytester.mkdir("sub"), _env(pytester.path, run_uid), "--results-db", url)
    assert nested.returncode == 0 and run_uid not in nested.stdout
    done = _sync(pytester.path, _env(pytester.path, run_uid), "--results-db", url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"run {run_uid}: shipped 2 records (1 tests) to {url}" in done.stdout
    assert [n.split("::")[1] for n in _rows(url, run_uid)[1]] == ["test_one"]


def test_shipper_survives_any_error_and_keeps_the_records(tmp_path):
    """A failure that is not the database's (here: the spool's own file) loses nothing."""
    from pytest_virtualpy.results.records import RunRecord, TestRecord
    from pytest_virtualpy.results.shipper import Shipper
    from pytest_virtualpy.results.spool import SHIPPED, Spool

    url = parse_url(str(tmp_path / "live.db"), tmp_path)
    spool = Spool(tmp_path / "spool" / "run-1")
    spool.open_for_append({"results_db": str(url)})
    (spool.folder / SHIPPED).mkdir()  # marking lines shipped will fail: IsADirectoryError
    shipper = Shipper(spool, url, None)
    shipper.start()
    shipper.submit(spool.append(RunRecord("run-1", started_at=time.time()).to_dict()))
    for i in range(3):
        test = TestRecord("run-1", f"t.py::test_{i}", "passed", finished_at=time.time())
        shipper.submit(spool.append(test.to_dict()))
    deadline = time.monotonic() + 30
    while shipper.error is None:
        assert time.monotonic() < deadline, "the spool error never surfaced"
        time.sleep(0.05)
    assert "IsADirectoryError" in shipper.error
    assert spool.pending_count() == 4  # still in the spool, nothing marked
    (spool.folder / SHIPPED).rmdir()  # the fault goes away: the same shipper ships it all
    while spool.pending_count():
        assert time.monotonic() < deadline + 30, shipper.error
        time.sleep(0.05)
    assert shipper.drain(30) is True
    assert spool.pending_count() == 0 and shipper.error is None
    db = Database.connect(url)
    assert db.scalar("SELECT COUNT(*) FROM test_results") == 3
    db.close()
    spool.release()


def test_a_sync_never_brings_back_a_spool_its_writer_removed(tmp_path):
    """Listed, then shipped and removed by its own run before the sync gets to it."""
    from pytest_virtualpy.results.spool import Spool, spooled_runs

    writer = Spool(tmp_path / "spool" / "run-1")
    writer.open_for_append({"results_db": "x"})
    writer.append({"type": "run", "run_uid": "run-1", "started_at": 1.0})
    listed = spooled_runs(tmp_path / "spool")
    assert [s.run_uid for s in listed] == ["run-1"]
    assert not listed[0].claim()  # live: the writer holds it
    writer.mark_shipped([1])
    writer.close()
    assert writer.remove_if_done()
    writer.release()
    assert not listed[0].claim()  # gone: nothing to claim
    assert not (tmp_path / "spool" / "run-1").exists()  # ... and not brought back


def test_an_abandoned_run_is_closed_even_after_a_torn_last_line(tmp_path):
    from pytest_virtualpy.results.spool import RECORDS, Spool

    writer = Spool(tmp_path / "spool" / "run-2")
    writer.open_for_append({"results_db": "x"})
    writer.append({"type": "run", "run_uid": "run-2", "started_at": 1.0, "status": "running"})
    writer.append({"type": "test", "run_uid": "run-2", "nodeid": "t::a", "outcome": "passed"})
    writer.close()
    with (writer.folder / RECORDS).open("a") as f:
        f.write('{"type": "test", "nodeid": "t::b", "outc')  # the crash cut this line short
    writer.release()  # the writer is gone
    sync = Spool(writer.folder)
    assert sync.claim()
    assert sync.close_abandoned()
    runs = [r for r in sync.pending() if r["type"] == "run"]
    assert runs[0]["status"] == "aborted" and runs[0]["counts"]["passed"] == 1
    sync.release()

"""xdist gives one run row with no result lost or duplicated; a dead sink keeps everything in
the spool with one warning, and ``virtualpy results sync`` ships it later, idempotently."""

from __future__ import annotations

import json
import secrets
import shutil
import socket

from results_helpers import EXPECTED, OUTCOME_SUITE, SIM_INI, open_db, run_summary

from pytest_virtualpy.results.cli import main as results_cli

MANY = "\n".join(f"def test_plain_{i}():\n    assert {i} >= 0\n" for i in range(12))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_xdist_records_one_run_without_duplicates(pytester, pg_url, aws_env, monkeypatch):
    run_uid = f"xdist-{secrets.token_hex(3)}"
    monkeypatch.setenv("VIRTUALPY_RUN_ID", run_uid)
    pytester.makeini(SIM_INI)
    pytester.makepyfile(test_outcomes=OUTCOME_SUITE, test_many=MANY)
    result = pytester.runpytest_subprocess("-n", "2", f"--results-db={pg_url}")
    result.assert_outcomes(passed=13, failed=1, errors=2, skipped=1, xfailed=1)
    db = open_db(pg_url)
    assert db.scalar("SELECT COUNT(*) FROM runs WHERE run_uid = ?", (run_uid,)) == 1
    summary = run_summary(db, run_uid)
    run, tests = summary["run"], summary["tests"]
    assert run["workers"] == 2 and (run["passed"], run["errors"]) == (13, 2)
    rows = db.query(
        "SELECT nodeid, worker FROM test_results t JOIN runs r ON r.id = t.run_id "
        "WHERE r.run_uid = ?",
        (run_uid,),
    )
    assert len(rows) == len({r["nodeid"] for r in rows}) == 18
    assert {r["worker"] for r in rows} <= {"gw0", "gw1"}
    assert {n: tests[n]["outcome"] for n in EXPECTED} == EXPECTED


def test_dead_sink_keeps_the_spool_then_sync_ships_it(
    pytester, pg_url, moto_s3, aws_env, monkeypatch
):
    endpoint, s3 = moto_s3
    run_uid = f"dead-{secrets.token_hex(3)}"
    monkeypatch.setenv("VIRTUALPY_RUN_ID", run_uid)
    monkeypatch.setenv("VIRTUALPY_S3_ENDPOINT", f"http://127.0.0.1:{_free_port()}")  # dead
    monkeypatch.setenv("XDG_CACHE_HOME", str(pytester.path / "cache"))  # the pending index
    pytester.makeini(SIM_INI)
    pytester.makepyfile(OUTCOME_SUITE)
    result = pytester.runpytest_subprocess(
        "--results-db=postgresql://postgres@127.0.0.1:1/test",
        "--artifacts=s3://vpy-artifacts/late",
    )
    result.assert_outcomes(passed=1, failed=1, errors=2, skipped=1, xfailed=1)  # run finished
    out = result.stdout.str()
    warnings = [line for line in out.splitlines() if "virtualpy: WARNING" in line]
    assert len(warnings) == 1, out
    assert "127.0.0.1:1" in warnings[0] and "virtualpy results sync" in warnings[0]
    assert "7 records are kept in the spool" in warnings[0]  # the run + 6 tests

    spool = pytester.path / ".virtualpy" / "spool"
    records = [
        json.loads(line) for line in (spool / run_uid / "records.jsonl").read_text().splitlines()
    ]
    tests = [r for r in records if r["type"] == "test"]
    expected = {
        "tests": len(tests),
        "steps": sum(len(t["steps"]) for t in tests),
        "artifacts": sum(len(t["artifacts"]) for t in tests),
    }
    assert expected["tests"] == 6 and expected["artifacts"] >= 4
    backup = pytester.path / "spool-copy"
    shutil.copytree(spool, backup)

    # `sync --results-db` in the project's folder ships the project's spool there
    monkeypatch.chdir(pytester.path)
    sync = ["sync", "--results-db", pg_url, "--s3-endpoint", endpoint]
    assert results_cli(sync) == 0
    assert not (spool / run_uid).exists()  # shipped: the spool folder is gone
    db = open_db(pg_url)

    def counts() -> dict:
        summary = run_summary(db, run_uid)
        return {
            "tests": len(summary["tests"]),
            "steps": summary["counts"]["steps"],
            "artifacts": summary["counts"]["artifacts"],
            "status": summary["run"]["status"],
        }

    assert counts() == {**expected, "status": "failed"}
    uris = [
        r["uri"]
        for r in db.query(
            "SELECT uri FROM artifacts WHERE uri LIKE ?", (f"s3://%/late/{run_uid}/%",)
        )
    ]
    assert len(uris) == expected["artifacts"]
    for u in uris:
        s3.head_object(Bucket="vpy-artifacts", Key=u.removeprefix("s3://vpy-artifacts/"))

    # shipping the same spool again (e.g. a retry after a partial ship) duplicates nothing
    assert results_cli([*sync, "--spool", str(backup)]) == 0
    assert counts() == {**expected, "status": "failed"}
    assert db.scalar("SELECT COUNT(*) FROM runs WHERE run_uid = ?", (run_uid,)) == 1

"""A real device suite against the simulated lab, recorded into SQLite and into Postgres+S3."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlparse

from results_helpers import EXPECTED, OUTCOME_SUITE, SIM_INI, open_db, run_summary

OUTCOMES = {"passed": 1, "failed": 1, "errors": 2, "skipped": 1, "xfailed": 1}


def _check_run(summary: dict, run_uid: str) -> None:
    run, tests = summary["run"], summary["tests"]
    assert run["run_uid"] == run_uid and run["status"] == "failed"
    assert (run["passed"], run["failed"], run["errors"]) == (1, 1, 2)
    assert (run["skipped"], run["xfailed"], run["xpassed"]) == (1, 1, 0)
    assert {name: t["outcome"] for name, t in tests.items()} == EXPECTED
    assert bool(tests["test_lab_error"]["lab_error"]) is True
    assert bool(tests["test_setup_error"]["lab_error"]) is False
    assert "setup boom" in tests["test_setup_error"]["message"]
    assert tests["test_pass"]["device_id"] is not None and tests["test_pass"]["lab_id"] is not None
    assert tests["test_skip"]["device_id"] is None
    assert all(t["duration_ms"] is not None for t in tests.values())
    counts = summary["counts"]
    assert counts["steps"] >= 1 and counts["kpis"] >= 1
    assert counts["artifacts"] >= 4  # screenshot + serial log of the failure and the lab error


def test_records_into_sqlite(pytester, aws_env, monkeypatch):
    run_uid = f"sqlite-{secrets.token_hex(3)}"
    monkeypatch.setenv("VIRTUALPY_RUN_ID", run_uid)
    pytester.makeini(SIM_INI)
    pytester.makepyfile(OUTCOME_SUITE)
    result = pytester.runpytest("--build", "b42", "--run-name", "smoke", "--campaign", "nightly")
    result.assert_outcomes(**OUTCOMES)
    result.stdout.fnmatch_lines([f"virtualpy: run {run_uid} recorded in sqlite://*(6 tests)"])
    db = open_db(str(pytester.path / ".virtualpy" / "results.db"))
    summary = run_summary(db, run_uid)
    _check_run(summary, run_uid)
    run = summary["run"]
    assert (run["build"], run["name"], run["campaign"]) == ("b42", "smoke", "nightly")
    assert run["labs"] == "sim" and run["workers"] == 1
    uris = [r["uri"] for r in db.query("SELECT uri FROM artifacts")]
    assert all(u.startswith("file://") and Path(urlparse(u).path).is_file() for u in uris)
    kinds = {r["kind"] for r in db.query("SELECT kind FROM artifacts")}
    assert {"screenshot", "serial_log"} <= kinds
    assert not (pytester.path / ".virtualpy" / "spool" / run_uid).exists()  # all shipped


def test_records_into_postgres_and_s3(pytester, pg_url, moto_s3, aws_env, monkeypatch):
    endpoint, s3 = moto_s3
    run_uid = f"pg-{secrets.token_hex(3)}"
    monkeypatch.setenv("VIRTUALPY_RUN_ID", run_uid)
    monkeypatch.setenv("VIRTUALPY_S3_ENDPOINT", endpoint)
    monkeypatch.setenv("GITHUB_SHA", "abc123")  # the build comes from CI variables
    pytester.makeini(SIM_INI)
    pytester.makepyfile(OUTCOME_SUITE)
    result = pytester.runpytest(f"--results-db={pg_url}", "--artifacts=s3://vpy-artifacts/ci")
    result.assert_outcomes(**OUTCOMES)
    db = open_db(pg_url)
    summary = run_summary(db, run_uid)
    _check_run(summary, run_uid)
    assert summary["run"]["build"] == "abc123"
    arts = db.query(
        "SELECT a.uri, a.size_bytes FROM artifacts a JOIN test_results t ON "
        "t.id = a.test_result_id JOIN runs r ON r.id = t.run_id WHERE r.run_uid = ?",
        (run_uid,),
    )
    assert arts and all(a["uri"].startswith(f"s3://vpy-artifacts/ci/{run_uid}/") for a in arts)
    for a in arts:  # every recorded object really is in the bucket, with its size
        key = a["uri"].removeprefix("s3://vpy-artifacts/")
        assert s3.head_object(Bucket="vpy-artifacts", Key=key)["ContentLength"] == a["size_bytes"]
    # files were written locally first, in the default folder (not a folder named "s3:")
    assert (pytester.path / ".virtualpy" / "artifacts" / run_uid).is_dir()
    assert not (pytester.path / "s3:").exists()
    steps = db.query(
        "SELECT s.kind, s.ok, s.detail FROM steps s JOIN test_results t ON t.id = s.test_result_id"
        " JOIN runs r ON r.id = t.run_id WHERE r.run_uid = ?",
        (run_uid,),
    )
    assert steps and all(isinstance(s["detail"], dict) for s in steps)  # JSONB in Postgres


def test_results_none_disables_recording(pytester, aws_env):
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--results-db", "none")
    result.assert_outcomes(passed=1)
    assert "recorded in" not in result.stdout.str()
    assert not (pytester.path / ".virtualpy" / "results.db").exists()


def test_bad_results_url_is_a_usage_error(pytester, aws_env):
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--results-db", "mysql://h/db")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*unsupported results database URL 'mysql://h/db'*"])

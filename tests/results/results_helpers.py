"""Shared test data for the results tests: a small device suite with every outcome."""

from __future__ import annotations

from pytest_virtualpy.results.db import Database, parse_url

SIM_INI = "[pytest]\nvirtualpy_sim_boot_secs = 0.5\n"

# pass, fail (with screenshot + serial log), lab error, skip, xfail, setup error
OUTCOME_SUITE = """
import pytest
import pytest_virtualpy.errors


def test_pass(stb, remote, tv_screen):
    for key in ("KEY_MENU", "KEY_HOME", "KEY_MENU", "KEY_HOME"):  # the box may still boot
        if remote.press_and_wait(key, timeout=3, stable_secs=0.2):
            break


def test_fail(tv_screen):
    assert tv_screen.get_frame() is None


def test_lab_error(remote):
    raise pytest_virtualpy.errors.LeaseLost("x")


def test_skip():
    pytest.skip("not today")


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0


@pytest.fixture
def broken():
    raise RuntimeError("setup boom")


def test_setup_error(broken):
    pass
"""

EXPECTED = {
    "test_pass": "passed",
    "test_fail": "failed",
    "test_lab_error": "error",
    "test_skip": "skipped",
    "test_xfail": "xfailed",
    "test_setup_error": "error",
}


def open_db(url: str, base=None) -> Database:
    from pathlib import Path

    return Database.connect(parse_url(url, Path(base or ".")), migrate=False)


def run_summary(db: Database, run_uid: str | None = None) -> dict:
    """The run row, its tests by name and child-row counts."""
    if run_uid is None:
        run = db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1")[0]
    else:
        run = db.query("SELECT * FROM runs WHERE run_uid = ?", (run_uid,))[0]
    tests = db.query("SELECT * FROM test_results WHERE run_id = ? ORDER BY id", (run["id"],))
    ids = [t["id"] for t in tests] or [-1]
    marks = ", ".join("?" * len(ids))
    counts = {
        table: db.scalar(f"SELECT COUNT(*) FROM {table} WHERE test_result_id IN ({marks})", ids)
        for table in ("steps", "kpis", "artifacts")
    }
    return {"run": run, "tests": {t["name"]: t for t in tests}, "counts": counts}

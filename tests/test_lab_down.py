"""A lab that is down, or busy, says so once and clearly (pytester runs, real daemon)."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time

import pytest

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.results.db import Database, parse_url

DEVICE_TESTS = "\n".join(f"def test_{i}(stb):\n    assert stb.name\n" for i in range(5))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _labs(pytester, **labs: str) -> None:
    body = "".join(
        f'[labs.{name}]\naddress = "{address}"\ntoken_env = "{name.upper()}_TOKEN"\n'
        for name, address in labs.items()
    )
    pytester.makefile(".toml", labs=body)
    pytester.makeini("[pytest]\nvirtualpy_sim_boot_secs = 0.5\n")


@pytest.mark.parametrize("fault", ["refused", "bad token", "missing token"])
def test_unreachable_lab_is_one_usage_error_before_any_test(pytester, sim_lab, monkeypatch, fault):
    address = f"127.0.0.1:{_free_port()}" if fault == "refused" else sim_lab.address
    _labs(pytester, down=address)
    if fault != "missing token":
        monkeypatch.setenv("DOWN_TOKEN", "wrong" if fault == "bad token" else sim_lab.token)
    else:
        monkeypatch.delenv("DOWN_TOKEN", raising=False)
    pytester.makepyfile(DEVICE_TESTS)
    result = pytester.runpytest_subprocess("--lab=down", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err, out = result.stderr.str(), result.stdout.str()
    assert err.count("no chosen lab can be reached") == 1, err
    expected = {
        "refused": "cannot reach the lab daemon",
        "bad token": "refused us",
        "missing token": "$DOWN_TOKEN",
    }[fault]
    assert expected in err, err
    assert "Traceback" not in err + out and "passed" not in out and "error" not in out.lower()
    assert "workers" not in out + err  # no xdist warning: none were asked for


def test_one_lab_down_of_two_runs_on_the_other_without_a_worker_warning(
    pytester, sim_lab, monkeypatch
):
    _labs(pytester, up=sim_lab.address, down=f"127.0.0.1:{_free_port()}")
    monkeypatch.setenv("UP_TOKEN", sim_lab.token)
    monkeypatch.setenv("DOWN_TOKEN", "x")
    pytester.makepyfile(DEVICE_TESTS)
    result = pytester.runpytest_subprocess("--lab=up,down", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    out = result.stdout.str()
    assert "up (3 devices)" in out and "down (unreachable" in out
    assert "WARNING" not in out


def test_a_lab_lost_mid_run_is_summarised_once(pytester):
    pytester.makeini("[pytest]\nvirtualpy_sim_boot_secs = 0.5\n")
    pytester.makepyfile("""
        import os, signal

        def test_kills_the_daemon(lab, stb):
            os.kill(lab.local.process.pid, signal.SIGKILL)
            lab.local.process.wait()

        def test_a(tv_screen):
            tv_screen.get_frame()

        def test_b(tv_screen):
            tv_screen.get_frame()

        def test_c(tv_screen):
            tv_screen.get_frame()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=3)
    out = result.stdout.str()
    assert out.count("virtualpy lab errors") == 1, out
    summary = out[out.index("virtualpy lab errors") :]
    counted = [line for line in summary.splitlines() if "errored because of the lab" in line]
    assert len(counted) == 1 and counted[0].startswith("3 test(s)"), summary  # said once
    assert "LabConnectionError" in summary


def test_waiting_for_a_lease_says_who_holds_it_and_is_not_test_time(pytester, sim_lab, monkeypatch):
    _labs(pytester, bench=sim_lab.address)
    monkeypatch.setenv("BENCH_TOKEN", sim_lab.token)
    monkeypatch.setenv("VIRTUALPY_RUN_ID", run_uid := f"wait-{secrets.token_hex(3)}")
    pytester.makepyfile("def test_one(stb):\n    assert stb.name\n")
    db = pytester.path / "r.db"
    hog = LabClient.connect(sim_lab.address, sim_lab.token, client_name="hog")
    leases = [hog.lease(None, "nightly-job-42", 30) for _ in range(3)]  # every device
    cmd = [sys.executable, "-m", "pytest", "--lab=bench", "--lab-lease-wait=60"]
    run = subprocess.Popen(
        [*cmd, f"--results-db={db}", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = []
    try:
        for line in run.stdout:
            out.append(line)
            if "waiting up to" in line:
                time.sleep(3)  # keep it waiting a known while, then free one device
                hog.release(leases[0]["lease_id"])
                break
        out += run.stdout.readlines()
        run.wait(60)
    finally:
        run.kill()
        for lease in leases:
            hog.release(lease["lease_id"])
        hog.close()
    text = "".join(out)
    assert run.returncode == 0, text
    lines = [line for line in out if "waiting up to 60 s for a free device" in line]
    assert len(lines) == 1, text
    assert "on lab bench" in lines[0] and "held by nightly-job-42 since" in lines[0]
    conn = Database.connect(parse_url(str(db), pytester.path), migrate=False)
    row = conn.query(
        "SELECT t.duration_ms, t.lease_wait_ms FROM test_results t JOIN runs r "
        "ON r.id = t.run_id WHERE r.run_uid = ?",
        (run_uid,),
    )[0]
    assert row["lease_wait_ms"] >= 3000  # it waited at least the 3 s we held every device
    assert row["duration_ms"] < row["lease_wait_ms"]  # ... and that is not the test's time

"""``virtualpy monitor`` against a real daemon, into SQLite and into a scratch Postgres.

Each incident is one row of ``alerts`` (its uid unique), with ``ended_at`` once it
ended; polling again, or a monitor killed and started again, adds nothing. A daemon
that stops is said once and recorded as ``unreachable``; a daemon that restarted has
its forgotten open incidents closed, saying so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from monitor_lab import FAST, free_port, serve_lab, wait_for

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.results.db import Database, parse_url

pytestmark = pytest.mark.timeout(180)

#: a starved audio ring reads as silence on a loaded machine: tests about the other
#: incidents turn that watch off
NO_SILENCE = dict(FAST, silence_secs=0)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'alerts.db'}"
    return request.getfixturevalue("pg_factory")()


VIRTUALPY = str(Path(sys.executable).parent / "virtualpy")  # the installed command


def monitor_cmd(*args: str) -> list[str]:
    return [VIRTUALPY, "monitor", *args]


def run_once(served, db_url, *labs: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, VIRTUALPY_LAB_TOKEN=served.token, BENCH_TOKEN=served.token)
    lab_args = [a for lab in (labs or (served.address,)) for a in ("--lab", lab)]
    return subprocess.run(
        monitor_cmd(*lab_args, "--results-db", db_url, "--once"),
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def rows(db_url, tmp_path) -> list[dict]:
    db = Database.connect(parse_url(db_url, tmp_path), migrate=False)
    try:
        return db.query(
            "SELECT a.uid, a.kind, a.message, a.test, a.started_at, a.ended_at, "
            "d.name AS device, l.name AS lab FROM alerts a JOIN labs l ON l.id = a.lab_id "
            "LEFT JOIN devices d ON d.id = a.device_id ORDER BY a.id"
        )
    finally:
        db.close()


def epoch(value) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).timestamp()


def leased(served) -> tuple[LabClient, DeviceClient]:
    client = LabClient.connect(served.address, served.token, client_name="tests")
    dev = DeviceClient(client, client.lease(None, "tests", 60))
    wait_for(lambda: dev.sim_state()["screen"] not in ("boot", "off"), 15, "the boot")
    dev.press("KEY_HOME")
    wait_for(lambda: dev.sim_state()["screen"] == "home", 5, "home")
    dev.press("KEY_OK")  # live TV: moving and with sound, so nothing to report
    wait_for(lambda: dev.sim_state()["screen"] == "live_tv", 5, "live TV")
    return client, dev


def incident(client, kind: str, state: str = "open") -> dict:
    def find():
        reply = client.call("incidents", 0)
        return next((i for i in reply[state] if i["kind"] == kind), None)

    return wait_for(find, 10, f"an {state} {kind!r} incident")


def test_once_writes_each_incident_once_with_its_end(db_url, tmp_path):
    served = serve_lab(tmp_path, "alerts-once", None, NO_SILENCE)
    try:
        client, dev = leased(served)
        dev.sim_inject("freeze", {})
        frozen = incident(client, "frozen")
        first = run_once(served, db_url)
        assert first.returncode == 0, first.stderr
        assert "opened alerts-once/sim-0 frozen: picture unchanged" in first.stdout
        (row,) = rows(db_url, tmp_path)
        assert (row["uid"], row["kind"], row["device"], row["lab"]) == (
            frozen["id"], "frozen", "sim-0", "alerts-once",
        )  # fmt: skip
        assert row["ended_at"] is None
        assert epoch(row["started_at"]) == pytest.approx(frozen["start"], abs=0.01)
        again = run_once(served, db_url)
        assert again.returncode == 0 and again.stdout == "", "nothing new: nothing said"
        assert len(rows(db_url, tmp_path)) == 1
        dev.sim_clear()
        done = incident(client, "frozen", "ended")
        closed = run_once(served, db_url)
        assert "closed alerts-once/sim-0 frozen after" in closed.stdout
        (row,) = rows(db_url, tmp_path)
        assert epoch(row["ended_at"]) == pytest.approx(done["end"], abs=0.01)
        assert run_once(served, db_url).stdout == ""
        assert len(rows(db_url, tmp_path)) == 1
        client.close()
    finally:
        served.stop()
    down = run_once(served, db_url)  # a new monitor, the daemon gone: named as last seen
    assert down.returncode == 1 and "opened alerts-once unreachable" in down.stdout
    outage = rows(db_url, tmp_path)[-1]
    assert (outage["kind"], outage["lab"], outage["device"]) == ("unreachable", "alerts-once", None)


def test_a_looping_monitor_through_an_outage_and_a_daemon_restart(db_url, tmp_path):
    port = free_port()
    served = serve_lab(tmp_path, "alerts-loop", None, NO_SILENCE, port=port)
    (tmp_path / "labs.toml").write_text(
        f'[labs.bench]\naddress = "{served.address}"\ntoken_env = "BENCH_TOKEN"\n'
    )
    env = dict(os.environ, BENCH_TOKEN=served.token)
    log = (tmp_path / "monitor.log").open("w+")
    monitor = subprocess.Popen(
        monitor_cmd("--lab", "bench", "--results-db", db_url, "--interval", "0.3"),
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip

    def said() -> str:
        return (tmp_path / "monitor.log").read_text()

    try:
        client, dev = leased(served)
        dev.sim_inject("black", {})
        black = incident(client, "black")
        wait_for(lambda: "opened alerts-loop/sim-0 black" in said(), 10, "the opened line")
        dev.sim_clear()
        wait_for(lambda: "closed alerts-loop/sim-0 black" in said(), 10, "the closed line")
        dev.sim_inject("freeze", {})
        frozen = incident(client, "frozen")
        wait_for(lambda: "opened alerts-loop/sim-0 frozen" in said(), 10, "the frozen line")
        client.close()
        served.stop()  # the daemon goes away with the freeze open
        wait_for(lambda: "unreachable" in said(), 10, "the outage")
        time.sleep(1.5)  # several polls of a dead daemon
        assert said().count("unreachable") == 1, "an outage is said once"
        served = serve_lab(tmp_path, "alerts-loop", None, NO_SILENCE, port=port, token=served.token)
        wait_for(lambda: "the lab answers again" in said(), 15, "the lab back")
        wait_for(lambda: "(closed: the lab daemon restarted)" in said(), 10, "the restart")
        time.sleep(1.0)
    finally:
        monitor.kill()  # killed, not stopped: a restarted monitor must not duplicate
        monitor.wait(10)
        log.close()
        served.stop()
    by_uid = {r["uid"]: r for r in rows(db_url, tmp_path)}
    assert epoch(by_uid[black["id"]]["ended_at"]) > epoch(by_uid[black["id"]]["started_at"])
    restarted = by_uid[frozen["id"]]
    assert restarted["ended_at"] is not None
    assert restarted["message"].endswith("(closed: the lab daemon restarted)")
    (outage,) = [r for r in by_uid.values() if r["kind"] == "unreachable"]
    assert outage["lab"] == "alerts-loop" and outage["device"] is None
    assert (
        epoch(outage["started_at"]) < epoch(outage["ended_at"]) <= epoch(restarted["ended_at"]) + 1
    )
    kinds = sorted(r["kind"] for r in by_uid.values())
    assert kinds == ["black", "frozen", "unreachable"], kinds
    before = rows(db_url, tmp_path)
    served = serve_lab(tmp_path, "alerts-loop", None, NO_SILENCE, port=port, token=served.token)
    try:
        again = run_once(served, db_url, "bench", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
    finally:
        served.stop()
    after = rows(db_url, tmp_path)
    uids = [r["uid"] for r in after]
    assert len(uids) == len(set(uids)), "no duplicate rows"
    assert [r for r in after if r["uid"] in by_uid] == before, (
        "rows already written stay as they are"
    )
    # (a new row can only be the new daemon's own: its boot may already be an incident)


def test_an_unreachable_lab_is_said_and_recorded(tmp_path):
    url = f"sqlite://{tmp_path / 'down.db'}"
    address = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, VIRTUALPY_LAB_TOKEN="t")
    args = monitor_cmd("--lab", address, "--results-db", url, "--once")
    for _ in range(2):
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert f"opened {address} unreachable: cannot reach the lab daemon" in done.stdout
    (row,) = rows(url, tmp_path)  # the second run found it open: no second row
    assert row["kind"] == "unreachable" and row["ended_at"] is None


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--lab", "nowhere"], "unknown lab 'nowhere'"),
        (["--lab", "127.0.0.1:1", "--interval", "0"], "--interval must be"),
        (["--lab", "127.0.0.1:1", "--results-db", "mysql://x"], "unsupported results database"),
    ],
)
def test_bad_usage_is_explained(tmp_path, args, says):
    env = dict(os.environ, VIRTUALPY_LAB_TOKEN="t")
    done = subprocess.run(
        monitor_cmd(*args, "--once"), env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2 and says in done.stderr, done.stderr


def test_a_missing_token_is_explained(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VIRTUALPY_LAB_TOKEN"}
    done = subprocess.run(
        monitor_cmd("--lab", "127.0.0.1:1", "--once"),
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2 and "VIRTUALPY_LAB_TOKEN" in done.stderr

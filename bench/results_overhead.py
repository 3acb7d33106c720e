"""Per-test cost of recording results: SQLite, and Postgres + S3 uploads, versus results off.

    .venv/bin/python bench/results_overhead.py --tests 40 --rounds 6

Generates a suite of quick tests on the simulated lab (``--lab=sim``, the default). Every
test uses the ``tv_screen`` fixture and stores one screenshot (``tv_screen.screenshot``);
every tenth test fails (so reports carry long representations and the plugin adds its
failure evidence: the last frame and the serial log) and every tenth is skipped after its
screenshot. The suite runs in pytest subprocesses in three configurations:

* ``off``: ``--results-db none`` (artifacts are still written to the local folder);
* ``sqlite``: ``--results-db TMP/bench.db`` (a fresh file);
* ``postgres+s3``: ``--results-db postgresql://...`` (a scratch database) and
  ``--artifacts s3://BUCKET/runs`` on a moto_server, so the shipper uploads every artifact.

Each run is timed as the wall clock of the whole pytest process, so the session-end drain
(the bounded wait for the shipper to write rows and upload files; its bound
``virtualpy_results_drain_secs`` is raised far above what a run needs) is part of the
figure. The configurations are interleaved round by round, in a rotating order, so machine
noise hits all of them alike. Per round, the per-test cost is the slope of the wall time
between two suite sizes (N and 5 N tests), set against 'off' of the same round (added ms,
ratio); the fixed cost per session is what is left at N. The figures are medians over the
rounds.

After every run (outside the timing) the script checks that the work really happened: the
pytest exit code and summary counts; the local artifact files (one ``shot.png`` per test);
for the recording configurations the run row, one test row per test with the right
outcome, one artifact row per local file (``file://`` URIs for SQLite, ``s3://`` URIs for
Postgres) and an emptied spool; and for S3 that ``list_objects_v2`` shows exactly the
objects the database names. Any mismatch stops the script with exit code 1.

Needs Postgres on 127.0.0.1:5432 (trust auth, user postgres, database ``test``; a scratch
database is created and dropped) and moto[server] in the virtualenv. Goal: <= 5 ms added
per test.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from results_checks import BUCKET, S3_PREFIX, BenchError, RunChecker, Verified

from pytest_virtualpy.results.tables import render

PG_HOST = "postgresql://postgres@127.0.0.1:5432"
PG_ADMIN = f"{PG_HOST}/test"
DRAIN_SECS = 300  # the bound is not what is measured: a run must ship everything
RUN_TIMEOUT = 600
CONFIGS = ("off", "sqlite", "postgres+s3")
NOISY_MS = 10.0  # spread of the per-round 'added' beyond which the figures are flagged


def _suite(n: int) -> str:
    lines = ["import pytest\n"]
    for i in range(n):
        if i % 10 == 9:
            body = f'    tv_screen.screenshot("shot")\n    assert {i} == -1\n'
            lines.append(f"def test_fail_{i}(tv_screen):\n{body}")
        elif i % 10 == 8:
            body = '    tv_screen.screenshot("shot")\n    pytest.skip("bench")\n'
            lines.append(f"def test_skip_{i}(tv_screen):\n{body}")
        else:
            body = f'    tv_screen.screenshot("shot")\n    assert {i} >= 0\n'
            lines.append(f"def test_ok_{i}(tv_screen):\n{body}")
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Bench:
    """Runs the suites and keeps what the checks verified, per configuration."""

    checker: RunChecker
    env: dict[str, str]
    verified: dict[str, Verified] = field(default_factory=lambda: {c: Verified() for c in CONFIGS})
    seq: int = 0

    @property
    def root(self) -> Path:
        return self.checker.root

    def args(self, config: str) -> list[str]:
        # "--opt=value" in one word: pytest takes a separate value that names an existing
        # path (bench.db after the first run) into its rootdir choice
        if config == "off":
            return ["--results-db=none"]
        if config == "sqlite":
            return [f"--results-db={self.root / 'bench.db'}"]  # one file for both sizes
        return [f"--results-db={self.checker.pg_url}", f"--artifacts=s3://{BUCKET}/{S3_PREFIX}"]

    def run(self, config: str, n: int) -> float:
        """One timed pytest run of the N-test suite, then the checks; returns its wall time."""
        self.seq += 1
        run_uid = f"bench-{self.seq:04d}-{config.replace('+', '-')}-{n}"
        workdir = self.root / str(n)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir=."]
        cmd += self.args(config)
        env = dict(self.env, VIRTUALPY_RUN_ID=run_uid)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
            )
        except subprocess.TimeoutExpired as e:
            raise BenchError(
                f"{config}, {n} tests: pytest did not finish in {RUN_TIMEOUT} s"
            ) from e
        wall = time.perf_counter() - t0
        try:
            self.verified[config].add(self.checker.check(config, n, run_uid, proc))
        except BenchError as e:
            kept = Path(tempfile.gettempdir()) / f"vpy-results-bench-{run_uid}.log"
            kept.write_text(f"$ {shlex.join(cmd)}\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
            out = (proc.stdout[-3000:] + "\n" + proc.stderr[-2000:]).strip()
            raise BenchError(
                f"{config}, {n} tests (run {run_uid}): {e}\n"
                f"command: (cd {workdir} && VIRTUALPY_RUN_ID={run_uid} {shlex.join(cmd)})\n"
                f"full pytest output kept in {kept}\n--- pytest output (tail) ---\n{out}"
            ) from None
        return wall


def _wait_for_moto(s3: Any, moto: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if moto.poll() is not None:
            raise BenchError(f"moto_server exited with {moto.returncode}:\n{log.read_text()}")
        try:
            s3.create_bucket(Bucket=BUCKET)
            return
        except Exception as e:
            if time.monotonic() > deadline:
                raise BenchError(f"moto_server did not answer within 30 s: {e}") from None
            time.sleep(0.1)


def _measure(bench: Bench, sizes: tuple[int, int], rounds: int) -> dict[tuple[str, int], list]:
    times: dict[tuple[str, int], list[float]] = {}
    for config in CONFIGS:  # warm-up (imports, migrations, first connections); checked, not timed
        bench.run(config, sizes[0])
    for r in range(rounds):
        order = CONFIGS[r % len(CONFIGS) :] + CONFIGS[: r % len(CONFIGS)]
        for n in sizes if r % 2 == 0 else sizes[::-1]:
            for config in order:
                times.setdefault((config, n), []).append(bench.run(config, n))
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    return times


def _report(bench: Bench, sizes: tuple[int, int], rounds: int, times: dict) -> None:
    small, large = sizes
    med = {k: statistics.median(v) for k, v in times.items()}

    def slope(config: str, i: int) -> float:  # seconds per test in round i
        return (times[(config, large)][i] - times[(config, small)][i]) / (large - small)

    print(
        f"suites of {small} and {large} tests (each stores one screenshot; every tenth fails "
        f"and adds failure evidence), {rounds} interleaved rounds after a warm-up.\n"
        "Wall time of the whole pytest process, session-end drain included (rows written, "
        "artifacts uploaded). Per round: per-test cost = slope between the two sizes, "
        "compared with 'off' of the same round; the table shows medians over the rounds "
        "(and the range of 'added')."
    )
    headers = [
        "configuration",
        f"{small} tests ms",
        f"{large} tests ms",
        "per test ms",
        "added vs off ms",
        "added range ms",
        "ratio vs off",
        "fixed/session ms",
    ]
    rows = []
    worst = 0.0
    noisy = []
    for config in CONFIGS:
        slopes = [slope(config, i) for i in range(rounds)]
        added = [(slope(config, i) - slope("off", i)) * 1000 for i in range(rounds)]
        ratio = [
            slope(config, i) / slope("off", i) if slope("off", i) > 0 else float("nan")
            for i in range(rounds)
        ]
        fixed = [times[(config, small)][i] - small * slopes[i] for i in range(rounds)]
        if config != "off":
            worst = max(worst, statistics.median(added))
            if max(added) - min(added) > NOISY_MS:
                noisy.append(config)
        rows.append(
            [
                config,
                f"{med[(config, small)] * 1000:.0f}",
                f"{med[(config, large)] * 1000:.0f}",
                f"{statistics.median(slopes) * 1000:.2f}",
                "-" if config == "off" else f"{statistics.median(added):+.2f}",
                "-" if config == "off" else f"{min(added):+.1f}..{max(added):+.1f}",
                f"{statistics.median(ratio):.2f}",
                f"{statistics.median(fixed) * 1000:.0f}",
            ]
        )
    print(render(headers, rows))
    print()
    print("verified after every run (warm-up included), summed per configuration:")
    vrows = []
    for config in CONFIGS:
        v = bench.verified[config]
        vrows.append(
            [
                config,
                v.runs,
                v.files,
                v.test_rows if config != "off" else "-",
                v.artifact_rows if config != "off" else "-",
                v.s3_objects if config == "postgres+s3" else "-",
            ]
        )
    print(
        render(
            ["configuration", "runs", "local files", "test rows", "artifact rows", "S3 objects"],
            vrows,
        )
    )
    print()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end {load} on {os.cpu_count()} CPUs")
    if noisy:
        print(
            f"WARNING: noisy: 'added' varies by more than {NOISY_MS:g} ms per test between "
            f"rounds for {', '.join(noisy)}; rerun on a quiet machine or with more --rounds"
        )
    print(
        f"goal <= 5 ms added per test: {'met' if worst <= 5 else 'NOT met'} (worst {worst:.2f} ms)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    ap.add_argument("--tests", type=int, default=40, help="the small suite (the large is 5x)")
    ap.add_argument("--rounds", type=int, default=6)
    opts = ap.parse_args()
    if opts.tests < 10 or opts.rounds < 1:
        ap.error("--tests must be >= 10 and --rounds >= 1")
    sizes = (opts.tests, opts.tests * 5)
    sys.stdout.reconfigure(line_buffering=True)  # progress goes to stderr in between

    import boto3
    import psycopg

    moto_bin = Path(sys.executable).parent / "moto_server"
    if not moto_bin.exists():
        print(f"error: {moto_bin} not found (pip install 'moto[server]')", file=sys.stderr)
        return 1
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        print(f"error: cannot connect to Postgres at {PG_ADMIN}: {e}", file=sys.stderr)
        return 1

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the start {load} on {os.cpu_count()} CPUs")
    dbname = f"vpy_bench_{secrets.token_hex(4)}"
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="vpy-results-bench-") as tmp:
        root = Path(tmp)
        moto_log = root / "moto.log"
        with moto_log.open("w") as log:
            moto = subprocess.Popen(
                [str(moto_bin), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
            )
        bench = None
        admin.execute(f'CREATE DATABASE "{dbname}"')
        try:
            creds = {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("VIRTUALPY_", "AWS_", "PYTEST_"))
            }
            env.update(
                creds,
                VIRTUALPY_S3_ENDPOINT=endpoint,
                XDG_CACHE_HOME=str(root / "cache"),  # a failed run must not note its spool
                PYTHONDONTWRITEBYTECODE="1",
            )
            s3 = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )
            _wait_for_moto(s3, moto, moto_log)
            for n in sizes:
                (root / str(n)).mkdir()
                (root / str(n) / "test_bench.py").write_text(_suite(n))
                (root / str(n) / "pytest.ini").write_text(
                    f"[pytest]\nvirtualpy_results_drain_secs = {DRAIN_SECS}\n"
                )
            bench = Bench(RunChecker(root, f"{PG_HOST}/{dbname}", s3), env)
            times = _measure(bench, sizes, opts.rounds)
            _report(bench, sizes, opts.rounds, times)
        except BenchError as e:
            print(f"FAILED: {e}", file=sys.stderr)
            return 1
        finally:
            if bench is not None:
                bench.checker.close()
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.close()
            moto.terminate()
            try:
                moto.wait(10)
            except subprocess.TimeoutExpired:
                moto.kill()
                moto.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

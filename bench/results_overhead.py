"""Per-test cost of the results hooks: Postgres + S3 (moto) and SQLite versus results off.

Generates a suite of quick tests (plain tests plus failing ones, so reports carry long
representations), runs it in subprocesses with ``--results-db none``, SQLite, and
Postgres + ``--artifacts s3://`` (moto_server), interleaving the configurations round by
round so machine noise hits all of them alike, and prints the median wall time and the
added time per test. Goal: <= 5 ms added per test.

    .venv/bin/python bench/results_overhead.py [--tests 50] [--rounds 7]

Needs Postgres on 127.0.0.1:5432 (trust auth, user postgres) and moto[server].
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def _suite(n: int) -> str:
    lines = ["import pytest\n"]
    for i in range(n):
        if i % 10 == 9:
            lines.append(f"def test_fail_{i}():\n    assert {i} == -1\n")
        elif i % 10 == 8:
            lines.append(f"def test_skip_{i}():\n    pytest.skip('bench')\n")
        else:
            lines.append(f"def test_ok_{i}():\n    assert {i} >= 0\n")
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(workdir: Path, args: list[str], env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, check=False)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=7)
    opts = ap.parse_args()

    import boto3
    import psycopg

    port = _free_port()
    moto = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    dbname = f"vpy_bench_{secrets.token_hex(3)}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            VIRTUALPY_S3_ENDPOINT=endpoint,
            PYTHONDONTWRITEBYTECODE="1",
        )
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        for _ in range(100):
            try:
                s3.create_bucket(Bucket="vpy-bench")
                break
            except Exception:
                time.sleep(0.1)
        configs = {
            "off": ["--results-db", "none"],
            "sqlite": ["--results-db", "bench.db"],
            "postgres+s3": [
                "--results-db",
                f"postgresql://postgres@127.0.0.1:5432/{dbname}",
                "--artifacts",
                "s3://vpy-bench/runs",
            ],
        }
        small, large = opts.tests, opts.tests * 5
        times: dict[tuple[str, int], list[float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for n in (small, large):
                (root / str(n)).mkdir()
                (root / str(n) / "test_bench.py").write_text(_suite(n))
                (root / str(n) / "pytest.ini").write_text("[pytest]\n")
                _run(root / str(n), configs["sqlite"], env)  # warm-up: imports, migrations
                _run(root / str(n), configs["postgres+s3"], env)
            for _ in range(opts.rounds):
                for n in (small, large):
                    for name, args in configs.items():
                        times.setdefault((name, n), []).append(_run(root / str(n), args, env))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"command: {sys.executable} {' '.join(sys.argv)}")
        print(
            f"suites of {small} and {large} tests, {opts.rounds} interleaved rounds "
            "(median wall per run; per-test cost = slope between the two sizes)"
        )
        base_slope = (med[("off", large)] - med[("off", small)]) / (large - small)
        worst = 0.0
        for name in configs:
            slope = (med[(name, large)] - med[(name, small)]) / (large - small)
            fixed = med[(name, small)] - small * slope
            added = (slope - base_slope) * 1000
            worst = max(worst, added)
            print(
                f"  {name:<12} {small}: {med[(name, small)] * 1000:7.0f} ms  "
                f"{large}: {med[(name, large)] * 1000:7.0f} ms  per test {slope * 1000:5.2f} ms "
                f"(added {added:+5.2f} ms, ratio {slope / base_slope:4.2f})  "
                f"fixed per session {fixed * 1000:6.0f} ms"
            )
        print(f"goal <= 5 ms added per test: {'met' if worst <= 5 else 'NOT met'} ({worst:.2f} ms)")
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()
        moto.terminate()
        moto.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

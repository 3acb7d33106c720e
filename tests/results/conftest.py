"""Real services for the results tests: scratch Postgres databases and a moto S3 server."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BUCKET = "vpy-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_factory():
    """Creates scratch Postgres databases (autocommit CREATE DATABASE); drops them at the end."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        pytest.skip(f"no Postgres at {PG_ADMIN}: {e}")
    created: list[str] = []

    def create() -> str:
        name = f"vpy_results_{os.getpid()}_{secrets.token_hex(3)}"
        admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql://postgres@127.0.0.1:5432/{name}"

    yield create
    for name in created:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def pg_url(pg_factory) -> str:
    """One scratch database for this test session (tests tell their runs apart by run id)."""
    return pg_factory()


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """A real S3 HTTP endpoint: moto_server on a free port, with one bucket."""
    boto3 = pytest.importorskip("boto3")
    exe = Path(sys.executable).parent / "moto_server"
    if not exe.exists():
        pytest.skip("moto[server] is not installed")
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    proc = subprocess.Popen([str(exe), "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            client.create_bucket(Bucket=BUCKET)
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    yield endpoint, client
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture
def aws_env(monkeypatch):
    """Credentials for boto3 (moto accepts any); no endpoint from the host's environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "VIRTUALPY_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name in ("VIRTUALPY_RESULTS_DB", "VIRTUALPY_ARTIFACTS", "VIRTUALPY_RUN_ID"):
        monkeypatch.delenv(name, raising=False)

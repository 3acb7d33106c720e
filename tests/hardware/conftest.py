"""Fixtures for the hardware-driver tests: real protocol peers started per test."""

from __future__ import annotations

import os
import shutil

import pytest
from lircd_peer import LIRCD, Lircd


@pytest.fixture
def lircd(tmp_path):
    if LIRCD is None and not os.environ.get("CI"):
        pytest.skip("lircd is not installed: apt-get install lirc")
    daemon = Lircd(tmp_path)
    daemon.start()
    yield daemon
    daemon.stop()
    shutil.rmtree(daemon.sockdir, ignore_errors=True)


@pytest.fixture
def served_lab(pytester, tmp_path, monkeypatch):
    """Serve a lab.toml with the real daemon (``python -m lab_daemon serve``) and write the
    pytester project's labs.toml naming it ``bench``; ``serve(lab_toml, **env)`` returns
    the daemon's address. The daemon is stopped at the end."""
    import json
    import secrets
    import subprocess
    import sys
    import time

    daemons: list[subprocess.Popen] = []

    def serve(lab_toml, **env_extra: str) -> str:
        token = secrets.token_urlsafe(16)
        ready = tmp_path / f"ready-{len(daemons)}.json"
        env = dict(os.environ, VIRTUALPY_LAB_TOKEN=token, **env_extra)
        # a free port (and so a free live-page port): daemons of parallel tests never clash
        serve_cmd = [sys.executable, "-m", "lab_daemon", "serve", "--config", str(lab_toml)]
        serve_cmd += ["--port", "0"]
        daemon = subprocess.Popen(
            [*serve_cmd, "--ready-file", str(ready)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        daemons.append(daemon)
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert daemon.poll() is None, daemon.communicate()[0]
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.1)
        address = json.loads(ready.read_text())["address"]
        pytester.makefile(
            ".toml", labs=f'[labs.bench]\naddress = "{address}"\ntoken_env = "BENCH_TOKEN"\n'
        )
        monkeypatch.setenv("BENCH_TOKEN", token)
        return address

    serve.processes = daemons  # the daemons started, oldest first
    yield serve
    for daemon in daemons:
        daemon.terminate()
        daemon.wait(20)


@pytest.fixture(scope="session")
def tone_mp4(tmp_path_factory):
    """The tone media of ``tone_media.py``: black, then white with a 1 kHz tone, then black."""
    from tests.hardware.tone_media import FFMPEG, make_tone_mp4

    if FFMPEG is None and not os.environ.get("CI"):
        pytest.skip("needs the ffmpeg binary: apt-get install -y ffmpeg")
    return make_tone_mp4(tmp_path_factory.mktemp("media") / "tone.mp4")

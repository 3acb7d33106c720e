"""A real lab daemon with monitoring thresholds small enough for tests and benchmarks.

``serve_lab(folder, name, devices=...)`` writes a lab.toml (simulated boxes by default,
recording and live view off so the watchdogs are all that runs beside capture) and
starts ``python -m lab_daemon serve`` on it; the returned :class:`Served` knows the
address, the token and how to stop it. Used by tests/test_monitor.py, the alerts tests,
tests/grafana_seed.py and bench/monitor.py.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

#: [lab.monitor] for tests: every kind within a second or two
FAST = {
    "interval_secs": 0.2,
    "black_secs": 1.0,
    "freeze_secs": 1.5,
    "nosignal_secs": 0.6,
    "stall_secs": 1.5,
    "silence_secs": 1.0,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sim_devices(count: int, prefix: str = "sim", fps: int = 10) -> str:
    """``[[devices]]`` tables of ``count`` simulated boxes."""
    return "".join(
        f'[[devices]]\nname = "{prefix}-{i}"\nkind = "sim"\nfps = {fps}\nboot_secs = 0.5\n\n'
        for i in range(count)
    )


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def lab_toml(name: str, devices: str, monitor: dict | None = None, port: int = 0) -> str:
    monitor = FAST if monitor is None else monitor
    lines = [f'[lab]\nname = "{name}"\nport = {port}\n']
    lines.append("[lab.recording]\nenabled = false\n[lab.live]\nenabled = false\n")
    lines.append("[lab.monitor]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in monitor.items()))
    return "\n".join(lines) + "\n" + devices


@dataclass
class Served:
    """A running daemon."""

    name: str
    address: str
    token: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def serve_lab(
    folder: Path,
    name: str,
    devices: str | None = None,
    monitor: dict | None = None,
    port: int = 0,
    token: str | None = None,
) -> Served:
    """Write ``folder/NAME.toml`` and serve it; returns once the daemon listens."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f"{name}-{secrets.token_hex(2)}.toml"
    config.write_text(lab_toml(name, sim_devices(1) if devices is None else devices, monitor, port))
    ready = config.with_suffix(".ready.json")
    log = config.with_suffix(".log")
    token = token or secrets.token_urlsafe(16)
    env = dict(os.environ, VIRTUALPY_LAB_TOKEN=token)
    cmd = [sys.executable, "-m", "lab_daemon", "serve", "--config", str(config)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "--ready-file", str(ready)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited:\n{log.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the daemon did not start:\n{log.read_text()}")
        time.sleep(0.1)
    address = json.loads(ready.read_text())["address"]
    return Served(name, address, token, proc, log)


def wait_for(predicate, timeout: float = 10.0, what: str = "the condition"):
    """Poll ``predicate`` until it returns something truthy; fail the test naming ``what``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} not seen within {timeout} s")

"""Start and stop a local simulated lab daemon for one test run.

``--lab=sim`` (the default) runs ``virtualpy-lab sim`` as a child process with a
fresh random token, one device per xdist worker, on a free loopback port. The
child is the real daemon, reached over real RPyC: nothing is short-circuited.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_virtualpy.errors import LabConnectionError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient

START_TIMEOUT_SECS = 60.0


@dataclass
class LocalLab:
    """A running local daemon."""

    address: str
    token: str
    devices: list[str]
    process: subprocess.Popen
    log_path: Path

    def lease(self, owner: str, ttl_secs: float = 120.0) -> DeviceClient:
        """Connect and lease a free device: for scripts (benchmarks, reference capture)."""
        client = LabClient.connect(self.address, self.token, client_name=owner)
        return DeviceClient(client, client.lease(None, owner, ttl_secs))

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_sim_lab(
    devices: int,
    *,
    fps: float = 60.0,
    resolution: str = "720p",
    boot_secs: float = 3.0,
    seed: int = 0,
    name: str = "sim",
    workdir: Path | None = None,
) -> LocalLab:
    """Start ``virtualpy-lab sim`` and wait until it listens.

    Its devices are called ``NAME-0``, ``NAME-1``...; give each test process its
    own ``name`` so that results from xdist workers name distinct devices.
    """
    workdir = Path(workdir or tempfile.mkdtemp(prefix="virtualpy-lab-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / f"ready-{os.getpid()}-{secrets.token_hex(4)}.json"
    log_path = ready.with_suffix(".log")
    token = secrets.token_urlsafe(32)
    env = dict(os.environ, VIRTUALPY_LAB_TOKEN=token)
    cmd = [
        sys.executable,
        "-m",
        "lab_daemon",
        "sim",
        "--devices",
        str(devices),
        "--port",
        "0",
        "--fps",
        str(fps),
        "--resolution",
        resolution,
        "--boot-secs",
        str(boot_secs),
        "--seed",
        str(seed),
        "--name",
        name,
        "--ready-file",
        str(ready),
        "--exit-with-parent",  # a test run killed with SIGKILL leaves no daemon behind
        str(os.getpid()),
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_SECS
    while not ready.exists():
        if proc.poll() is not None:
            raise LabConnectionError(
                f"the simulated lab daemon exited with code {proc.returncode} while starting:\n"
                + log_path.read_text(errors="replace")[-2000:]
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise LabConnectionError(
                f"the simulated lab daemon did not start within {START_TIMEOUT_SECS:.0f} s; "
                f"its log is {log_path}"
            )
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    return LocalLab(info["address"], token, info["devices"], proc, log_path)

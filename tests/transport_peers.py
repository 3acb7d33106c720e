"""Real peers for the transport tests: daemons under a descriptor limit, raw sockets, a fake daemon.

Nothing here is a mock: daemons are ``virtualpy-lab`` subprocesses, clients are real
sockets, and the fake daemon is a real listening socket speaking the handshake's
first line.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_virtualpy.lab.client import CLIENT_CONFIG, parse_address

PROJECT = Path(__file__).resolve().parents[1]


@dataclass
class Daemon:
    """A ``virtualpy-lab`` child process and what it printed."""

    address: str
    token: str
    process: subprocess.Popen
    log_path: Path

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_address(self.address)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def peak_rss_kib(self) -> int:
        """The daemon's peak resident memory so far (VmHWM), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_daemon(
    workdir: Path,
    args: list[str],
    *,
    prefix: tuple[str, ...] = (),
    token: str | None = None,
    wait: bool = True,
) -> Daemon:
    """Run ``[prefix...] python -m lab_daemon ARGS --ready-file ...``; wait until it listens."""
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / f"ready-{secrets.token_hex(4)}.json"
    log_path = ready.with_suffix(".log")
    token = token or secrets.token_urlsafe(32)
    env = dict(os.environ, VIRTUALPY_LAB_TOKEN=token, PYTHONUNBUFFERED="1")
    cmd = [*prefix, sys.executable, "-m", "lab_daemon", *args, "--ready-file", str(ready), "-v"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    daemon = Daemon("", token, proc, log_path)
    if not wait:
        return daemon
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited {proc.returncode}:\n{daemon.log()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"daemon did not start:\n{daemon.log()[-3000:]}")
        time.sleep(0.05)
    daemon.address = json.loads(ready.read_text())["address"]
    return daemon


def sim_args(*extra: str) -> list[str]:
    """A one-box simulated lab that spends little CPU."""
    return ["sim", "--devices", "1", "--port", "0", "--fps", "10", "--boot-secs", "0.5", *extra]


def raw_socket(daemon: Daemon, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    """A TCP connection to the daemon from ``source`` (any 127.x.y.z is this host)."""
    sock = socket.create_connection(daemon.host_port, timeout=timeout, source_address=(source, 0))
    return sock


def read_until_closed(sock: socket.socket, within: float) -> tuple[bytes, float | None]:
    """Everything the peer sends until it closes: ``(data, seconds until closed or None)``."""
    start = time.monotonic()
    data = b""
    while time.monotonic() - start < within:
        sock.settimeout(max(0.05, within - (time.monotonic() - start)))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        except ConnectionResetError:
            return data, time.monotonic() - start
        if not chunk:
            return data, time.monotonic() - start
        data += chunk
    return data, None


def rpyc_connection(sock: socket.socket):
    """RPyC over an already-authenticated socket (rpyc's own stock channel)."""
    import rpyc
    from rpyc.core.stream import SocketStream

    return rpyc.utils.factory.connect_stream(SocketStream(sock), config=CLIENT_CONFIG)


class FakeDaemon:
    """A listening socket that greets each client with ``greeting``, then says ``verdict``.

    ``greeting`` and ``verdict`` are callables given the lines received so far, so a test
    can replay lines recorded from the real daemon.
    """

    def __init__(self, greeting: bytes, verdict: bytes):
        self._srv = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._srv.getsockname()[1]}"
        self.greeting, self.verdict = greeting, verdict
        self.received: list[bytes] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                conn.sendall(self.greeting)
                try:
                    self.received.append(conn.recv(4096))
                    conn.sendall(self.verdict)
                    time.sleep(0.5)
                except OSError:
                    pass

    def close(self) -> None:
        self._srv.close()

"""The daemon's transport holds against a hostile network peer (issue #10, part 3).

Each test is a reproduction: it failed on the code before this change (572a16e) and
passes now. Daemons are real subprocesses; attackers are real sockets.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib

import pytest

from lab_daemon.auth_token import check_token_strength, load_or_create_token, token_bits
from lab_daemon.host import LabHost
from lab_daemon.server import ServeLoopFailed, make_server
from pytest_virtualpy.errors import AuthenticationError, ConfigError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.handshake import (
    PROTOCOL,
    DaemonBusy,
    Deadline,
    client_handshake,
    proof,
)
from tests.transport_peers import (
    FakeDaemon,
    raw_socket,
    read_until_closed,
    rpyc_connection,
    sim_args,
    start_daemon,
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    daemon = start_daemon(tmp_path_factory.mktemp("transport"), sim_args())
    yield daemon
    daemon.stop()


# --- 1. accept: descriptor exhaustion ------------------------------------------------------


def test_running_out_of_descriptors_does_not_stop_the_daemon(tmp_path):
    """Before: accept() hit EMFILE, rpyc raised EOFError and the daemon exited with 0."""
    daemon = start_daemon(tmp_path, sim_args(), prefix=("prlimit", "--nofile=64:64"))
    clients: list[socket.socket] = []
    try:
        for _ in range(80):  # each authenticated connection holds one of its 64 descriptors
            sock = raw_socket(daemon)
            try:
                client_handshake(sock, daemon.token, "hog", Deadline(2.0))
            except Exception:
                sock.close()
                break
            clients.append(sock)
        else:
            pytest.fail("80 connections fitted under a limit of 64 descriptors")
        time.sleep(1.5)  # the daemon keeps failing accept() meanwhile
        assert daemon.process.poll() is None, daemon.log()[-2000:]
        for sock in clients:
            sock.close()
        clients.clear()
        with LabClient.connect(daemon.address, daemon.token, timeout=10) as client:
            assert client.health()["lab"] == "sim"
        assert daemon.process.poll() is None
        assert "Too many open files" in daemon.log()
    finally:
        for sock in clients:
            sock.close()
        daemon.stop()


def test_a_broken_listener_is_a_failure_not_a_clean_exit():
    """Before: any accept() error ended start() quietly, so the daemon exited 0."""
    server = make_server(LabHost("broken", []), "token", "127.0.0.1", 0)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            server.start()
            outcome.append(None)
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.3)
    server.listener.close()  # the listener breaks while the server is still active
    thread.join(10)
    assert outcome and isinstance(outcome[0], ServeLoopFailed)


# --- 2. handshake: one deadline, caps, failures -----------------------------------------------


def test_a_trickling_client_is_cut_at_one_deadline(lab):
    """Before: every byte got its own 5 s, so a byte every 4 s held a thread ~20 minutes."""
    sock = raw_socket(lab)
    sock.recv(256)  # the banner
    start = time.monotonic()
    closed_after = None
    with sock:
        for _ in range(12):  # one byte a second, never a newline
            try:
                sock.sendall(b"a")
                sock.settimeout(1.0)
                if sock.recv(256) == b"":
                    closed_after = time.monotonic() - start
                    break
            except TimeoutError:
                continue
            except OSError:
                closed_after = time.monotonic() - start
                break
    assert closed_after is not None and closed_after < 8.0


def test_connections_in_the_handshake_are_capped_per_address(lab):
    """Before: any number of silent connections each held a thread and a descriptor."""
    idle = [raw_socket(lab, "127.0.0.5") for _ in range(8)]
    try:
        for sock in idle:
            assert sock.recv(256).startswith(PROTOCOL)
        extra = raw_socket(lab, "127.0.0.5")
        data, closed_after = read_until_closed(extra, within=2.0)
        extra.close()
        assert data.startswith(b"BUSY") and closed_after is not None
        other = raw_socket(lab, "127.0.0.6")  # another address still gets in
        assert other.recv(256).startswith(PROTOCOL)
        other.close()
    finally:
        for sock in idle:
            sock.close()


def test_connections_in_the_handshake_are_capped_in_total(lab):
    idle = [raw_socket(lab, f"127.0.1.{i // 8 + 1}") for i in range(32)]
    try:
        for sock in idle:
            assert sock.recv(256).startswith(PROTOCOL)
        extra = raw_socket(lab, "127.0.1.9")
        data, _ = read_until_closed(extra, within=2.0)
        extra.close()
        assert data.startswith(b"BUSY")
    finally:
        for sock in idle:
            sock.close()


def test_a_real_client_waits_out_a_flood_of_idle_connections(lab):
    """The cap turns the flood away, and a real client retries until it gets in."""
    idle = [raw_socket(lab) for _ in range(8)]
    try:
        start = time.monotonic()
        with LabClient.connect(lab.address, lab.token, timeout=10) as client:
            assert client.health()["lab"] == "sim"
        assert time.monotonic() - start < 9.0
    finally:
        for sock in idle:
            sock.close()


def test_failed_authentications_pause_the_address_and_are_logged(lab):
    """Before: a client could guess tokens as fast as the daemon answered, unlogged."""
    for _ in range(5):
        sock = raw_socket(lab, "127.0.0.7")
        with sock, pytest.raises(Exception, match="bad token"):
            client_handshake(sock, "a-wrong-guess", "guesser")
    sock = raw_socket(lab, "127.0.0.7")
    with sock, pytest.raises(DaemonBusy, match="too many failed authentications"):
        client_handshake(sock, lab.token, "guesser")  # even the right token, for now
    sock = raw_socket(lab, "127.0.0.8")  # other addresses are not affected
    with sock:
        client_handshake(sock, lab.token, "neighbour")
    deadline = time.monotonic() + 15  # the pause is a few seconds, not for good
    while True:
        with raw_socket(lab, "127.0.0.7") as sock:
            try:
                client_handshake(sock, lab.token, "back")
                break
            except DaemonBusy:
                assert time.monotonic() < deadline, "127.0.0.7 stayed paused"
        time.sleep(0.5)
    log = lab.log()
    assert "failed authentication from 127.0.0.7" in log
    assert "pausing 127.0.0.7" in log


# --- 3. mutual proof ------------------------------------------------------------------------


def test_client_refuses_a_daemon_that_cannot_prove_the_token(lab):
    """Before: the client sent its proof and took any "OK": a fake daemon got every call."""
    with raw_socket(lab) as sock:  # record a real exchange (we know the token here) ...
        banner = sock.recv(256)
        daemon_nonce, mine = banner.split()[1], b"c" * 32
        sock.sendall(proof(lab.token, "client", daemon_nonce, mine) + b" " + mine + b"\n")
        verdict = sock.recv(256)
    assert verdict.startswith(b"OK ")
    for replayed in (verdict, b"OK\n"):  # ... and replay them to a client
        fake = FakeDaemon(banner, replayed)
        try:
            with pytest.raises(AuthenticationError, match="could not prove it knows the token"):
                LabClient.connect(fake.address, lab.token, timeout=3)
        finally:
            fake.close()


def test_daemon_proves_the_token_to_a_real_client(lab):
    with LabClient.connect(lab.address, lab.token) as client:
        assert client.hello()["lab"] == "sim"


# --- 5. tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("bind", ["0.0.0.0", "10.1.2.3", "::"])
def test_weak_tokens_are_refused_beyond_loopback(bind):
    """Before: a 1-character token was accepted on a network bind."""
    for weak in ("x", "0" * 31, "a" * 21):
        with pytest.raises(ConfigError, match="at least 128.*32 hex or 22 URL-safe"):
            check_token_strength(weak, bind)
    for strong in ("0123456789abcdef" * 2, "Z" * 22, "x" * 43, "#" * 20):
        check_token_strength(strong, bind)
    assert round(token_bits("f" * 32)) == 128


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_short_tokens_stay_allowed_on_loopback(bind):
    check_token_strength("token", bind)


def test_the_daemon_will_not_start_on_the_network_with_a_short_token(tmp_path):
    daemon = start_daemon(tmp_path, sim_args("--bind", "0.0.0.0"), token="short", wait=False)
    assert daemon.process.wait(60) == 2
    assert "refusing to listen on 0.0.0.0" in daemon.log()
    assert "at least 128" in daemon.log()


def test_a_symlinked_token_file_is_refused(tmp_path, monkeypatch):
    """Before: the token file was opened following symlinks (another user could aim it)."""
    monkeypatch.delenv("VIRTUALPY_LAB_TOKEN", raising=False)
    real = tmp_path / "real-token"
    real.write_text("s3cret-token-value\n")
    real.chmod(0o600)
    link = tmp_path / "lab-token"
    link.symlink_to(real)
    with pytest.raises(ConfigError, match="symbolic link.*set token_file to"):
        load_or_create_token(link)
    assert real.read_text() == "s3cret-token-value\n" and link.is_symlink()
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="symbolic link"):
        load_or_create_token(dangling)
    assert not (tmp_path / "nowhere").exists()  # nothing was created through the link


def test_an_existing_token_file_is_read_and_never_rewritten(tmp_path, monkeypatch):
    monkeypatch.delenv("VIRTUALPY_LAB_TOKEN", raising=False)
    path = tmp_path / "lab-token"
    path.write_text("kept-token\n")
    path.chmod(0o600)
    assert load_or_create_token(path)[0] == "kept-token"
    assert path.read_text() == "kept-token\n"
    path.chmod(0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_token(path)


# --- 6. RPyC message caps ------------------------------------------------------------------


def _authenticated(lab) -> socket.socket:
    sock = raw_socket(lab)
    client_handshake(sock, lab.token, "bomber")
    return sock


def test_a_zlib_bomb_frame_is_refused_before_it_inflates(lab):
    """Before: a 2 MB compressed frame was inflated whole (to ~2 GB) in the daemon."""
    bomb = zlib.compress(b"\0" * (2 << 30), 9)[: 2 << 20]  # 2 MB on the wire, ~2 GB inflated
    before = lab.peak_rss_kib()
    sock = _authenticated(lab)
    with sock:
        sock.sendall(struct.pack("!LB", len(bomb), 1) + bomb + b"\n")
        _, closed_after = read_until_closed(sock, within=20.0)
    assert closed_after is not None  # the daemon hung up on it
    grew_mib = (lab.peak_rss_kib() - before) / 1024
    assert grew_mib < 200, f"peak RSS grew by {grew_mib:.0f} MiB"
    assert lab.process.poll() is None
    with LabClient.connect(lab.address, lab.token) as client:
        assert client.health()["lab"] == "sim"
    assert "inflating past" in lab.log()


def test_an_oversized_frame_is_refused_from_its_header(lab):
    """Before: the daemon kept reading whatever length the header declared (up to 4 GB)."""
    sock = _authenticated(lab)
    with sock:
        sock.sendall(struct.pack("!LB", 1 << 30, 0) + b"x" * 1000)
        _, closed_after = read_until_closed(sock, within=5.0)
    assert closed_after is not None and closed_after < 3.0
    conn = rpyc_connection(_authenticated(lab))  # others are served as before
    try:
        assert '"lab": "sim"' in conn.root.health()
    finally:
        conn.close()
    assert "limit 16777216" in lab.log()

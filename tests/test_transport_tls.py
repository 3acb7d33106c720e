"""TLS with client certificates between client and daemon (issue #10, part 3).

Certificates come from ``virtualpy-lab certs``; the daemon is ``virtualpy-lab serve``
with ``[lab.tls]``; clients read ``tls = {...}`` from a labs.toml. Before this change
there was no TLS at all: a passive observer read every lease id, key and frame.
"""

from __future__ import annotations

import socket
import ssl
import stat
import subprocess
import sys
import threading

import pytest

from lab_daemon.config import load_config
from pytest_virtualpy.errors import AuthenticationError, ConfigError, LabConnectionError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.inventory import load_inventory
from pytest_virtualpy.lab.tls import TlsFiles
from pytest_virtualpy.lab.transport import BoundedChannel, PendingAwareStream
from tests.transport_peers import raw_socket, read_until_closed, start_daemon

LAB_TOML = """
[lab]
name = "tls-lab"

[lab.tls]
cert = "certs/server.pem"
key = "certs/server.key"
ca = "certs/ca.pem"

[[devices]]
name = "box"
kind = "sim"
fps = 10
boot_secs = 0.5
"""


def certs(out, host: str, clients: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab_daemon",
            "certs",
            "--out",
            str(out),
            "--host",
            host,
            "--client",
            clients,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def tls_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls")
    printed = certs(root / "certs", "localhost", "ci")
    (root / "lab.toml").write_text(LAB_TOML)
    (root / "labs.toml").write_text(
        '[labs.secure]\naddress = "localhost:1"\n'
        'tls = { ca = "certs/ca.pem", cert = "certs/client-ci.pem", key = "certs/client-ci.key" }\n'
    )
    daemon = start_daemon(root, ["serve", "--config", str(root / "lab.toml"), "--port", "0"])
    daemon.root, daemon.printed = root, printed
    daemon.port = daemon.host_port[1]
    daemon.tls = load_inventory(root / "labs.toml")["secure"].tls
    yield daemon
    daemon.stop()


def test_certs_makes_private_keys_and_prints_the_lines_to_paste(tls_lab):
    folder = tls_lab.root / "certs"
    names = {p.name for p in folder.iterdir()}
    assert {
        "ca.pem",
        "ca.key",
        "server.pem",
        "server.key",
        "client-ci.pem",
        "client-ci.key",
    } <= names
    for key in folder.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert "[lab.tls]" in tls_lab.printed and "tls = { ca = " in tls_lab.printed
    assert "client-ci.pem" in tls_lab.printed


def test_a_client_with_its_certificate_and_the_token_is_served(tls_lab):
    with LabClient.connect(f"localhost:{tls_lab.port}", tls_lab.token, tls=tls_lab.tls) as c:
        for _ in range(200):  # many small replies: bytes buffered inside TLS must be seen
            assert c.hello()["lab"] == "tls-lab"
        assert c.list_devices()[0]["name"] == "box"


def test_a_client_without_a_certificate_gets_nothing(tls_lab):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(tls_lab.tls.ca)
    sock = socket.create_connection(("localhost", tls_lab.port), timeout=5)
    received = b""
    with (
        pytest.raises((ssl.SSLError, ConnectionError, OSError)),
        ctx.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        received = tls.recv(256)  # TLS 1.3 sends the refusal after the handshake
        if not received:
            raise ConnectionError("closed")
    assert b"VIRTUALPY" not in received


def test_a_plain_tcp_client_gets_no_banner_and_is_cut_at_the_deadline(tls_lab):
    with raw_socket(tls_lab) as sock:
        data, closed_after = read_until_closed(sock, within=9.0)
    assert b"VIRTUALPY" not in data
    assert closed_after is not None and closed_after < 8.0


def test_the_client_checks_the_daemon_certificate_names_the_host(tls_lab):
    """The certificate names localhost only: dialling 127.0.0.1 must not be trusted."""
    with pytest.raises(AuthenticationError, match="certificate we do not trust.*127.0.0.1"):
        LabClient.connect(f"127.0.0.1:{tls_lab.port}", tls_lab.token, tls=tls_lab.tls)


def test_a_certificate_from_another_ca_is_refused(tls_lab, tmp_path):
    certs(tmp_path / "other", "localhost", "intruder")
    other = TlsFiles(
        tls_lab.tls.ca,
        str(tmp_path / "other/client-intruder.pem"),
        str(tmp_path / "other/client-intruder.key"),
    )
    with (
        pytest.raises(AuthenticationError, match="rejected our TLS client certificate"),
        LabClient.connect(f"localhost:{tls_lab.port}", tls_lab.token, tls=other) as c,
    ):
        c.hello()


def test_a_tls_client_turned_away_busy_waits_its_turn(tls_lab):
    """The daemon says BUSY in plain text before TLS; the client must retry, not give up."""
    silent = [socket.create_connection(("localhost", tls_lab.port)) for _ in range(8)]
    try:
        with LabClient.connect(
            f"localhost:{tls_lab.port}", tls_lab.token, tls=tls_lab.tls, timeout=15
        ) as c:
            assert c.hello()["lab"] == "tls-lab"
    finally:
        for sock in silent:
            sock.close()


def test_tls_files_for_a_daemon_without_tls_are_said_at_once(tls_lab, sim_lab):
    port = sim_lab.address.rpartition(":")[2]
    with pytest.raises(LabConnectionError, match="does not use TLS"):
        LabClient.connect(f"localhost:{port}", sim_lab.token, tls=tls_lab.tls)


def test_the_token_is_still_required_inside_tls(tls_lab):
    with pytest.raises(AuthenticationError, match="refused us.*bad token"):
        LabClient.connect(f"localhost:{tls_lab.port}", "not-the-token", tls=tls_lab.tls)


def test_missing_tls_files_are_a_clear_config_error(tmp_path):
    (tmp_path / "lab.toml").write_text(LAB_TOML)
    with pytest.raises(
        ConfigError, match=r"\[lab.tls\]: tls ca = .*ca.pem does not exist.*virtualpy-lab certs"
    ):
        load_config(tmp_path / "lab.toml")
    (tmp_path / "labs.toml").write_text(
        '[labs.x]\naddress = "h:1"\ntls = { ca = "ca.pem", cert = "c.pem" }\n'
    )
    with pytest.raises(ConfigError, match=r"\[labs.x\]: tls needs.*missing: key"):
        load_inventory(tmp_path / "labs.toml")


def test_poll_sees_bytes_buffered_inside_tls(tls_lab):
    """Two RPyC frames in one TLS record: after reading the first, poll must see the second."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    folder = tls_lab.root / "certs"
    server_ctx.load_cert_chain(folder / "server.pem", folder / "server.key")
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(folder / "ca.pem")
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            frame = BoundedChannel.FRAME_HEADER.pack(3, 0) + b"abc\n"
            tls.sendall(frame + frame)  # one write: one TLS record
            tls.recv(1)

    threading.Thread(target=serve, daemon=True).start()
    sock = socket.create_connection(listener.getsockname(), timeout=5)
    with client_ctx.wrap_socket(sock, server_hostname="localhost") as tls:
        channel = BoundedChannel(PendingAwareStream(tls))
        assert channel.recv() == b"abc"
        assert channel.poll(1.0), "the second frame sits in the SSL buffer, unseen"
        assert channel.recv() == b"abc"
    listener.close()

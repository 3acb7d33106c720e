"""The daemon's network surface: authentication first, service methods only."""

from __future__ import annotations

import socket
import threading

import pytest
import rpyc
from rpyc.core.stream import SocketStream

from lab_daemon.service import PROTOCOL_VERSION
from pytest_virtualpy.errors import AuthenticationError, LabConnectionError
from pytest_virtualpy.lab.client import CLIENT_CONFIG, LabClient, parse_address
from pytest_virtualpy.lab.handshake import SERVICE_VERSION, client_handshake


def test_wrong_token_is_refused(sim_lab):
    with pytest.raises(AuthenticationError, match="refused us.*token"):
        LabClient.connect(sim_lab.address, "not-the-token")


def test_missing_token_is_refused(sim_lab):
    with pytest.raises(AuthenticationError):
        LabClient.connect(sim_lab.address, "")


def test_right_token_is_accepted(connect):
    assert connect().hello()["protocol"] == PROTOCOL_VERSION


def test_plain_rpyc_client_gets_nothing(sim_lab):
    """A client that skips the handshake is cut off before RPyC starts."""
    host, port = parse_address(sim_lab.address)
    with pytest.raises((EOFError, ConnectionError, OSError)):
        conn = rpyc.connect(host, port, config={"sync_request_timeout": 10})
        conn.root.hello()


def test_classic_mode_client_gets_nothing(sim_lab):
    host, port = parse_address(sim_lab.address)
    with pytest.raises((EOFError, ConnectionError, OSError)):
        conn = rpyc.classic.connect(host, port)
        conn.modules.os.getcwd()


def _authenticated_raw_connection(sim_lab) -> rpyc.Connection:
    host, port = parse_address(sim_lab.address)
    sock = socket.create_connection((host, port), timeout=5)
    client_handshake(sock, sim_lab.token, "attacker")
    return rpyc.utils.factory.connect_stream(SocketStream(sock), config=CLIENT_CONFIG)


def test_authenticated_client_cannot_use_classic_features(sim_lab):
    conn = _authenticated_raw_connection(sim_lab)
    try:
        with pytest.raises(Exception, match="getmodule|has no attribute"):
            conn.root.getmodule("os")
        with pytest.raises(Exception):  # noqa: B017 - any refusal is fine, success is not
            conn.modules.os.getcwd()
        with pytest.raises(AttributeError):
            conn.root.host  # noqa: B018 - internal attributes are not reachable
        with pytest.raises(AttributeError):
            conn.root._rt  # noqa: B018
        assert f'"protocol": {PROTOCOL_VERSION}' in conn.root.hello()  # exposed methods still work
    finally:
        conn.close()


def test_non_plain_arguments_are_rejected(sim_lab):
    """A dict would travel as a remote reference: the daemon refuses it."""
    conn = _authenticated_raw_connection(sim_lab)
    try:
        reply = conn.root.lease({"device": "x"}, "me", 10)
        assert "plain values only" in reply and "BadArgument" in reply
    finally:
        conn.close()


def test_unreachable_daemon_says_how_to_fix():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LabConnectionError, match="cannot reach the lab daemon.*Is it running"):
        LabClient.connect(f"127.0.0.1:{port}", "x", timeout=2)


def _greeting_daemon(banner: bytes) -> socket.socket:
    """A listener that greets one client with ``banner`` and reads its answer."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def greet():
        c, _ = srv.accept()
        c.sendall(banner)
        c.recv(100)
        c.close()

    threading.Thread(target=greet, daemon=True).start()
    return srv


def test_a_daemon_of_another_version_is_refused_saying_so():
    older = SERVICE_VERSION - 1
    with _greeting_daemon(b"VIRTUALPY-LAB/%d 0123abcd\n" % older) as srv:
        address = f"127.0.0.1:{srv.getsockname()[1]}"
        with pytest.raises(AuthenticationError) as e:
            LabClient.connect(address, "x", timeout=2)
    assert (
        f"speaks VIRTUALPY-LAB/{older} but this client speaks VIRTUALPY-LAB/{SERVICE_VERSION}"
        in (str(e.value))
    )
    assert "same virtualpy version on both ends" in str(e.value)


def test_not_a_daemon_is_reported(tmp_path):
    srv = _greeting_daemon(b"SSH-2.0-OpenSSH\n")
    with srv, pytest.raises(AuthenticationError, match="not a virtualpy lab daemon"):
        LabClient.connect(f"127.0.0.1:{srv.getsockname()[1]}", "x", timeout=2)

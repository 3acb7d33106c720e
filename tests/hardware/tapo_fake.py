"""A local Tapo smart plug: an HTTP server speaking TP-Link's KLAP protocol, for driver tests.

No Tapo emulator exists, so this is the peer the real PyPI ``tapo`` client (and python-kasa)
talks to in tests. It implements what a P110 on current firmware does, with the real crypto:

* ``POST /`` (the client's probe for the older "securePassthrough" protocol): 404, which
  makes the client use KLAP.
* ``POST /app/handshake1``: the body is the client's 16-byte ``local_seed``; the reply is a
  fresh 16-byte ``remote_seed`` and the proof ``sha256(local_seed + remote_seed + auth_hash)``,
  where ``auth_hash = sha256(sha1(username) + sha1(password))`` of the account the plug is
  bound to, with a ``TP_SESSIONID`` cookie. The plug never says "wrong password": a client
  with other credentials finds the proof does not match its own, as with a real plug.
* ``POST /app/handshake2``: the body must be ``sha256(remote_seed + local_seed + auth_hash)``,
  or the answer is 403.
* ``POST /app/request?seq=N``: a 32-byte signature ``sha256(sig + seq + ciphertext)`` then
  AES-128-CBC (PKCS7) JSON, with the key, IV and signature key derived from the seeds. The
  reply is encrypted the same way with the same ``seq``. An unknown session is a 403.

The plug keeps its on/off state across :meth:`TapoFake.stop` / :meth:`TapoFake.start` (as a
relay does across a Wi-Fi outage) but forgets its sessions, and records every request.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def auth_hash(username: str, password: str) -> bytes:
    """KLAP v2's account hash: ``sha256(sha1(username) + sha1(password))``."""
    sha1 = hashlib.sha1
    return _sha256(sha1(username.encode()).digest() + sha1(password.encode()).digest())


class KlapSession:
    """The key, IV and signature key one handshake derives; encrypts and decrypts by seq."""

    def __init__(self, local_seed: bytes, remote_seed: bytes, user_hash: bytes):
        self.local_seed, self.remote_seed = local_seed, remote_seed
        seeds = local_seed + remote_seed + user_hash
        self.key = _sha256(b"lsk" + seeds)[:16]
        full_iv = _sha256(b"iv" + seeds)
        self.iv, self.first_seq = full_iv[:12], int.from_bytes(full_iv[-4:], "big", signed=True)
        self.sig = _sha256(b"ldk" + seeds)[:28]
        self.established = False

    def _cipher(self, seq: int) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.iv + struct.pack(">i", seq)))

    def encrypt(self, plain: bytes, seq: int) -> bytes:
        padder = padding.PKCS7(128).padder()
        enc = self._cipher(seq).encryptor()
        body = enc.update(padder.update(plain) + padder.finalize()) + enc.finalize()
        return _sha256(self.sig + struct.pack(">i", seq) + body) + body

    def decrypt(self, data: bytes, seq: int) -> bytes:
        """The plaintext, or ValueError when the signature or the padding is wrong."""
        signature, body = data[:32], data[32:]
        if _sha256(self.sig + struct.pack(">i", seq) + body) != signature:
            raise ValueError("bad signature")
        dec = self._cipher(seq).decryptor()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(dec.update(body) + dec.finalize()) + unpadder.finalize()


class TapoFake:
    """A KLAP smart plug on ``127.0.0.1``; ``host`` is ``"127.0.0.1:PORT"``.

    ``device_on`` is the relay; ``requests`` lists ``(path, method)`` of everything posted
    (``method`` is the JSON method of a ``/app/request``, else None); ``stall_secs`` makes
    every answer wait that long (a plug that stopped answering).
    """

    def __init__(self, username: str, password: str, *, model: str = "P110", on: bool = False):
        self.username, self.password, self.model = username, password, model
        self.nickname = "TV plug"
        self.device_on = on
        self.stall_secs = 0.0
        self.requests: list[tuple[str, str | None]] = []
        self.port = 0
        self._sessions: dict[str, KlapSession] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def methods(self) -> list[str]:
        """The JSON methods received so far, in order."""
        with self._lock:
            return [m for _, m in self.requests if m]

    def start(self) -> TapoFake:
        """Listen (on the same port again after :meth:`stop`)."""
        fake = self

        class Handler(_Handler):
            plug = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go off the network: stop listening, cut open connections, forget the sessions."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for conn in list(self._conns):
                with contextlib.suppress(OSError):  # already closed by the client
                    conn.shutdown(socket.SHUT_RDWR)
            self._conns.clear()
            self._sessions.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    # --- the protocol ---------------------------------------------------------------------

    def _handshake1(self, local_seed: bytes) -> tuple[bytes, str]:
        remote_seed = secrets.token_bytes(16)
        user_hash = auth_hash(self.username, self.password)
        session_id = secrets.token_hex(16).upper()
        with self._lock:
            self._sessions[session_id] = KlapSession(local_seed, remote_seed, user_hash)
        return remote_seed + _sha256(local_seed + remote_seed + user_hash), session_id

    def _handshake2(self, session_id: str, proof: bytes) -> int:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            return 403
        user_hash = auth_hash(self.username, self.password)
        if proof != _sha256(session.remote_seed + session.local_seed + user_hash):
            with self._lock:
                self._sessions.pop(session_id, None)
            return 403
        session.established = True
        return 200

    def _answer(self, request: dict) -> dict:
        method, params = request.get("method"), request.get("params") or {}
        if method == "get_device_info":
            return {"error_code": 0, "result": self._device_info()}
        if method == "set_device_info":
            with self._lock:
                if "device_on" in params:
                    self.device_on = bool(params["device_on"])
                if "nickname" in params:
                    self.nickname = base64.b64decode(params["nickname"]).decode()
            return {"error_code": 0}  # no "result": the tapo client insists
        if method == "component_nego":
            names = ["device", "firmware", "quick_setup", "time", "device_local_time", "schedule"]
            names += ["countdown", "antitheft", "account", "synchronize", "sunrise_sunset"]
            names += ["led", "cloud_connect", "iot_cloud", "device_load", "energy_monitoring"]
            components = [{"id": n, "ver_code": 1} for n in names]
            return {"error_code": 0, "result": {"component_list": components}}
        return {"error_code": -1002}  # what a plug says to a method it does not know

    def _device_info(self) -> dict:
        b64 = base64.b64encode
        return {
            "device_id": "80223B5A1F0D2C3E4F5061728394A5B6C7D8E9F0",
            "fw_ver": "1.3.1 Build 240621 Rel.162048",
            "hw_ver": "1.0",
            "type": "SMART.TAPOPLUG",
            "model": self.model,
            "mac": "3C-52-A1-00-00-01",
            "hw_id": "0123456789ABCDEF0123456789ABCDEF",
            "fw_id": "00000000000000000000000000000000",
            "oem_id": "FEDCBA9876543210FEDCBA9876543210",
            "ip": "127.0.0.1",
            "time_diff": 60,
            "ssid": b64(b"lab-wifi").decode(),
            "rssi": -45,
            "signal_level": 3,
            "auto_off_status": "off",
            "auto_off_remain_time": 0,
            "latitude": 0,
            "longitude": 0,
            "lang": "en_US",
            "avatar": "plug",
            "region": "Europe/London",
            "specs": "",
            "nickname": b64(self.nickname.encode()).decode(),
            "has_set_location_info": False,
            "device_on": self.device_on,
            "on_time": 120 if self.device_on else 0,
            "default_states": {"type": "last_states", "state": {}},
            "overheat_status": "normal",
            "power_protection_status": "normal",
            "overcurrent_status": "normal",
            "charging_status": "normal",
        }


class _Handler(BaseHTTPRequestHandler):
    """One connection to the plug; keeps it open (HTTP/1.1) like the plug's web server."""

    plug: TapoFake
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.plug._lock:
            self.plug._conns.add(self.connection)

    def finish(self) -> None:
        with self.plug._lock:
            self.plug._conns.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args) -> None:  # quiet
        pass

    def _reply(self, status: int, body: bytes = b"", cookie: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the client gave up (a stalled answer) or the plug went down
            self.close_connection = True

    def _session_id(self) -> str:
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "TP_SESSIONID":
                return value
        return ""

    def do_POST(self) -> None:
        plug = self.plug
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        if plug.stall_secs:
            time.sleep(plug.stall_secs)
        method = None
        try:
            if url.path == "/app/handshake1" and len(body) == 16:
                answer, session_id = plug._handshake1(body)
                self._reply(200, answer, f"TP_SESSIONID={session_id};TIMEOUT=86400")
            elif url.path == "/app/handshake2":
                self._reply(plug._handshake2(self._session_id(), body))
            elif url.path == "/app/request":
                with plug._lock:
                    session = plug._sessions.get(self._session_id())
                if session is None or not session.established:
                    self._reply(403)
                    return
                seq = int(parse_qs(url.query).get("seq", ["0"])[0])
                try:
                    request = json.loads(session.decrypt(body, seq))
                except ValueError:
                    self._reply(400)
                    return
                method = request.get("method")
                answer = json.dumps(plug._answer(request)).encode()
                self._reply(200, session.encrypt(answer, seq))
            else:
                self._reply(404)
        finally:
            with plug._lock:
                plug.requests.append((url.path, method))

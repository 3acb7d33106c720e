"""The device end of ADB (what adbd is on an Android box), small enough for tests.

It speaks the ADB transport protocol over TCP, as ``adb connect HOST:PORT`` expects:
24-byte messages (CNXN, OPEN, OKAY, WRTE, CLSE), no authentication (the real adb server
accepts a device that answers its CNXN with its own), one stream per OPEN, each WRTE
waiting for the server's OKAY (adb's flow control before ``delayed_ack``). Services:
``shell:`` (output only, no pty), ``shell,v2[,...]:`` (stdout/stderr/exit packets) and
``exec:`` (raw stdout). The "shell" understands a handful of commands, joined by ``;``:
``getprop [NAME]``, ``input keyevent [--longpress|--duration MS] CODE...`` (recorded in
:attr:`FakeAdbd.keyevents`), ``screencap [-p]`` (raw RGBA with a 16-byte header, or PNG, of
:attr:`FakeAdbd.screen`), ``wm size``, ``echo``, ``true``, ``false``, ``exit N``,
``sleep SECS``, ``head -c N /dev/zero``, one leading ``( ... )`` subshell; anything else
is "not found" with status 127.

``stop()`` drops every connection and the listening socket (the device died or left the
network); ``start()`` listens again on the same port.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import struct
import threading
import time

import cv2
import numpy as np

A_CNXN, A_OPEN, A_OKAY = 0x4E584E43, 0x4E45504F, 0x59414B4F
A_CLSE, A_WRTE, A_AUTH = 0x45534C43, 0x45545257, 0x48545541
A_VERSION = 0x01000001
MAX_PAYLOAD = 256 * 1024
FEATURES = "shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir,apex,abb,abb_exec"
_HEADER = struct.Struct("<6I")


def message(cmd: int, arg0: int, arg1: int, data: bytes = b"") -> bytes:
    # A_VERSION 0x01000001 and later skip the data checksum; send it anyway, as adbd does
    checksum = sum(data) & 0xFFFFFFFF
    return _HEADER.pack(cmd, arg0, arg1, len(data), checksum, cmd ^ 0xFFFFFFFF) + data


def raw_screencap(bgr: np.ndarray) -> bytes:
    """What ``screencap`` (no ``-p``) writes on Android 9+: w, h, format 1, colour space."""
    h, w = bgr.shape[:2]
    rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)
    return struct.pack("<4I", w, h, 1, 0) + rgba.tobytes()


class _Stream:
    def __init__(self, local: int, remote: int):
        self.local, self.remote = local, remote
        self.acked = threading.Event()
        self.closed = threading.Event()


class _Connection:
    """One TCP connection from the adb server: the reader loop and the streams on it."""

    def __init__(self, fake: FakeAdbd, sock: socket.socket):
        self.fake, self.sock = fake, sock
        self.lock = threading.Lock()
        self.streams: dict[int, _Stream] = {}
        self.maxdata = MAX_PAYLOAD
        self.next_id = 1

    def send(self, cmd: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        with self.lock:
            self.sock.sendall(message(cmd, arg0, arg1, data))

    def _read(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the adb server hung up")
            buf += chunk
        return bytes(buf)

    def run(self) -> None:
        try:
            while True:
                cmd, arg0, arg1, length, _, _ = _HEADER.unpack(self._read(24))
                data = self._read(length) if length else b""
                self._handle(cmd, arg0, arg1, data)
        except (OSError, ConnectionError):
            pass
        finally:
            for s in list(self.streams.values()):
                s.closed.set()
                s.acked.set()
            with contextlib.suppress(OSError):
                self.sock.close()

    def _handle(self, cmd: int, arg0: int, arg1: int, data: bytes) -> None:
        if cmd == A_CNXN:
            self.maxdata = min(MAX_PAYLOAD, arg1 or MAX_PAYLOAD)
            f = self.fake
            banner = (
                f"device::ro.product.name={f.product};ro.product.model={f.model};"
                f"ro.product.device={f.product};features={f.features}"
            )
            self.send(A_CNXN, A_VERSION, MAX_PAYLOAD, banner.encode())
        elif cmd == A_OPEN:
            service = data.rstrip(b"\0").decode("utf-8", "replace")
            local, self.next_id = self.next_id, self.next_id + 1
            stream = _Stream(local, arg0)
            self.streams[local] = stream
            self.send(A_OKAY, local, arg0)
            threading.Thread(target=self._serve, args=(stream, service), daemon=True).start()
        elif cmd == A_OKAY:
            s = self.streams.get(arg1)
            if s is not None:
                s.acked.set()
        elif cmd == A_WRTE:  # stdin (shell v2 close-stdin, ...): take it and say so
            s = self.streams.get(arg1)
            if s is not None:
                self.send(A_OKAY, s.local, s.remote)
        elif cmd == A_CLSE:
            s = self.streams.pop(arg1, None)
            if s is not None:
                s.closed.set()
                s.acked.set()

    def _write(self, stream: _Stream, data: bytes) -> bool:
        view = memoryview(data)
        for i in range(0, len(data), self.maxdata):
            if stream.closed.is_set():
                return False
            stream.acked.clear()
            self.send(A_WRTE, stream.local, stream.remote, bytes(view[i : i + self.maxdata]))
            if not stream.acked.wait(10) or stream.closed.is_set():
                return False
        return True

    def _serve(self, stream: _Stream, service: str) -> None:
        try:
            kind, _, command = service.partition(":")
            name, *args = kind.split(",")
            if name not in ("shell", "exec"):
                return
            self.fake.services.append(service)
            status, out, err = self.fake.run(command, stream.closed)
            if name == "shell" and "v2" in args:
                body = bytearray()
                for sid, data in ((1, out), (2, err)):
                    for i in range(0, len(data), 65536):
                        body += struct.pack("<BI", sid, len(data[i : i + 65536]))
                        body += data[i : i + 65536]
                body += struct.pack("<BIB", 3, 1, status & 0xFF)
                self._write(stream, bytes(body))
            else:
                self._write(stream, out + (err if name == "shell" else b""))
        except OSError:
            pass
        finally:
            self.streams.pop(stream.local, None)
            with contextlib.suppress(OSError):
                self.send(A_CLSE, stream.local, stream.remote)


class FakeAdbd:
    """A fake Android device reachable with ``adb connect 127.0.0.1:PORT``."""

    def __init__(
        self, screen: np.ndarray, model: str = "VPY-ANDROID-1", port: int = 0, features=FEATURES
    ):
        self.model = model
        self.features = features  # without shell_v2: an Android 6 box
        self.product = "vpy_tv"
        self.port = port
        self.props = {"ro.product.model": model, "ro.build.version.release": "12"}
        self.keyevents: list[tuple[str, ...]] = []  # the arguments of each `input keyevent`
        self.services: list[str] = []  # every service opened, in order
        self.screen = screen
        self._listener: socket.socket | None = None
        self._conns: list[_Connection] = []
        self._lock = threading.Lock()

    @property
    def screen(self) -> np.ndarray:
        return self._screen

    @screen.setter
    def screen(self, bgr: np.ndarray) -> None:
        self._screen = bgr
        self._raw = raw_screencap(bgr)
        self._png = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()

    @property
    def serial(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FakeAdbd:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(4)
        self.port = s.getsockname()[1]
        self._listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Drop off the network: close the listener and every connection."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.sock.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, sock)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=conn.run, daemon=True).start()

    # --- the "shell" -----------------------------------------------------------------------

    def run(self, command: str, cancel: threading.Event) -> tuple[int, bytes, bytes]:
        status, out, err = 0, bytearray(), bytearray()
        if command.startswith("(") and ")" in command:  # a subshell: `exit` ends only it
            inner, _, command = command[1:].rpartition(")")
            status, out, err = self.run(inner, cancel)
            out, err = bytearray(out), bytearray(err)
        for part in command.split(";"):
            part = part.replace("$?", str(status)).strip()
            if not part:
                continue
            status, o, e = self._one(shlex.split(part), cancel)
            out += o
            err += e
            if part.startswith("exit"):
                break
        return status, bytes(out), bytes(err)

    def _one(self, argv: list[str], cancel: threading.Event) -> tuple[int, bytes, bytes]:
        cmd, args = argv[0], argv[1:]
        if cmd == "getprop":
            if args:
                return 0, (self.props.get(args[0], "") + "\n").encode(), b""
            return 0, "".join(f"[{k}]: [{v}]\n" for k, v in self.props.items()).encode(), b""
        if cmd == "input" and args[:1] == ["keyevent"]:
            self.keyevents.append(tuple(args[1:]))
            return 0, b"", b""
        if cmd == "screencap":
            return 0, self._png if "-p" in args else self._raw, b""
        if cmd == "wm" and args == ["size"]:
            h, w = self._screen.shape[:2]
            return 0, f"Physical size: {w}x{h}\n".encode(), b""
        if cmd == "echo":
            return 0, (" ".join(args) + "\n").encode(), b""
        if cmd in ("true", "false"):
            return int(cmd == "false"), b"", b""
        if cmd == "exit":
            return int(args[0]) if args else 0, b"", b""
        if cmd == "sleep":
            cancel.wait(float(args[0]))
            return 0, b"", b""
        if cmd == "head" and args[:1] == ["-c"] and args[2:] == ["/dev/zero"]:
            return 0, bytes(int(args[1])), b""
        return 127, b"", f"/system/bin/sh: {cmd}: inaccessible or not found\n".encode()


def wait_until(predicate, timeout: float, what: str, step: float = 0.05):
    """Poll ``predicate`` until it returns something true; AssertionError after ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(step)

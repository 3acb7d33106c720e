"""The live page's HTTP server: its own port, GET only, every route behind a signed link.

Routes (each needs ``exp`` and ``sig`` from :mod:`pytest_virtualpy.lab.live_link`):

* ``/`` the page; ``/status.json`` devices, leases and running tests;
* ``/snapshot/NAME.jpg?size=tile|full&after=SEQ`` the newest picture once newer than
  ``SEQ`` (204 if none comes within a couple of seconds);
* ``/stream/NAME.mjpg?size=tile|full`` the pictures as an MJPEG stream
  (``multipart/x-mixed-replace``) for a player or an ``<img>``.

Anything unsigned, wrongly signed or expired gets 401. Viewers beyond ``max_viewers``
get 503. Requests are small by construction (no bodies are read, URLs are bounded) and
connections are capped, so a flood costs threads only up to that cap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from lab_daemon.host import LabHost
from lab_daemon.live import page
from lab_daemon.live.producer import SIZES, Producers
from lab_daemon.live.settings import LiveSettings
from lab_daemon.live.viewers import Viewer, ViewerTable, valid_viewer_id
from pytest_virtualpy.errors import DeviceUnavailable
from pytest_virtualpy.lab import live_link

log = logging.getLogger(__name__)

MAX_URL = 2048  # characters of a request target
MAX_CONNECTIONS = 64  # open connections at once (each is a thread)
SOCKET_TIMEOUT_SECS = 15.0  # a viewer that takes nothing this long is dropped
SNAPSHOT_WAIT_SECS = 2.0  # longest a snapshot request waits for a newer picture
STREAM_SNDBUF = 64 << 10  # bytes the kernel may hold for one stream: a few pictures
_ROUTE = re.compile(r"/(snapshot|stream)/([^/]{1,200})\.(jpg|mjpg)")
REFUSED = (
    "401 Unauthorized: this live page needs a valid signed link ({reason}).\n"
    "Get one with: virtualpy-lab live-url --lab LAB\n"
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    live: LiveServer

    def __init__(self, address, handler):
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(_plain_response(503, "too many connections to the live page\n"))
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # a viewer that left mid-answer: nothing to report
            log.debug("live view client %s: %s", client_address, exc)
        else:
            log.exception("live view request from %s failed", client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Server6(_Server):
    address_family = socket.AF_INET6


def _plain_response(status: int, text: str) -> bytes:
    body = text.encode()
    return (
        f"HTTP/1.1 {status} {'Service Unavailable' if status == 503 else 'Error'}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


class LiveServer:
    """The live page of one lab, listening from construction, serving after :meth:`start`.

    >>> live = LiveServer(host, token, LiveSettings(port=0))  # doctest: +SKIP
    >>> live.start(); print(live.port); live.stop()           # doctest: +SKIP
    """

    def __init__(self, host: LabHost, token: str, settings: LiveSettings):
        if not token:
            raise ValueError("the live page needs the lab token to check its links")
        self.host = host
        self.settings = settings
        self.token = token
        self.stopping = threading.Event()
        self.producers = Producers(
            lambda name: host.runtime(name).ring,
            settings.fps,
            settings.tile_width,
            settings.quality,
        )
        self.viewers = ViewerTable(settings.max_viewers, settings.bytes_per_sec, settings.fps)
        cls = _Server6 if ":" in settings.bind else _Server
        self._httpd = cls((settings.bind, settings.port), _Handler)
        self._httpd.live = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="live-http"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.producers.close()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def status(self) -> dict:
        """What ``/status.json`` says: every device, its lease and its running test."""
        leases = self.host.leases.snapshot()
        devices = []
        for rt in self.host.runtimes:
            info, lease = rt.info(), leases.get(rt.device.name)
            devices.append(
                {
                    "name": info["name"],
                    "model": info["model"],
                    "width": info["width"],
                    "height": info["height"],
                    "signal": bool(getattr(rt.device.video, "signal", True)),
                    "lease": None
                    if lease is None
                    else {k: lease[k] for k in ("owner", "since", "test", "expires_in")},
                }
            )
        return {
            "lab": self.host.name,
            "time": time.time(),
            "fps": self.settings.fps,
            "tile_width": self.settings.tile_width,
            "viewers": self.viewers.count(),
            "max_viewers": self.settings.max_viewers,
            "encoding": self.producers.running(),
            "devices": devices,
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "virtualpy-lab-live"
    sys_version = ""
    timeout = SOCKET_TIMEOUT_SECS
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args):
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _refuse_method(self) -> None:
        self.close_connection = True
        self._send(405, b"the live page only answers GET\n", "text/plain", {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _refuse_method

    def do_GET(self) -> None:
        live = self.server.live
        if len(self.path) > MAX_URL:
            self.close_connection = True
            return self._text(414, "request URL too long\n")
        url = urlsplit(self.path)
        try:
            query = parse_qs(url.query, max_num_fields=8)
        except ValueError:
            return self._text(400, "too many query parameters\n")
        check = live_link.verify(live.token, query)
        if not check:
            return self._text(401, REFUSED.format(reason=check.reason))
        arg = {k: v[0] for k, v in query.items() if len(v) == 1}
        try:
            if url.path in ("/", "/index.html"):
                return self._page(live)
            if url.path == "/status.json":
                return self._status(live, arg)
            m = _ROUTE.fullmatch(url.path)
            if m and (m[1], m[3]) in (("snapshot", "jpg"), ("stream", "mjpg")):
                return self._pictures(live, m[1], unquote(m[2]), arg)
            return self._text(404, f"no such page: {url.path}\n")
        except DeviceUnavailable as e:
            return self._text(404, f"{e}\n")
        except ValueError as e:
            return self._text(400, f"{e}\n")

    # --- routes ------------------------------------------------------------------------

    def _page(self, live: LiveServer) -> None:
        nonce = secrets.token_urlsafe(12)
        devices = [rt.info() for rt in live.host.runtimes]
        body = page.render(
            live.host.name, devices, live.settings.fps, live.settings.tile_width, nonce
        )
        csp = (
            "default-src 'none'; img-src 'self' blob:; connect-src 'self'; "
            f"style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
        )
        self._send(200, body, "text/html; charset=utf-8", {"Content-Security-Policy": csp})

    def _viewer(self, live: LiveServer, arg: dict) -> Viewer | None:
        vid = arg.get("v")
        key = vid if valid_viewer_id(vid) else f"addr-{self.client_address[0]}"
        viewer = live.viewers.page(key)
        if viewer is None:
            self._full(live)
        return viewer

    def _full(self, live: LiveServer) -> None:
        self._text(
            503,
            f"the live view already has {live.settings.max_viewers} viewer(s), its limit "
            "(max_viewers in [lab.live] of lab.toml): close another page or stream, or "
            "raise the limit\n",
        )

    def _status(self, live: LiveServer, arg: dict) -> None:
        # small and cheap: it counts no viewer, so a full page still says who holds what
        self._send(200, json.dumps(live.status()).encode(), "application/json")

    def _pictures(self, live: LiveServer, kind: str, device: str, arg: dict) -> None:
        size = arg.get("size", "tile")
        if size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
        live.host.runtime(device)  # 404 for an unknown device
        producer = live.producers.get(device, size)
        if kind == "snapshot":
            after = arg.get("after", "0")
            if not (after.isdigit() and len(after) <= 15):
                raise ValueError(f"after must be a picture number, not {after!r}")
            return self._snapshot(live, producer, f"{device}/{size}", int(after), arg)
        with live.viewers.stream() as viewer:
            if viewer is None:
                return self._full(live)
            with producer.watching():
                self._stream(live, producer, viewer, f"{device}/{size}")

    def _snapshot(self, live, producer, what: str, after: int, arg: dict) -> None:
        viewer = self._viewer(live, arg)
        if viewer is None:
            return
        with producer.watching():
            if live.stopping.wait(viewer.wait_secs(what)):
                return self._text(503, "the lab daemon is stopping\n")
            got = producer.next_after(after, SNAPSHOT_WAIT_SECS)
        if got is None:
            return self._send(204, b"", "image/jpeg")
        seq, jpeg, t = got
        viewer.sent(len(jpeg))
        self._send(200, jpeg, "image/jpeg", {"X-Frame-Seq": str(seq), "X-Frame-Time": f"{t:.3f}"})

    def _stream(self, live, producer, viewer: Viewer, what: str) -> None:
        self.close_connection = True
        # a viewer that stops reading blocks this thread, not the producer; keep the
        # kernel from queueing more than a few pictures for it meanwhile
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        seq = 0
        while not self._gone_within(live, viewer.wait_secs(what)):
            got = producer.next_after(seq, SNAPSHOT_WAIT_SECS)
            if got is None:
                continue
            seq, jpeg, t = got
            head = (
                f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n"
                f"X-Frame-Time: {t:.3f}\r\n\r\n"
            ).encode()
            try:
                self.wfile.write(head + jpeg + b"\r\n")
            except OSError:  # the viewer left, or took nothing for SOCKET_TIMEOUT_SECS
                return
            viewer.sent(len(head) + len(jpeg) + 2)

    def _gone_within(self, live: LiveServer, secs: float) -> bool:
        """Wait ``secs``; True as soon as the viewer hangs up or the daemon stops, so a
        closed stream frees its place at once rather than at its next write."""
        end = time.monotonic() + secs
        poller = select.poll()
        poller.register(self.connection, select.POLLIN | select.POLLHUP | select.POLLERR)
        while not live.stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return False
            if poller.poll(min(left, 0.25) * 1000):
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return True  # EOF: the viewer closed the connection
                except OSError:
                    return True
                live.stopping.wait(min(left, 0.25))  # it sent something: ignore it
        return True

"""The live page's limits, against a real ``virtualpy-lab serve``: bytes and pictures per
second per viewer, a slow viewer skips instead of queueing, ``max_viewers``, and pictures
made only while someone watches."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from pytest_virtualpy.lab import live_link
from tests.conftest import wait_until
from tests.live_lab import Live, get

CAP_KBPS = 400  # 50 kB/s: below a full-size stream at 4 fps, above a tile stream
FPS = 4


@pytest.fixture(scope="module")
def tight_lab(tmp_path_factory):
    """``virtualpy-lab serve`` of one simulated box, live page capped hard."""
    tmp = tmp_path_factory.mktemp("tight")
    cfg = tmp / "lab.toml"
    cfg.write_text(
        '[lab]\nname = "tight"\nport = 0\n'
        f"[lab.live]\nport = 0\nfps = {FPS}\nmax_kbps = {CAP_KBPS}\nmax_viewers = 2\n"
        '[[devices]]\nname = "box"\nkind = "sim"\nboot_secs = 0\nfps = 30\n'
    )
    token = secrets.token_urlsafe(16)
    ready = tmp / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab_daemon", "serve", "--config", str(cfg), "--ready-file", ready],
        env=dict(os.environ, VIRTUALPY_LAB_TOKEN=token),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the daemon did not start"
        time.sleep(0.1)
    info = json.loads(ready.read_text())
    yield Live(info["address"], token, info["live"]["port"])
    proc.terminate()
    out = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, out
    assert f"live view on http://127.0.0.1:{info['live']['port']}/" in out


def stream(live: Live, size: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=20)
    query = live_link.query(live.token, 600)
    conn.request("GET", f"/stream/box.mjpg?size={size}&{query}")
    return conn.getresponse()


def read_parts(response, seconds: float, times: bool = False) -> list[tuple]:
    """(arrival time, bytes) of each multipart part for ``seconds``; with ``times``
    also the picture's capture time."""
    parts = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        boundary = response.readline()
        assert boundary == b"--frame\r\n", boundary
        headers = {}
        while (line := response.readline()) != b"\r\n":
            k, _, v = line.decode().partition(":")
            headers[k.lower()] = v.strip()
        assert headers["content-type"] == "image/jpeg"
        jpeg = response.read(int(headers["content-length"]))
        assert jpeg[:2] == b"\xff\xd8" and response.read(2) == b"\r\n"
        part = (time.monotonic(), len(jpeg))
        parts.append((*part, float(headers["x-frame-time"])) if times else part)
    return parts


def test_a_stream_stays_under_its_byte_budget(tight_lab):
    full = stream(tight_lab, "full")
    assert full.status == 200
    assert full.headers["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
    parts = read_parts(full, 8.0)[2:]  # past the first half second of saved-up budget
    full.close()
    sizes = [n for _, n in parts]
    rate = sum(sizes[:-1]) / (parts[-1][0] - parts[0][0])  # bytes sent before the last
    cap = CAP_KBPS * 1000 / 8
    assert rate <= cap * 1.05, f"{rate:.0f} B/s over a {cap:.0f} B/s cap"
    assert rate >= cap * 0.5, f"{rate:.0f} B/s: the stream should use its budget"
    assert np.mean(sizes) * FPS > cap * 1.5  # so it was the byte budget that held it back


def test_a_stream_stays_under_the_picture_rate(tight_lab):
    tile = stream(tight_lab, "tile")
    parts = read_parts(tile, 4.0)[2:]
    tile.close()
    rate = (len(parts) - 1) / (parts[-1][0] - parts[0][0])
    assert rate <= FPS * 1.1 and rate >= FPS * 0.6, rate


def test_a_viewer_that_stops_reading_skips_pictures_instead_of_queueing_them(tight_lab):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # before connect: small window
    sock.connect(("127.0.0.1", tight_lab.port))
    sock.settimeout(20)
    query = live_link.query(tight_lab.token, 600)
    sock.sendall(f"GET /stream/box.mjpg?size=full&{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    with sock, sock.makefile("rb") as f:
        assert f.readline().startswith(b"HTTP/1.1 200")
        while f.readline() != b"\r\n":
            pass
        before = read_parts(f, 2.0, times=True)
        time.sleep(8.0)  # stop reading: the daemon must not keep 8 s of pictures for us
        after = read_parts(f, 6.0, times=True)
    times = [t for _, _, t in before + after]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g > 0 for g in gaps)  # in capture order, never repeated
    assert max(gaps) > 4.0, gaps  # what was captured while we slept was skipped
    # and once we read again the pictures are current, a few buffered ones aside
    assert after[-1][2] > time.time() - 2.0


def viewers(live: Live) -> int:
    return json.loads(get(live.url("/status.json"))[2])["viewers"]


def test_viewers_beyond_max_viewers_get_503(tight_lab):
    wait_until(lambda: viewers(tight_lab) == 0, timeout=15, interval=0.3)
    first, second = stream(tight_lab, "tile"), stream(tight_lab, "tile")
    try:
        assert first.status == second.status == 200
        assert viewers(tight_lab) == 2
        third = stream(tight_lab, "tile")
        assert third.status == 503 and b"max_viewers" in third.read()
        status, _, body = get(tight_lab.url("/snapshot/box.jpg") + "&v=newpage")  # a page
        assert status == 503 and b"already has 2 viewer(s)" in body
        first.close()
        wait_until(lambda: viewers(tight_lab) == 1, timeout=5, interval=0.1)
        fourth = stream(tight_lab, "tile")
        assert fourth.status == 200
        fourth.close()
    finally:
        first.close()
        second.close()


def test_pictures_are_made_only_while_someone_watches(tight_lab):
    def encoding():
        return json.loads(get(tight_lab.url("/status.json"))[2])["encoding"]

    wait_until(lambda: encoding() == [], timeout=15, interval=0.3)
    watcher = stream(tight_lab, "tile")
    try:
        assert read_parts(watcher, 0.5)
        assert encoding() == ["box/tile"]
    finally:
        watcher.close()
    wait_until(lambda: encoding() == [], timeout=15, interval=0.3)

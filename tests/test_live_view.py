"""The live page: a real daemon (``virtualpy-lab sim`` / ``serve``), real HTTP, real
headless Chromium, signed links from ``virtualpy-lab live-url``.

Chromium runs as the issue says (``--headless --no-sandbox --disable-gpu
--disable-background-networking``) with ``--virtual-time-budget`` and ``--dump-dom``:
the dumped DOM is what a viewer's browser shows after that long.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from lab_daemon.cli import main
from lab_daemon.live.settings import LiveSettings
from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab import live_link
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.inventory import DEFAULT_TOKEN_ENV, resolve_one
from pytest_virtualpy.lab.local import start_sim_lab
from tests.conftest import wait_until
from tests.live_lab import Live, get

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def live_lab(tmp_path_factory):
    """``virtualpy-lab sim --devices 2`` with its live page on a free port."""
    lab = start_sim_lab(2, fps=30, boot_secs=0.5, workdir=tmp_path_factory.mktemp("live"))
    with LabClient.connect(lab.address, lab.token) as client:
        live = client.hello()["live"]
    yield Live(lab.address, lab.token, live["port"])
    lab.stop()


def chromium_dom(url: str, budget_ms: int = 4000) -> str:
    """The DOM headless Chromium shows after ``budget_ms`` of (virtual) time."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        out = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert "</html>" in out.stdout, out.stderr[-2000:]
    return out.stdout


class Tiles(HTMLParser):
    """Each ``<figure class="tile">``'s attributes and text; the full view's attributes."""

    def __init__(self, dom: str):
        super().__init__()
        self.tiles: dict[str, dict] = {}
        self.full: dict = {}
        self._current: dict | None = None
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and "tile" in (a.get("class") or "").split():
            self._current = dict(a, text="")
            self.tiles[a["data-device"]] = self._current
        elif tag == "div" and a.get("id") == "full":
            self.full = a

    def handle_endtag(self, tag):
        if tag == "figure":
            self._current = None

    def handle_data(self, data):
        if self._current is not None:
            self._current["text"] += data


# --- the page in Chromium --------------------------------------------------------------


def test_page_shows_every_device_with_its_name_and_model(live_lab):
    with LabClient.connect(live_lab.address, live_lab.token) as client:
        devices = {d["name"]: d["model"] for d in client.list_devices()}
    tiles = Tiles(chromium_dom(live_lab.url(), 2000)).tiles
    assert set(tiles) == set(devices) == {"sim-0", "sim-1"}
    for name, model in devices.items():
        assert name in tiles[name]["text"] and model in tiles[name]["text"]
        assert tiles[name]["data-model"] == model


def test_tiles_update_over_time(live_lab):
    early = Tiles(chromium_dom(live_lab.url(), 1000)).tiles
    later = Tiles(chromium_dom(live_lab.url(), 5000)).tiles
    for name in ("sim-0", "sim-1"):
        assert int(early[name]["data-frames"]) >= 1, early[name]
        assert int(later[name]["data-frames"]) > int(early[name]["data-frames"]) + 5, later
        assert float(later[name]["data-time"]) > float(early[name]["data-time"])


def test_two_snapshots_of_a_playing_device_differ(live_lab):
    with LabClient.connect(live_lab.address, live_lab.token) as client:
        dev = DeviceClient(client, client.lease("sim-0", "tests", 30))
        try:
            wait_until(lambda: dev.sim_state()["screen"] not in ("boot", "off"), 15)
            dev.press("KEY_HOME")
            dev.press("KEY_OK")  # home -> live TV: moving video
            wait_until(lambda: dev.sim_state()["screen"] == "live_tv")
            pictures = []
            seq = 0
            for _ in range(2):
                time.sleep(0.5)
                status, headers, body = get(
                    live_lab.url("/snapshot/sim-0.jpg", live_link.query(live_lab.token, 60))
                    + f"&after={seq}"
                )
                assert status == 200 and headers["Content-Type"] == "image/jpeg"
                assert int(headers["X-Frame-Seq"]) > seq
                seq = int(headers["X-Frame-Seq"])
                pictures.append(cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR))
        finally:
            client.release(dev.lease_id)
    a, b = pictures
    assert a.shape == b.shape == (270, 480, 3)  # tile_width 480, from 1280x720
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0


def test_holder_and_test_name_appear_on_the_page(live_lab):
    owner, test = "alice@bench-7", "tests/test_zap.py::test_banner[sim-1]"
    with LabClient.connect(live_lab.address, live_lab.token) as client:
        dev = DeviceClient(client, client.lease("sim-1", owner, 60))
        try:
            dev.set_test(test)
            tiles = Tiles(chromium_dom(live_lab.url(), 3000)).tiles
        finally:
            client.release(dev.lease_id)
        status = json.loads(get(live_lab.url("/status.json"))[2])
    held = tiles["sim-1"]
    assert held["data-owner"] == owner and held["data-test"] == test
    assert f"held by {owner}" in held["text"] and test in held["text"]
    assert "since " in held["text"]
    assert tiles["sim-0"]["data-owner"] == "" and "free" in tiles["sim-0"]["text"]
    assert [d["lease"] for d in status["devices"]] == [None, None]  # released: free again


def test_a_tile_opens_full_size(live_lab):
    full = Tiles(chromium_dom(live_lab.url() + "#full=sim-1", 2000)).full
    assert "hidden" not in full and full["data-device"] == "sim-1"
    assert int(full["data-frames"]) >= 1
    status, _, body = get(live_lab.url("/snapshot/sim-1.jpg") + "&size=full")
    assert status == 200
    assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR).shape == (720, 1280, 3)


def test_the_page_without_a_valid_signature_is_refused_in_chromium(live_lab):
    for query in ("", "exp=99999999999&sig=" + "0" * 64):
        dom = chromium_dom(live_lab.url("/", query), 1000)
        assert "401 Unauthorized" in dom and "virtualpy-lab live-url" in dom
        assert not Tiles(dom).tiles and "sim-0" not in dom


# --- the signature -----------------------------------------------------------------------


ROUTES = ("/", "/status.json", "/snapshot/sim-0.jpg", "/stream/sim-0.mjpg", "/no-such-page")


def test_every_route_refuses_bad_links_with_401(live_lab):
    now = time.time()
    expired = live_link.query(live_lab.token, 60, now=now - 120)
    good = live_link.query(live_lab.token, 600)
    exp = int(re.search(r"exp=(\d+)", good)[1])
    bad = {
        "unsigned": "",
        "no signature": f"exp={exp}",
        "wrong signature": f"exp={exp}&sig={secrets.token_hex(32)}",
        "another lab's token": live_link.query("another-token", 600),
        "expired": expired,
        "altered expiry": good.replace(f"exp={exp}", f"exp={exp + 3600}"),
        "too long-lived": live_link.query(live_lab.token, live_link.MAX_VALID_SECS, now=now + 9e4),
        "malformed": f"exp=soon&sig={'x' * 64}",
    }
    for path in ROUTES:
        for why, query in bad.items():
            status, headers, body = get(live_lab.url(path, query))
            assert status == 401, (path, why, status)
            assert b"virtualpy-lab live-url" in body, (path, why)
    assert b"expired" in get(live_lab.url("/", expired))[2]
    status, headers, body = get(live_lab.url("/"))
    assert status == 200 and b"sim-0" in body
    assert "nonce-" in headers["Content-Security-Policy"]
    assert get(live_lab.url("/no-such-page"))[0] == 404
    assert get(live_lab.url("/snapshot/no-such-box.jpg"))[0] == 404


def test_only_get_is_answered(live_lab):
    for method in ("POST", "PUT", "DELETE", "HEAD"):
        assert get(live_lab.url("/"), method=method)[0] == 405


def test_a_link_is_valid_only_for_its_purpose_and_time():
    token = "lab-token"
    q = live_link.query(token, 3600, now=1000)
    assert token not in q
    assert live_link.verify(token, q, now=1000)
    assert live_link.verify(token, q, now=4599)
    check = live_link.verify(token, q, now=4600)
    assert not check and check.reason == "the link expired"
    assert not live_link.verify("other", q, now=1000)
    with pytest.raises(ValueError, match="valid for"):
        live_link.query(token, live_link.MAX_VALID_SECS + 1)
    url = live_link.make_url("::1", 18862, token, 60, now=0)
    assert url.startswith("http://[::1]:18862/?exp=60&sig=")


def test_live_settings_are_range_checked():
    assert LiveSettings.from_table({"fps": 10, "max_kbps": 800}).bytes_per_sec == 100_000
    # the page's port follows the lab's unless [lab.live] names one
    assert LiveSettings.from_table({}).for_lab_port(18861).port == 18862
    assert LiveSettings.from_table({}).for_lab_port(0).port == 0
    assert LiveSettings.from_table({"port": 9000}).for_lab_port(0).port == 9000
    for key, value in {"fps": 100, "tile_width": 10, "max_viewers": 0, "port": 70000}.items():
        with pytest.raises(ConfigError, match=rf"\[lab.live\] {key} must be"):
            LiveSettings.from_table({key: value})


# --- live-url and --lab NAME ------------------------------------------------------------


@pytest.fixture
def labs_file(live_lab, tmp_path, monkeypatch):
    path = tmp_path / "labs.toml"
    path.write_text(f'[labs.bench]\naddress = "{live_lab.address}"\ntoken_env = "BENCH_TOKEN"\n')
    monkeypatch.setenv("BENCH_TOKEN", live_lab.token)
    monkeypatch.delenv(DEFAULT_TOKEN_ENV, raising=False)
    return path


def test_live_url_by_lab_name_and_by_address(live_lab, labs_file, monkeypatch, capsys):
    assert main(["live-url", "--lab", "bench", "--labs-file", str(labs_file)]) == 0
    by_name = capsys.readouterr().out.strip()
    monkeypatch.setenv(DEFAULT_TOKEN_ENV, live_lab.token)
    assert main(["live-url", "--lab", live_lab.address, "--hours", "1"]) == 0
    by_address = capsys.readouterr().out.strip()
    for url in (by_name, by_address):
        assert url.startswith(f"http://127.0.0.1:{live_lab.port}/?exp=")
        assert live_lab.token not in url
        status, _, body = get(url)
        assert status == 200 and b"sim-0" in body and b"sim-1" in body
    exp = int(re.search(r"exp=(\d+)", by_address)[1])
    assert 3500 < exp - time.time() <= 3600


def test_lab_names_that_do_not_resolve_are_explained(labs_file, capsys, monkeypatch):
    assert main(["live-url", "--lab", "bnech", "--labs-file", str(labs_file)]) == 2
    err = capsys.readouterr().err
    assert "unknown lab 'bnech'" in err and "Known labs: bench" in err
    assert main(["screenshot", "--lab", "sim", "-o", "x.png"]) == 2
    assert "not a daemon address" in capsys.readouterr().err
    monkeypatch.delenv("BENCH_TOKEN")
    assert main(["live-url", "--lab", "bench", "--labs-file", str(labs_file)]) == 2
    assert "set BENCH_TOKEN" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="one lab"):
        resolve_one("bench,other", labs_file)
    spec = resolve_one("10.0.0.23:18861", labs_file)
    assert (spec.address, spec.token_env) == ("10.0.0.23:18861", DEFAULT_TOKEN_ENV)
    assert resolve_one("bench", labs_file).token_env == "BENCH_TOKEN"


def test_screenshot_by_lab_name(labs_file, tmp_path, capsys):
    out = tmp_path / "shot.png"
    args = ["screenshot", "--lab", "bench", "--labs-file", str(labs_file), "-o", str(out)]
    assert main(args) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "from sim-" in capsys.readouterr().out


# --- bandwidth and viewers, on a lab.toml with a tight [lab.live] -------------------------


def test_bad_live_settings_stop_the_daemon_with_a_message(tmp_path):
    cfg = tmp_path / "lab.toml"
    cfg.write_text(
        '[lab]\nport = 0\n[lab.live]\nfps = 120\n[[devices]]\nname = "b"\nkind = "sim"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "lab_daemon", "serve", "--config", str(cfg)],
        env=dict(os.environ, VIRTUALPY_LAB_TOKEN="t"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "[lab.live] fps must be between 0.2 and 30.0, not 120" in out.stderr


def test_ci_installs_chromium():
    run = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "chromium" in re.search(r"PACKAGES=\(([^)]*)\)", run)[1]


def test_sim_live_port_is_used_and_a_busy_one_is_explained(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "lab_daemon", "sim", "--port", "0", "--live-port", str(port)],
            env=dict(os.environ, VIRTUALPY_LAB_TOKEN="t"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 2
    assert f"the live page cannot listen on 127.0.0.1:{port}" in out.stderr
    assert "--live-port" in out.stderr

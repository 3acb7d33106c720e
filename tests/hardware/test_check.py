"""``virtualpy-lab check`` against real parts: an MP4 read with PyAV, lircd, a command power
switch on a state file and a pty serial console (socat); then with parts broken."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from adbd_fake import FakeAdbd
from test_end_to_end import _mp4

from lab_daemon.cli import main

needs_socat = pytest.mark.skipif(
    shutil.which("socat") is None and not os.environ.get("CI"),
    reason="needs socat: apt-get install socat",
)


def _check(config, timeout=60):
    done = subprocess.run(
        [sys.executable, "-m", "lab_daemon", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout, done.stderr


def _row(table: str, device: str, part: str) -> str:
    for line in table.splitlines():
        cells = line.split()
        if cells[:2] == [device, part]:
            return line
    raise AssertionError(f"no row for {device} {part} in:\n{table}")


class _Uart:
    """A socat pty pair; the box end prints a prompt every 0.2 s."""

    def __init__(self, folder):
        self.path, box_end = folder / "uart", folder / "box"
        self.proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.path}", f"pty,raw,echo=0,link={box_end}"],
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (self.path.exists() and box_end.exists()):
            assert time.monotonic() < deadline, "socat made no pty pair"
            time.sleep(0.05)
        self.box = os.open(box_end, os.O_RDWR | os.O_NOCTTY)
        self.stop = threading.Event()
        threading.Thread(target=self._chatter, daemon=True).start()

    def _chatter(self):
        while not self.stop.wait(0.2):
            try:
                os.write(self.box, b"\r\nstb# ")
            except OSError:
                return

    def close(self):
        self.stop.set()
        os.close(self.box)
        self.proc.terminate()
        self.proc.wait(10)


@needs_socat
def test_check_tries_every_real_part_then_names_what_broke(lircd, tmp_path):
    media = tmp_path / "screen.mp4"
    _mp4(media, seconds=2.0, fps=25)
    uart = _Uart(tmp_path)
    plug = tmp_path / "plug"
    plug.write_text("off\n")
    lab_toml = tmp_path / "lab.toml"
    device = f"""
[[devices]]
name = "living-room"
video = {{ source = "{media}", loop = true }}
remote = {{ kind = "lirc", socket = "{lircd.socket}", remote = "acme", \
keymap = {{ KEY_EPG = "BTN_GUIDE" }} }}
power = {{ kind = "command", on = "echo on > {plug}", off = "echo off > {plug}", \
status = "STATUS" }}
serial = {{ port = "{uart.path}" }}
"""
    sim = '\n[[devices]]\nname = "stb-1"\nkind = "sim"\nfps = 30\nboot_secs = 0\n'
    try:
        lab_toml.write_text(device.replace("STATUS", f"grep -q on {plug}") + sim)
        started = time.monotonic()
        code, table, progress = _check(lab_toml)
        assert code == 0, table + progress
        assert time.monotonic() - started < 20
        assert "reading frames" in progress  # it says what it is doing while it measures
        video = _row(table, "living-room", "video")
        assert " OK " in video and "640x360" in video
        fps = float(re.search(r"at ([\d.]+) fps", video).group(1))
        assert 15 <= fps <= 35, video  # the file is paced at its 25 fps
        remote = _row(table, "living-room", "remote")
        assert " OK " in remote and "6 keys" in remote and "KEY_EPG" in remote
        power = _row(table, "living-room", "power")
        assert " OK " in power and power.rstrip().endswith("off")
        assert plug.read_text() == "off\n"  # the check reads the state, it never switches
        serial = _row(table, "living-room", "serial")
        assert " OK " in serial and "stb#" in serial
        assert int(re.search(r"(\d+) bytes seen", serial).group(1)) > 0
        assert " OK " in _row(table, "stb-1", "video") and "1280x720" in table
        sound = _row(table, "stb-1", "audio")  # the simulated box's sound (home: silence)
        assert " OK " in sound and "nominal 16000" in sound and "-120.0 dBFS" in sound
        assert table.rstrip().endswith("all 9 part(s) OK")

        # break three parts: a power status that fails, a video file that is no video, no serial
        lab_toml.write_text(device.replace("STATUS", "plugctl --status"))
        media.write_bytes(b"not a video at all")  # the file is there, its content is not
        uart.close()
        code, table, progress = _check(lab_toml)
        assert code == 1, table + progress
        assert "Traceback" not in progress
        video = _row(table, "living-room", "video")
        assert " FAIL " in video and "no signal" in video
        power = _row(table, "living-room", "power")
        assert " FAIL " in power and "status command failed with exit code 127" in power
        serial = _row(table, "living-room", "serial")
        assert " FAIL " in serial and "cannot be opened" in serial and str(uart.path) in serial
        assert " OK " in _row(table, "living-room", "remote")  # still tried, and still fine
        assert table.rstrip().endswith("3 of 4 part(s) FAILED")
    finally:
        if not uart.stop.is_set():
            uart.close()


def test_a_config_error_is_one_line_and_exit_2(tmp_path, capsys):
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text('[[devices]]\nname = "tv"\nvideo = { source = "x.mp4", colour = 1 }\n')
    assert main(["check", "--config", str(lab_toml)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'colour'" in err
    assert main(["check", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.skipif(
    shutil.which("adb") is None and not os.environ.get("CI"),
    reason="needs adb: apt-get install adb",
)
def test_check_reports_the_adb_model(tmp_path):
    fake = FakeAdbd(np.full((360, 640, 3), (0, 80, 200), np.uint8), model="ACME-TV-9").start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adb = ["adb", "-P", str(port)]
    env = dict(os.environ, HOME=str(tmp_path))  # the server's keys go there, not in ~/.android
    subprocess.run([*adb, "start-server"], env=env, check=True, capture_output=True, timeout=30)
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        f"""
[[devices]]
name = "android"
adb = {{ serial = "{fake.serial}", adb_server = "127.0.0.1:{port}", timeout_secs = 3 }}
video = {{ source = "adb", fps = 5 }}
"""
    )
    try:
        code, table, progress = _check(lab_toml)
        assert code == 0, table + progress
        assert "model ACME-TV-9" in _row(table, "android", "adb")
        assert "640x360" in _row(table, "android", "video")
        fake.stop()  # the box left the network
        code, table, progress = _check(lab_toml)
        assert code == 1, table + progress
        assert " FAIL " in _row(table, "android", "adb")
    finally:
        subprocess.run([*adb, "kill-server"], env=env, capture_output=True, timeout=30)
        fake.stop()

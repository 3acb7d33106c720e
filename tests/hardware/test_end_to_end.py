"""An ordinary pytest test against a device built from real parts, through the real daemon.

The parts: an MP4 file made here with PyAV as the video source, Debian's lircd (file
driver) as the remote, the command power switch, and a pty (socat) serial console with a
small box at the other end. ``virtualpy-lab serve --config lab.toml`` serves them; a
pytester run asks for ``stb``, ``remote``, ``tv_screen``, ``power`` and ``serial``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from lircd_peer import CODES

needs_socat = pytest.mark.skipif(
    shutil.which("socat") is None and not os.environ.get("CI"),
    reason="needs socat: apt-get install socat",
)


def _mp4(path: Path, seconds: float = 2.0, fps: int = 25) -> None:
    """A 640x360 H.264 file whose frames are a flat colour that changes every frame."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            image = np.full((360, 640, 3), (i * 9 % 256, 80, 200), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _box(fd: int, stop: threading.Event) -> None:
    """The device end of the UART: a shell that answers ``version`` and shows a prompt."""
    line = b""
    os.set_blocking(fd, False)
    while not stop.is_set():
        try:
            data = os.read(fd, 100)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        except OSError:
            return
        for ch in data:
            if ch == 13:  # Enter
                reply = b"firmware 1.0\r\n" if line.strip() == b"version" else b""
                os.write(fd, line + b"\r\n" + reply + b"stb# ")
                line = b""
            else:
                line += bytes([ch])


@needs_socat
def test_a_pytest_test_drives_real_parts_through_the_daemon(pytester, lircd, tmp_path, served_lab):
    media = tmp_path / "screen.mp4"
    _mp4(media)
    uart, box_end = tmp_path / "uart", tmp_path / "box"
    pty = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={uart}", f"pty,raw,echo=0,link={box_end}"],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not (uart.exists() and box_end.exists()):
        assert time.monotonic() < deadline, "socat made no pty pair"
        time.sleep(0.05)
    box = os.open(box_end, os.O_RDWR | os.O_NOCTTY)
    stop = threading.Event()
    threading.Thread(target=_box, args=(box, stop), daemon=True).start()
    plug = tmp_path / "plug"
    plug.write_text("on\n")
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        f"""
[lab]
name = "bench"
port = 0

[[devices]]
name = "living-room"
model = "acme-4k"
video = {{ source = "{media}", loop = true }}
remote = {{ kind = "lirc", socket = "{lircd.socket}", remote = "acme" }}
power = {{ kind = "command", on = "echo on > {plug}", off = "echo off > {plug}", \
status = "grep -q on {plug}" }}
serial = {{ port = "{uart}", baudrate = 115200 }}
"""
    )
    try:
        served_lab(lab_toml)
        pytester.makepyfile(
            """
            def test_bench(stb, remote, tv_screen, power, serial):
                assert (stb.name, stb.model) == ("living-room", "acme-4k")
                assert stb.sim is None  # real hardware
                assert "KEY_OK" in remote.keys()
                frame = tv_screen.get_frame()
                assert frame.shape == (360, 640, 3)
                remote.press("KEY_OK")
                power.off()
                assert not power.is_on
                power.on()
                assert power.is_on
                assert serial.command("version") == "firmware 1.0"
            """
        )
        mark = lircd.mark()
        result = pytester.runpytest_subprocess("--lab=bench", "--results-db=none")
        result.assert_outcomes(passed=1)
        assert CODES["KEY_OK"] in lircd.sent(mark)  # lircd really sent the OK code
        assert plug.read_text().strip() == "on"
    finally:
        stop.set()
        os.close(box)
        pty.terminate()
        pty.wait(10)

"""Real peers for bench/hardware.py: numbered media, an MJPEG server, lircd, the daemon.

Also the capture worker: ``python bench/_hw.py capture SOURCE ...`` runs one stream
through the real daemon's capture (AvVideo -> CaptureThread -> FrameRing in a LabHost)
in a process of its own, so its CPU time is the capture's alone, and prints JSON.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "hardware"))

from lircd_peer import CODES, REMOTE_CONF, decode_nec  # noqa: E402, F401 (CODES: for callers)

BITS = 16  # frame numbers up to 65535: 18 minutes at 60 fps
LIRCD = shutil.which("lircd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


# --- frames that carry their number ------------------------------------------------------


_TEXTURES: dict[tuple[int, int], np.ndarray] = {}


def _texture(width: int, height: int) -> np.ndarray:
    """A detailed picture (smoothed noise), so that encoders and decoders do real work."""
    if (width, height) not in _TEXTURES:
        import cv2

        noise = np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)
        blurred = cv2.GaussianBlur(noise, (0, 0), 2.0).astype(np.int16)
        _TEXTURES[width, height] = np.clip((blurred - 128) * 4 + 128, 0, 255).astype(np.uint8)
    return _TEXTURES[width, height]


def pattern(n: int, width: int = 1280, height: int = 720) -> np.ndarray:
    """Block 0 always white (a marker), then BITS blocks: n's bits, most significant first.

    Above and below the blocks, a detailed picture scrolls 8 px a frame (like a pan).
    """
    img = np.roll(_texture(width, height), 8 * n, axis=1)
    img[height // 3 : 2 * height // 3] = 40
    step = width // (BITS + 2)
    for i in range(BITS + 1):
        if i == 0 or (n >> (BITS - i)) & 1:
            img[height // 3 : 2 * height // 3, i * step + 6 : (i + 1) * step - 6] = 255
    return img


def number(img: np.ndarray) -> int | None:
    """The number ``pattern`` drew (after H.264/JPEG), or None for a black/foreign frame."""
    height, width = img.shape[:2]
    step = width // (BITS + 2)
    y = height // 2
    lum = [int(img[y, i * step + step // 2].mean()) for i in range(BITS + 1)]
    if lum[0] < 160:
        return None
    return sum(1 << (BITS - i) for i in range(1, BITS + 1) if lum[i] > 150)


def make_mp4(path: Path, frames: int, fps: int = 60, size: tuple[int, int] = (1280, 720)) -> None:
    """H.264 (ultrafast, a keyframe a second) whose frame n shows ``pattern(n)``."""
    import av

    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(fps)}
        for n in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(n, width, height), format="bgr24")
            frame.pts = n
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


# --- an MJPEG-over-HTTP server that remembers when it sent each frame -----------------------


class MjpegServer:
    """multipart/x-mixed-replace JPEGs at ``fps``; frame n shows n (counted across clients)."""

    def __init__(self, fps: float = 60.0, size: tuple[int, int] = (1280, 720), quality: int = 80):
        import cv2

        self.sent: dict[int, float] = {}  # frame number -> time.time() just before the write
        self.late = 0  # frames the server itself sent more than a period late
        self._n = 0
        self.running = True
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=ffmpeg")
                self.end_headers()
                due = time.monotonic()
                with contextlib.suppress(OSError):
                    while outer.running:
                        n = outer._n
                        outer._n += 1
                        _, jpg = cv2.imencode(
                            ".jpg", pattern(n, *size), [cv2.IMWRITE_JPEG_QUALITY, quality]
                        )
                        head = f"--ffmpeg\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpg)}"
                        data = f"{head}\r\n\r\n".encode() + jpg.tobytes() + b"\r\n"
                        if time.monotonic() - due > 1 / fps:
                            outer.late += 1
                        outer.sent[n] = time.time()
                        self.wfile.write(data)
                        due += 1 / fps
                        time.sleep(max(0.0, due - time.monotonic()))

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/x.mjpg"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.running = False
        self.httpd.shutdown()
        self.httpd.server_close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- lircd with its file driver ------------------------------------------------------------


class Lircd:
    """Debian's lircd on a private socket, writing what it sends to ``out``."""

    def __init__(self, folder: Path):
        if LIRCD is None:
            raise SystemExit("lircd is not installed: apt-get install lirc")
        self.socket = os.path.join(tempfile.mkdtemp(prefix="vp-lircd-", dir="/tmp"), "lircd")
        conf, options = folder / "acme.lircd.conf", folder / "lirc_options.conf"
        conf.write_text(REMOTE_CONF)
        options.write_text("")
        self.out, self.log = folder / "lircd-out.txt", folder / "lircd.log"
        self.out.write_text("")
        self.proc = subprocess.Popen(
            [LIRCD, "-O", str(options), "-n", "-H", "file", "-d", str(self.out),
             "-o", self.socket, "-P", str(folder / "lircd.pid"), "-L", str(self.log),
             "--allow-simulate", str(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"lircd exited with {self.proc.returncode}: {self.log.read_text()}"
                )
            with socket.socket(socket.AF_UNIX) as s:
                try:
                    s.connect(self.socket)
                    return
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"lircd did not listen on {self.socket}") from None
                    time.sleep(0.05)

    def codes(self, code: int, expect: int, wait: float = 5.0) -> int:
        """How many frames of ``code`` lircd wrote (waiting up to ``wait`` s for ``expect``)."""
        deadline = time.monotonic() + wait
        while True:
            got = decode_nec(self.out.read_text("ascii", "replace")).count(code)
            if got >= expect or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def stop(self) -> None:
        stop(self.proc)
        shutil.rmtree(os.path.dirname(self.socket), ignore_errors=True)


def stop(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- the real daemon -----------------------------------------------------------------------


class Daemon:
    """``python -m lab_daemon serve --config LAB_TOML``, reached over real RPyC."""

    def __init__(self, lab_toml: Path, folder: Path):
        self.token = secrets.token_urlsafe(16)
        tag = secrets.token_hex(4)
        ready, self.log = folder / f"ready-{tag}.json", folder / f"daemon-{tag}.log"
        env = dict(os.environ, VIRTUALPY_LAB_TOKEN=self.token)
        self.command = [sys.executable, "-m", "lab_daemon", "serve", "--config", str(lab_toml)]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [*self.command, "--ready-file", str(ready)],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                stop(self.proc)
                raise SystemExit(f"the daemon did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        self.address = json.loads(ready.read_text())["address"]

    def lease(self, owner: str = "bench"):
        from pytest_virtualpy.lab.client import LabClient
        from pytest_virtualpy.lab.device import DeviceClient

        client = LabClient.connect(self.address, self.token, client_name=owner)
        return DeviceClient(client, client.lease(None, owner, 3600))

    def status(self) -> dict[str, int]:
        """VmRSS, VmHWM... of the daemon in kB."""
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.startswith("Vm") and value.strip().endswith("kB"):
                    out[key] = int(value.split()[0])
        return out

    def stop(self) -> None:
        stop(self.proc)


# --- lab.toml with real parts, pty serial consoles --------------------------------------


def lab_toml(folder: Path, mp4: Path, lircd: Lircd, count: int, serial: list) -> Path:
    """``count`` devices: the MP4 (looped), lirc on ``lircd``, command power, serial ptys."""
    text = '[lab]\nname = "bench"\nport = 0\n'
    for i in range(count):
        plug = folder / f"plug{i}"
        plug.write_text("on\n")
        text += f"""
[[devices]]
name = "stb-{i}"
model = "bench"
video = {{ source = "{mp4}", loop = true }}
remote = {{ kind = "lirc", socket = "{lircd.socket}", remote = "acme" }}
power = {{ kind = "command", on = "echo on > {plug}", off = "echo off > {plug}", \
status = "grep -q on {plug}" }}
"""
        if i < len(serial):
            text += f'serial = {{ port = "{serial[i]}", baudrate = 115200 }}\n'
    path = folder / f"lab-{count}.toml"
    path.write_text(text)
    return path


def ptys(folder: Path, count: int) -> tuple[list[str], list[subprocess.Popen], list[int]]:
    """socat pty pairs: the daemon's ends, the socat processes, our open box ends."""
    if not shutil.which("socat"):
        return [], [], []
    links, procs, fds = [], [], []
    for i in range(count):
        a, b = folder / f"uart{i}", folder / f"box{i}"
        procs.append(
            subprocess.Popen(
                ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 10
        while not (a.exists() and b.exists()):
            if time.monotonic() > deadline:
                raise SystemExit("socat made no pty pair")
            time.sleep(0.05)
        fds.append(os.open(b, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
        links.append(str(a))
    return links, procs, fds


# --- a real adb server and a fake device (in a process of its own) ------------------------

_FAKE_ADBD = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import _hw
from adbd_fake import FakeAdbd
fake = FakeAdbd(_hw.pattern(int(sys.argv[3]), 1920, 1080)).start()
print(fake.port, flush=True)
sys.stdin.read()
print(sum(s.split(":", 1)[1].startswith("screencap") for s in fake.services), flush=True)
"""


class AdbPeer:
    """Debian's adb server on a private port (HOME in ``folder``) and a fake 1080p device."""

    def __init__(self, folder: Path, shown: int):
        self.adb = shutil.which("adb")
        if self.adb is None:
            raise SystemExit("adb is not installed: apt-get install adb")
        self.env = dict(os.environ, HOME=str(folder))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        subprocess.run(
            [self.adb, "-P", str(self.port), "start-server"],
            env=self.env, check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        self.fake = subprocess.Popen(
            [sys.executable, "-c", _FAKE_ADBD, str(Path(__file__).parent),
             str(ROOT / "tests" / "hardware"), str(shown)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        self.serial = f"127.0.0.1:{self.fake.stdout.readline().strip()}"
        self.server = f"127.0.0.1:{self.port}"

    def screencaps(self) -> int:
        """Stop the fake device; how many screencap commands it served."""
        out, _ = self.fake.communicate("", timeout=10)
        return int(out.strip().splitlines()[-1])

    def stop(self) -> None:
        stop(self.fake)
        subprocess.run(
            [self.adb, "-P", str(self.port), "kill-server"],
            env=self.env, capture_output=True, timeout=30,
        )  # fmt: skip


# --- machine state -------------------------------------------------------------------------


def machine_busy(secs: float = 1.0) -> float:
    """The whole machine's CPU use over ``secs``, in % of one core (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    t0, i0 = sample()
    time.sleep(secs)
    t1, i1 = sample()
    return 100 * (os.cpu_count() or 1) * (1 - (i1 - i0) / max(1, t1 - t0))


# --- the capture worker (a process of its own) ---------------------------------------------


def capture_worker(source: str, loop: bool, warmup: float, secs: float) -> dict:
    """Serve ``source`` through LabHost's capture and read every frame from its ring."""
    from lab_daemon.devices.av_video import AvVideo
    from lab_daemon.devices.base import Device
    from lab_daemon.host import LabHost

    video = AvVideo(source, name="tv", loop=loop, timeout_secs=3.0)
    host = LabHost("bench", [Device("tv", "bench", kind="hardware", video=video)])
    host.start()
    rt = host.runtime("tv")
    frames: list[tuple[int | None, float, float]] = []
    stats: dict = {}
    try:
        deadline = time.monotonic() + 15
        for frame in rt.ring.frames():
            if number(np.asarray(frame)) is not None or time.monotonic() > deadline:
                break
        end_warmup = time.monotonic() + warmup
        for _frame in rt.ring.frames():  # the frames buffered while FFmpeg probed come at once
            if time.monotonic() > end_warmup:
                break
        h0 = rt.health()
        cpu0, wall0 = time.process_time(), time.monotonic()
        end = wall0 + secs
        for frame in rt.ring.frames(stats=stats):
            frames.append((number(np.asarray(frame)), frame.time, time.time()))
            if time.monotonic() >= end:
                break
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        h1 = rt.health()
    finally:
        host.stop()
    return {
        "frames": frames,
        "cpu_secs": cpu,
        "wall_secs": wall,
        "ring_skipped": stats.get("skipped", 0),
        "captured": h1["frames_captured"] - h0["frames_captured"],
        "capture_dropped": h1["frames_dropped"] - h0["frames_dropped"],
        "video": video.status(),
        "shape": list(np.asarray(frame).shape),
    }


def idle_worker(secs: float) -> dict:
    """The baseline: the same imports, a LabHost-capable process doing nothing."""
    from lab_daemon.host import LabHost  # noqa: F401

    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(secs)
    return {"cpu_secs": time.process_time() - cpu0, "wall_secs": time.monotonic() - wall0}


def run_worker(*args: str, timeout: float = 90.0) -> dict:
    cmd = [sys.executable, __file__, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"capture worker {' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if sys.argv[1] == "capture":
        source, loop, warmup, secs = sys.argv[2], sys.argv[3] == "loop", *map(float, sys.argv[4:6])
        print(json.dumps(capture_worker(source, loop, warmup, secs)))
    elif sys.argv[1] == "idle":
        print(json.dumps(idle_worker(float(sys.argv[2]))))

"""The PyAV video driver against real encoded media and real servers (no mocks).

Each frame of the generated media shows its number as a row of big black/white blocks
(plus an always-white marker block), which survives H.264 and JPEG and is read back to
prove order and pacing. Sources: an MP4 file, MJPEG over HTTP from ffmpeg and from a
stdlib server (which can stop, restart and change resolution), MPEG-TS over UDP, and
HLS served by ``python -m http.server``; and one run through the real daemon's LabHost.
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from lab_daemon.devices.av_open import is_file, is_v4l2, open_arguments
from lab_daemon.devices.av_video import AvVideo
from lab_daemon.devices.base import Device, KeySender
from lab_daemon.devices.options import check_options
from lab_daemon.host import LabHost
from pytest_virtualpy.errors import ConfigError

FPS = 30
FRAMES = 75  # 2.5 s
BITS = 8
FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None and not os.environ.get("CI"),  # CI installs it: there the tests must run
    reason="needs the ffmpeg binary: apt-get install -y ffmpeg",
)
pytestmark = pytest.mark.timeout(30)


# --- frames that carry their number ------------------------------------------------------


def pattern(n: int, width: int = 640, height: int = 360) -> np.ndarray:
    img = np.full((height, width, 3), 40, np.uint8)
    step = width // (BITS + 2)
    for i in range(BITS + 1):  # block 0: the marker; then the bits, most significant first
        on = i == 0 or (n >> (BITS - i)) & 1
        if on:
            img[height // 3 : 2 * height // 3, i * step + 4 : (i + 1) * step - 4] = 255
    return img


def number(img: np.ndarray) -> int | None:
    """The frame number ``pattern`` drew, or None (a black or foreign frame)."""
    height, width = img.shape[:2]
    step = width // (BITS + 2)
    lum = [int(img[height // 2, i * step + step // 2].mean()) for i in range(BITS + 1)]
    if lum[0] < 160:
        return None
    return sum(1 << (BITS - i) for i in range(1, BITS + 1) if lum[i] > 150)


def read_for(video: AvVideo, secs: float) -> list[tuple[np.ndarray, float]]:
    out, end = [], time.monotonic() + secs
    while time.monotonic() < end:
        out.append(video.read())
    return out


def numbers(frames) -> list[int]:
    return [n for n in (number(f) for f, _ in frames) if n is not None]


def in_order(ns: list[int], modulo: int = FRAMES) -> float:
    """The share of consecutive frames that are number + 1 (wrapping at ``modulo``)."""
    steps = list(itertools.pairwise(ns))
    return sum(b == (a + 1) % modulo for a, b in steps) / max(1, len(steps))


def wait_for(predicate, video: AvVideo, timeout: float) -> list:
    """Read frames until ``predicate(frame)`` holds; fail after ``timeout`` seconds."""
    seen, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        frame = video.read()
        seen.append(frame)
        if predicate(frame):
            return seen
    pytest.fail(f"not seen within {timeout} s (signal={video.signal}, {video.last_error})")


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> Path:
    """2.5 s of numbered 640x360 frames: H.264 at 30 fps, a keyframe every 15 frames."""
    path = tmp_path_factory.mktemp("media") / "numbers.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "15"}
        for n in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(pattern(n), format="bgr24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@contextlib.contextmanager
def process(*args: str):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def opened(source: str, **options):
    video = AvVideo(source, **options)
    try:
        yield video
    finally:
        video.close()
        assert not video._thread.is_alive()


# --- options -----------------------------------------------------------------------------


def test_v4l2_container_options():
    opts = {"source": "/dev/video0", "width": 1920, "height": 1080, "fps": 60.0}
    fmt, options = open_arguments({**opts, "format": "MJPG"})
    assert fmt == "video4linux2"
    assert options == {
        "video_size": "1920x1080",
        "framerate": "60",
        "input_format": "mjpeg",
        "timestamps": "mono2abs",
    }
    assert open_arguments({**opts, "format": "yuyv"})[1]["input_format"] == "yuyv422"
    assert open_arguments({**opts, "fps": 29.97})[1]["framerate"] == "29.97"
    assert open_arguments({"source": "/dev/video2"}) == ("video4linux2", {"timestamps": "mono2abs"})
    extra = {"source": "/dev/video0", "options": {"thread_queue_size": 64}}
    assert open_arguments(extra)[1]["thread_queue_size"] == "64"
    assert is_v4l2("/dev/v4l/by-id/usb-cap-video-index0")
    assert is_v4l2("video=cap", "v4l2") and not is_v4l2("/dev/video0", "mpjpeg")


@needs_ffmpeg
def test_v4l2_options_are_known_to_ffmpeg():
    """Each option we pass is one FFmpeg's V4L2 demuxer declares (no device needed)."""
    help_text = subprocess.run(
        [FFMPEG, "-hide_banner", "-h", "demuxer=video4linux2"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    opts = {"source": "/dev/video0", "width": 640, "height": 480, "fps": 25.0, "format": "H264"}
    for key in open_arguments(opts)[1]:
        assert f"-{key} " in help_text
    assert "mono2abs" in help_text


def test_missing_v4l2_device_is_no_signal():
    """The PyAV wheel has FFmpeg's V4L2 input: a missing device is a lost signal, not a crash."""
    assert any("video4linux2" in name for name in av.formats_available)
    with opened("/dev/video-none", width=320, height=240, fps=10.0) as video:
        black = read_for(video, 0.5)
        assert not video.signal and black[-1][0].shape == (240, 320, 3)
        assert "No such file" in (video.last_error or "")


def test_stream_container_options():
    assert open_arguments({"source": "rtsp://enc/live"}) == (None, {"rtsp_transport": "tcp"})
    assert open_arguments({"source": "rtsp://e/l", "options": {"rtsp_transport": "udp"}}) == (
        None,
        {"rtsp_transport": "udp"},
    )
    assert open_arguments({"source": "udp://0.0.0.0:5000"})[1] == {"overrun_nonfatal": "1"}
    assert open_arguments({"source": "http://cam/x", "demuxer": "mpjpeg"}) == ("mpjpeg", {})
    assert is_file("rec/boot.mp4") and is_file("file:/tmp/a.mp4")
    assert not is_file("http://x/a.mp4") and not is_file("/dev/video0")


def test_options_schema_and_validation():
    opts = check_options({"source": "x.mp4", "loop": True}, AvVideo.OPTIONS, "lab.toml: tv")
    assert opts["reconnect_min_secs"] == 0.5 and opts["reconnect_max_secs"] == 5.0
    with pytest.raises(ConfigError, match="pace"):
        AvVideo.from_options({**opts, "pace": "sometimes"}, "tv")
    with pytest.raises(ConfigError, match="width"):
        AvVideo.from_options({**opts, "width": 640}, "tv")
    with pytest.raises(ConfigError, match="reconnect_max_secs"):
        AvVideo.from_options({**opts, "reconnect_max_secs": 0.1}, "tv")
    with pytest.raises(ConfigError, match="unknown key"):
        check_options({"source": "x", "lop": True}, AvVideo.OPTIONS, "lab.toml: tv")


# --- sources -----------------------------------------------------------------------------


def test_mp4_file_loops_at_its_frame_rate(mp4):
    opts = check_options({"source": str(mp4), "loop": True}, AvVideo.OPTIONS, "t")
    video = AvVideo.from_options(opts, "tv")
    try:
        wait_for(lambda f: number(f[0]) is not None, video, 5)
        frames = read_for(video, 3.2)  # longer than the file: it must wrap round
        ns = numbers(frames)
        assert video.signal and (video.width, video.height) == (640, 360)
        assert video.fps == pytest.approx(FPS)
        assert len(ns) == pytest.approx(3.2 * FPS, rel=0.25)  # paced, not as fast as possible
        assert in_order(ns) > 0.9
        assert any(b < a for a, b in itertools.pairwise(ns))  # wrapped to frame 0
        times = [t for _, t in frames]
        assert all(b > a for a, b in itertools.pairwise(times))
        assert times[-1] - times[0] == pytest.approx(3.2, abs=0.4)
        assert abs(times[-1] - time.time()) < 0.5
    finally:
        video.close()


def test_file_without_loop_ends_in_no_signal(mp4):
    with opened(str(mp4)) as video:
        wait_for(lambda f: number(f[0]) == FRAMES - 1, video, 6)
        frames = wait_for(lambda f: not video.signal and not f[0].any(), video, 2)
        assert frames[-1][0].shape == (360, 640, 3)
        black = read_for(video, 0.5)
        assert len(black) == pytest.approx(0.5 * FPS, abs=5) and not any(f.any() for f, _ in black)
        assert video.last_error == "end of file"


@needs_ffmpeg
def test_mjpeg_over_http_from_ffmpeg(mp4):
    port = free_port()
    url = f"http://127.0.0.1:{port}/x.mjpg"
    with process(
        FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
        "-i", str(mp4), "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg",
        "-content_type", "multipart/x-mixed-replace;boundary=ffmpeg",
        "-listen", "1", url,
    ), opened(url, reconnect_max_secs=1.0) as video:  # fmt: skip
        wait_for(lambda f: number(f[0]) is not None, video, 8)
        read_for(video, 0.5)  # the frames buffered while FFmpeg probed the stream come at once
        frames = read_for(video, 1.5)
        ns = numbers(frames)
        assert len(ns) == pytest.approx(1.5 * FPS, rel=0.35)
        assert in_order(ns) > 0.8 and video.signal
        assert frames[-1][0].shape == (360, 640, 3)


@needs_ffmpeg
def test_mpegts_over_udp(mp4):
    port = free_port(socket.SOCK_DGRAM)
    with opened(f"udp://127.0.0.1:{port}", timeout_secs=1.0, reconnect_max_secs=1.0) as video:
        with process(
            FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
            "-i", str(mp4), "-c", "copy", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316",
        ):  # fmt: skip
            wait_for(lambda f: number(f[0]) is not None, video, 10)
            read_for(video, 1.0)  # the frames buffered while FFmpeg probed the stream come at once
            ns = numbers(read_for(video, 1.5))
            assert len(ns) == pytest.approx(1.5 * FPS, rel=0.35)
            assert in_order(ns) > 0.8 and video.signal
        # the sender is gone: no data for timeout_secs is a lost signal
        wait_for(lambda f: not video.signal and not f[0].any(), video, 4)
        assert video.last_error


@needs_ffmpeg
def test_hls_vod_served_by_http_server(mp4, tmp_path):
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(mp4), "-c", "copy",
         "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", str(tmp_path / "x.m3u8")],
        check=True, timeout=20,
    )  # fmt: skip
    port = free_port()
    serve = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1")
    url = f"http://127.0.0.1:{port}/x.m3u8"
    with process(*serve, "--directory", str(tmp_path)), opened(url, loop=True) as video:
        wait_for(lambda f: number(f[0]) is not None, video, 10)
        ns = numbers(read_for(video, 2.0))
        assert len(ns) == pytest.approx(2.0 * FPS, rel=0.3)  # VOD is paced like a file
        assert in_order(ns) > 0.9


# --- a stdlib MJPEG server that can stop, restart and change size --------------------------


class MjpegServer:
    """Serves numbered JPEG frames as multipart/x-mixed-replace at FPS."""

    def __init__(self, port: int = 0):
        self.size = (640, 360)
        self.running = True
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace;boundary=ffmpeg")
                self.end_headers()
                n, due = 0, time.monotonic()
                with contextlib.suppress(OSError):
                    while outer.running:
                        _, jpg = cv2.imencode(".jpg", pattern(n % FRAMES, *outer.size))
                        head = "--ffmpeg\r\nContent-Type: image/jpeg\r\nContent-Length: "
                        self.wfile.write(f"{head}{len(jpg)}\r\n\r\n".encode() + jpg.tobytes())
                        self.wfile.write(b"\r\n")
                        n, due = n + 1, due + 1 / FPS
                        time.sleep(max(0.0, due - time.monotonic()))

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/x.mjpg"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.running = False
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


@pytest.fixture
def mjpeg_server():
    servers = [MjpegServer()]
    yield servers
    for s in servers:
        s.stop()


def test_signal_loss_gives_black_frames_and_recovers(mjpeg_server):
    server = mjpeg_server[0]
    with opened(server.url, reconnect_min_secs=0.2, reconnect_max_secs=1.0) as video:
        wait_for(lambda f: number(f[0]) is not None, video, 8)
        assert video.signal
        server.stop()
        wait_for(lambda f: not video.signal, video, 4)
        black = read_for(video, 1.5)  # the reconnects fail meanwhile: read() must go on
        assert not video.signal and not any(f.any() for f, _ in black)
        assert len(black) == pytest.approx(1.5 * FPS, rel=0.3)  # at the nominal rate
        assert black[-1][0].shape == (360, 640, 3)  # the last known size
        mjpeg_server.append(MjpegServer(server.port))
        wait_for(lambda f: number(f[0]) is not None, video, 5)  # back-off is at most 1 s
        assert video.signal and video.reconnects >= 1


def test_resolution_change_mid_stream(mjpeg_server):
    server = mjpeg_server[0]
    with opened(server.url) as video:
        wait_for(lambda f: number(f[0]) is not None, video, 8)
        assert (video.width, video.height) == (640, 360)
        server.size = (1280, 720)
        frames = wait_for(lambda f: f[0].shape == (720, 1280, 3), video, 4)
        assert number(frames[-1][0]) is not None
        assert (video.width, video.height) == (1280, 720) and video.signal


def test_unreachable_source_reports_no_signal_and_closes_promptly():
    video = AvVideo(f"http://127.0.0.1:{free_port()}/x.mjpg", width=320, height=240, fps=10.0)
    black = read_for(video, 1.0)
    assert not video.signal and "Error" in (video.last_error or "")
    assert len(black) == pytest.approx(10, abs=3) and black[0][0].shape == (240, 320, 3)
    started = time.monotonic()
    video.close()
    assert time.monotonic() - started < 2 and not video._thread.is_alive()


def test_close_during_a_blocked_open_is_bounded():
    """A UDP source with no sender blocks in FFmpeg's probe; close waits out open_timeout."""
    video = AvVideo(f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}", open_timeout_secs=1.0)
    time.sleep(0.3)
    started = time.monotonic()
    video.close()
    assert time.monotonic() - started < 2.5 and not video._thread.is_alive()


# --- through the real daemon ---------------------------------------------------------------


class NoKeys(KeySender):
    def press(self, key, hold_secs=None):
        return time.time()

    def keys(self):
        return []


def test_lab_host_captures_from_av_video(mp4):
    video = AvVideo(str(mp4), name="tv-1", loop=True)
    host = LabHost("bench", [Device("tv-1", "model", kind="hardware", video=video, keys=NoKeys())])
    host.start()
    try:
        rt = host.runtime("tv-1")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and rt.capture.frames_captured < 45:
            time.sleep(0.1)
        frame = rt.ring.latest(timeout=2)
        assert number(np.asarray(frame)) is not None and frame.time is not None
        assert rt.health()["capturing"] and rt.health()["last_frame_age_secs"] < 1
        assert rt.info()["width"] == 640 and rt.info()["fps"] == FPS
    finally:
        host.stop()
    assert not video._thread.is_alive()

"""The rolling recording of a real PyAV capture (MJPEG over HTTP) that changes resolution
and then loses its signal: the recording goes on through both (stb-tester's breaks on a
resolution change)."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from test_av_video import MjpegServer, number

from lab_daemon import lab_options
from lab_daemon.capture import CaptureThread, FrameRing
from lab_daemon.devices.av_video import AvVideo
from lab_daemon.recording.recorder import Recorder

pytestmark = pytest.mark.timeout(60)


def _pictures(rec: Recorder) -> list[tuple[float, np.ndarray]]:
    entries = rec.store.select(0, 1e11, 0)
    return [
        (e.time, cv2.imdecode(np.frombuffer(b, np.uint8), 1)) for e, b in rec.store.read(entries)
    ]


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_recording_survives_resolution_change_and_signal_loss(storage, tmp_path):
    server = MjpegServer()
    video = AvVideo(server.url, fps=25.0, reconnect_min_secs=0.2, reconnect_max_secs=1.0)
    ring = FrameRing(8)
    capture = CaptureThread("tv", video, ring)
    options = dict(
        lab_options.defaults("recording"), fps=5.0, storage=storage, folder=str(tmp_path)
    )
    rec = Recorder("tv", ring, video.fps, options, lab="t")
    capture.start()
    rec.start()
    try:
        deadline = time.monotonic() + 10
        while not (video.signal and rec.frames_recorded >= 5) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert video.signal, video.last_error
        server.size = (1280, 720)
        time.sleep(1.5)
        server.stop()  # no signal: black frames of the last size
        deadline = time.monotonic() + 5
        while video.signal and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not video.signal
        time.sleep(1.5)
        pictures = _pictures(rec)
    finally:
        server.stop()
        rec.stop()
        capture.stop()
        rec.join(3)
        capture.join(3)
        video.close()
    # real pictures (numbered by the server) at the first size, then at the second
    shapes = [p.shape for _, p in pictures if number(p) is not None]
    assert (360, 640, 3) in shapes and (720, 1280, 3) in shapes
    assert shapes.index((720, 1280, 3)) > len(shapes) - 1 - shapes[::-1].index((360, 640, 3))
    black = [p for _, p in pictures[-5:]]
    assert all(p.shape == (720, 1280, 3) and p.max() < 20 for p in black)
    times = [t for t, _ in pictures]
    assert times == sorted(times)
    gaps = np.diff(times)
    assert gaps.max() < 1.0  # never a hole: signal loss is recorded as black

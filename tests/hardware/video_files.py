"""Capture sources for the daemon's video tests: lossless H.264 files made with PyAV,
and a lease on a device of a served lab (see the ``served_lab`` fixture)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient


def write_lossless(path: Path, frames: Iterable[np.ndarray], fps: int) -> None:
    """Write BGR ``frames`` (all one size) as H.264 with ``qp=0`` in yuv444p: only the
    RGB -> YUV rounding changes a pixel."""
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv444p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"qp": "0"}
        for i, frame in enumerate([first, *frames]):
            video = av.VideoFrame.from_ndarray(frame, format="bgr24")
            video.pts = i
            out.mux(stream.encode(video))
        out.mux(stream.encode(None))


def lease(address: str, device: str) -> DeviceClient:
    """A 60 s lease on ``device`` of the lab served at ``address`` ($BENCH_TOKEN)."""
    client = LabClient.connect(address, os.environ["BENCH_TOKEN"], client_name="tests")
    return DeviceClient(client, client.lease(device, "tests", 60))

"""Helpers for the fleet tests: calls run in the background, and a lab of unlike devices.

:class:`Background` runs one blocking client call on its own thread and notes when it
ended and how. :func:`mixed_lab` serves a real daemon (``python -m lab_daemon serve``)
with a simulated box (video, remote, power, serial, audio, sim) beside a "TV" whose only
part is video from an MP4 file, so that requirements can tell them apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np

from pytest_virtualpy.lab.imaging import encode_image
from tests.monitor_lab import Served, serve_lab

#: a reference no frame ever shows: a wait for it runs its whole timeout
NEVER = encode_image(np.random.default_rng(7).integers(0, 255, (40, 40, 3), dtype=np.uint8))


class Background:
    """``fn(*args)`` on a thread: ``.result`` or ``.error`` and ``.ended`` (monotonic)."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        self.result: Any = None
        self.error: BaseException | None = None
        self.ended: float | None = None
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, fn, args, kwargs) -> None:
        try:
            self.result = fn(*args, **kwargs)
        except BaseException as e:  # handed to the test
            self.error = e
        finally:
            self.ended = time.monotonic()

    def join(self, timeout: float) -> Background:
        self._thread.join(timeout)
        assert self.ended is not None, f"the call did not end within {timeout} s"
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


def numbered_mp4(path: Path, frames: int = 30, fps: int = 10) -> Path:
    """A small looping H.264 file whose frames differ (a moving bar)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for n in range(frames):
            img = np.full((180, 320, 3), 60, np.uint8)
            img[:, n * 10 : n * 10 + 10] = 255
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(stream.encode(None))
    return path


def mixed_lab(folder: Path, name: str = "mixed") -> Served:
    """A daemon with ``box`` (a simulated set-top box) and ``tv`` (model plain-tv, video only)."""
    folder.mkdir(parents=True, exist_ok=True)
    mp4 = numbered_mp4(folder / "tv.mp4")
    devices = (
        '[[devices]]\nname = "box"\nkind = "sim"\nfps = 10\nboot_secs = 0.5\n\n'
        '[[devices]]\nname = "tv"\nmodel = "plain-tv"\n'
        f'video = {{ source = "{mp4}", loop = true }}\n'
    )
    return serve_lab(folder, name, devices=devices)

"""The rolling recording of one device: a worker that keeps JPEG frames at a reduced rate.

Why JPEG at a reduced rate, and no video encoder in the daemon: encoding 720p60 with
libx264 ``ultrafast`` costs about 13 ms a frame here (most of a core at 60 fps) and would
run all the time, for clips almost nobody asks for. A 720p JPEG costs a few ms, at 10 fps
that is a few percent of a core; the few clips that are asked for are transcoded to H.264
by the client (the test machine), not on the lab host. Each JPEG is independent, so a
change of resolution or black no-signal frames never break the recording (stb-tester's
breaks on a resolution change), and the oldest frame can be dropped at any time.

The frames come from the device's :class:`~lab_daemon.capture.FrameRing`: the worker
wakes at the recording rate, takes the newest frame and never holds the capture up.
A still screen costs no encoding: when the capture hands over the very same read-only
array as the frame encoded last (the simulator does, for a screen that did not change),
that frame's JPEG is kept again (4 idle simulated boxes: about 10% of a core saved).

>>> rec = Recorder("tv-1", ring, 30.0, lab_options.defaults("recording"))  # doctest: +SKIP
>>> rec.start()                      # doctest: +SKIP
>>> rec.info()["frames"]             # a second later               # doctest: +SKIP
10
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from pathlib import Path

import cv2

from lab_daemon.capture import FrameRing
from lab_daemon.recording.store import DiskStore, MemoryStore
from pytest_virtualpy.errors import ConfigError, LabError

log = logging.getLogger(__name__)

STORAGES = ("memory", "disk")
QUALITY = (30, 95)


def check(options: dict, where: str = "lab.toml: [lab.recording]") -> None:
    """Raise a ConfigError naming the key and the fix for a value that cannot work."""
    if options["storage"] not in STORAGES:
        raise ConfigError(
            f"{where}: storage must be one of {', '.join(STORAGES)}, not {options['storage']!r}"
        )
    for key in ("seconds", "fps", "max_mb"):
        if not options[key] > 0:
            raise ConfigError(f"{where}: {key} must be positive, not {options[key]!r}")
    if not QUALITY[0] <= options["quality"] <= QUALITY[1]:
        raise ConfigError(
            f"{where}: quality must be {QUALITY[0]} to {QUALITY[1]}, not {options['quality']!r}"
        )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "_"


def default_folder(lab: str, device: str) -> Path:
    """Where ``storage = "disk"`` keeps a device's segments when ``folder`` is not set.

    >>> default_folder("bench 1", "tv/1").parts[-2:]
    ('virtualpy-recording-bench_1', 'tv_1')
    """
    return Path(tempfile.gettempdir()) / f"virtualpy-recording-{_safe(lab)}" / _safe(device)


class Recorder(threading.Thread):
    """Samples ``ring`` at ``[lab.recording] fps`` (at most ``capture_fps``) into a store."""

    def __init__(
        self, device: str, ring: FrameRing, capture_fps: float, options: dict, lab: str = "lab"
    ):
        super().__init__(name=f"recording-{device}", daemon=True)
        check(options)
        self.device = device
        self.ring = ring
        self.fps = min(float(options["fps"]), float(capture_fps))
        self.quality = int(options["quality"])
        max_bytes = int(options["max_mb"] * (1 << 20))
        if options["storage"] == "disk":
            folder = Path(options["folder"]) / _safe(device) if options["folder"] else None
            self.store = DiskStore(
                options["seconds"], max_bytes, folder or default_folder(lab, device)
            )
        else:
            self.store = MemoryStore(options["seconds"], max_bytes)
        self.storage = options["storage"]
        self.audio = bool(options.get("audio", True))  # clips may include the device's sound
        self.frames_recorded = 0
        self.frames_reused = 0  # recorded without encoding: the capture repeated its array
        self.encode_errors = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        period = 1.0 / self.fps
        due = time.monotonic()
        last_time = None
        last_pixels, last_jpeg = None, b""  # the read-only array last encoded, and its JPEG
        params = [cv2.IMWRITE_JPEG_QUALITY, self.quality]
        try:
            while not self._stop_event.is_set():
                now = time.monotonic()
                if now < due:
                    self._stop_event.wait(due - now)
                    continue
                due = max(due + period, now)  # behind: skip, never catch up in a burst
                try:
                    frame = self.ring.latest(timeout=period)
                except LabError:
                    if self.ring.closed:
                        return
                    continue  # no frame yet (or a stall): the recording has a gap
                if frame.time == last_time:
                    continue  # capture slower than recording: keep each frame once
                last_time = frame.time
                pixels = frame.base if frame.base is not None else frame
                if pixels is not last_pixels or frame.flags.writeable:
                    ok, jpeg = cv2.imencode(".jpg", frame, params)
                    if not ok:
                        self.encode_errors += 1
                        continue
                    last_pixels, last_jpeg = pixels, jpeg.tobytes()
                else:  # the very same read-only pixels (a still screen): the same JPEG
                    self.frames_reused += 1
                self.store.append(frame.time, frame.shape[1], frame.shape[0], last_jpeg)
                self.frames_recorded += 1
        except Exception:  # a recorder bug must not take the daemon down
            log.exception("recording of %s stopped", self.device)

    def stop(self) -> None:
        self._stop_event.set()

    def info(self) -> dict:
        """What is recorded now: oldest/newest time, frames, bytes, rate and bounds."""
        return dict(
            self.store.info(),
            fps=self.fps,
            storage=self.storage,
            seconds=self.store.seconds,
            max_bytes=self.store.max_bytes,
            recording=self.is_alive(),
            audio=self.audio,
            frames_recorded=self.frames_recorded,
        )

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker to end; then its stored frames (and disk segments) go."""
        super().join(timeout)
        if not self.is_alive():
            self.store.close()

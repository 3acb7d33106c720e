"""The running lab: devices, their capture threads, consoles and leases."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab_daemon import lab_options
from lab_daemon.audio import AudioRing, AudioThread, ring_seconds
from lab_daemon.capture import CaptureThread, FrameRing
from lab_daemon.console import Console
from lab_daemon.devices.base import Device
from lab_daemon.leases import LeaseTable
from lab_daemon.monitor import attach_monitors
from lab_daemon.recording.recorder import Recorder
from pytest_virtualpy.errors import DeviceUnavailable


@dataclass
class DeviceRuntime:
    """A device together with what the daemon runs for it."""

    device: Device
    ring: FrameRing
    capture: CaptureThread
    console: Console | None
    #: background threads beside the capture (audio, recording, monitoring): each has
    #: ``start()``, ``stop()`` and ``join(timeout)``; started after, stopped before capture
    workers: list = field(default_factory=list)
    #: the rolling recording (a worker too), None with [lab.recording] enabled = false
    recorder: Any = None
    #: the device's recent sound (its AudioThread is in ``workers``); None without audio
    audio: AudioRing | None = None

    def info(self) -> dict:
        d = self.device
        return {
            "name": d.name,
            "model": d.model,
            "kind": d.kind,
            "capabilities": d.capabilities,
            "width": d.video.width,
            "height": d.video.height,
            "fps": d.video.fps,
            # name -> the file's name in its folder, read with device_file(lease, name, path)
            "files": {name: Path(path).name for name, path in d.files.items()},
        }

    def health(self) -> dict:
        try:
            age = time.time() - (self.ring.latest(timeout=0).time or 0)
        except Exception:
            age = None
        return {
            "frames_captured": self.capture.frames_captured,
            "frames_dropped": self.capture.frames_dropped,
            "capturing": self.capture.is_alive(),
            "signal": bool(getattr(self.device.video, "signal", True)),  # False: no-signal
            "last_frame_age_secs": None if age is None else round(age, 3),
            #: {rate, chunks, gaps, overlaps, last_chunk_age_secs}; None without audio
            "audio": None if self.audio is None else self.audio.stats(),
        }


RING_BYTES = 32 << 20  # frames kept per device: enough history, bounded memory on a Pi
RING_FRAMES = (8, 32)  # ... but never fewer than 8 frames nor more than 32


def ring_frames(width: int, height: int) -> int:
    """How many frames of this size a device's ring keeps (12 at 720p, 8 at 1080p)."""
    frame = max(1, int(width) * int(height) * 3)
    return max(RING_FRAMES[0], min(RING_FRAMES[1], RING_BYTES // frame))


class LabHost:
    """Owns every device of one lab host for the daemon's lifetime."""

    def __init__(
        self,
        name: str,
        devices: list[Device],
        ring_size: int | None = None,
        tables: dict[str, dict] | None = None,
    ):
        if len({d.name for d in devices}) != len(devices):
            raise ValueError("device names must be unique")
        self.name = name
        #: lab.toml's [lab.recording], [lab.live], [lab.monitor] (defaults where absent)
        self.tables = {t: lab_options.defaults(t) for t in lab_options.TABLES}
        self.tables.update(tables or {})
        self.started = time.time()
        #: the live page's address once it listens (``{"port", "bind"}``), for hello()
        self.live: dict | None = None
        self.leases = LeaseTable((d.name for d in devices), lab=name)
        self._runtimes: dict[str, DeviceRuntime] = {}
        for d in devices:
            ring = FrameRing(ring_size or ring_frames(d.video.width, d.video.height))
            console = Console(d.serial) if d.serial is not None else None
            self._runtimes[d.name] = DeviceRuntime(
                d, ring, CaptureThread(d.name, d.video, ring), console
            )
            self._add_audio(self._runtimes[d.name])
            self._add_recorder(self._runtimes[d.name])
        #: what the watchdogs found ([lab.monitor]); they are in each device's workers
        self.incidents = attach_monitors(self)

    def _add_audio(self, rt: DeviceRuntime) -> None:
        source = rt.device.audio
        if source is not None:
            rt.audio = AudioRing(source.rate, ring_seconds(self.tables["recording"]))
            rt.workers.append(AudioThread(rt.device.name, source, rt.audio))

    def _add_recorder(self, rt: DeviceRuntime) -> None:
        options = self.tables["recording"]
        if options.get("enabled", True):
            rt.recorder = Recorder(rt.device.name, rt.ring, rt.device.video.fps, options, self.name)
            rt.workers.append(rt.recorder)

    def start(self) -> None:
        for rt in self._runtimes.values():
            rt.device.start()
            rt.capture.start()
            for worker in rt.workers:
                worker.start()

    def wait_for_video(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` s for every device's first real frame; the ones still
        without a signal (their sources keep reconnecting)."""
        deadline = time.monotonic() + timeout
        waiting = list(self._runtimes.values())
        while waiting and time.monotonic() < deadline:
            waiting = [
                rt
                for rt in waiting
                if not (getattr(rt.device.video, "signal", True) and rt.capture.frames_captured)
            ]
            if waiting:
                time.sleep(0.05)
        return [rt.device.name for rt in waiting]

    def stop(self) -> None:
        for rt in self._runtimes.values():
            for worker in rt.workers:
                worker.stop()
            rt.capture.stop()
        for rt in self._runtimes.values():
            for worker in rt.workers:
                worker.join(timeout=2)
            rt.capture.join(timeout=2)
            rt.device.stop()

    @property
    def runtimes(self) -> list[DeviceRuntime]:
        return list(self._runtimes.values())

    def runtime(self, name: str) -> DeviceRuntime:
        try:
            return self._runtimes[name]
        except KeyError:
            raise DeviceUnavailable(
                f"no device {name!r} on lab {self.name!r}; devices: {', '.join(self._runtimes)}"
            ) from None

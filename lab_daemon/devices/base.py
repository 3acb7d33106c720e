"""The hardware protocols a lab device is made of.

Like labgrid's protocols: small abstract classes, with one driver per kind of
hardware behind them. A :class:`Device` is a named bundle of these; any part may
be missing (a TV with no serial console, a box with no ADB).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np


class VideoSource(abc.ABC):
    """A source of timestamped frames (an HDMI capture, or the simulator)."""

    fps: float
    width: int
    height: int

    @abc.abstractmethod
    def read(self) -> tuple[np.ndarray, float]:
        """Block until the next frame is captured; return it with its timestamp.

        The returned array must not be modified afterwards by the source.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the hardware."""


class KeySender(abc.ABC):
    """Something that presses remote-control keys (IR blaster, sim input)."""

    @abc.abstractmethod
    def press(self, key: str, hold_secs: float | None = None) -> float:
        """Press ``key``; return the time the press was sent (``time.time()`` scale)."""

    @abc.abstractmethod
    def keys(self) -> list[str]:
        """Key names this remote knows."""


class PowerSwitch(abc.ABC):
    """A switchable power supply (smart plug, PDU, the simulator's switch)."""

    @abc.abstractmethod
    def set(self, on: bool) -> None: ...

    @abc.abstractmethod
    def get(self) -> bool: ...


class SerialPort(abc.ABC):
    """A byte-oriented console connection."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None: ...

    @abc.abstractmethod
    def read_available(self) -> bytes:
        """Return (and consume) whatever bytes have arrived, without blocking."""

    @abc.abstractmethod
    def wait_for_data(self, timeout: float) -> None:
        """Block until more data arrives or ``timeout`` passes."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the port."""


class AudioSource(abc.ABC):
    """Sound from the device: an HDMI capture's ALSA device, a stream's audio, the simulator.

    Samples are mono signed 16-bit at :attr:`rate`, stamped on the same clock as the
    video frames (``time.time()`` on the lab host), so a clip's sound and picture line up.
    """

    rate: int  # samples per second

    @abc.abstractmethod
    def read(self) -> tuple[np.ndarray, float]:
        """Block until the next chunk arrives; return it (int16, shape ``(n,)``) with the
        time of its first sample."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the hardware."""


class AdbShell(abc.ABC):
    """An Android Debug Bridge link to the device: shell commands and device facts."""

    @abc.abstractmethod
    def shell(self, command: str, timeout: float) -> tuple[int, bytes]:
        """Run ``command`` on the device; its exit status and output (bounded)."""

    @abc.abstractmethod
    def info(self) -> dict:
        """What the link knows: ``{"serial", "model", ...}``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Drop the connection."""


class SimControl(abc.ABC):
    """Fault switches and ground truth: only simulated devices have these."""

    @abc.abstractmethod
    def inject(self, fault: str, params: dict) -> None: ...

    @abc.abstractmethod
    def clear(self) -> None: ...

    @abc.abstractmethod
    def faults(self) -> dict: ...

    @abc.abstractmethod
    def events(self) -> list[dict]: ...

    @abc.abstractmethod
    def state(self) -> dict:
        """What the simulator knows it shows: ``{"screen", "powered"}``."""


@dataclass
class Device:
    """A named device under test and the hardware that reaches it."""

    name: str
    model: str
    kind: str
    video: VideoSource
    keys: KeySender | None = None  # the remote; a bench may have none
    power: PowerSwitch | None = None
    serial: SerialPort | None = None
    adb: AdbShell | None = None
    audio: AudioSource | None = None
    sim: SimControl | None = None
    #: named files clients may read with the files of their folder (``device_file``):
    #: name -> the file's path on this host, e.g. {"navigation": "/srv/lab/nav/tree.toml"}
    files: dict[str, str] = field(default_factory=dict)

    @property
    def capabilities(self) -> list[str]:
        """The device's parts, by the names tests ask for them (its ``keys`` is "remote")."""
        parts = {"remote": self.keys, "power": self.power, "serial": self.serial}
        parts.update(adb=self.adb, audio=self.audio, sim=self.sim)
        return ["video", *(name for name, part in parts.items() if part is not None)]

    def start(self) -> None:
        """Start background parts (the simulator's clock, consoles)."""

    def stop(self) -> None:
        for part in (self.video, self.audio, self.keys, self.power, self.serial, self.adb):
            close = getattr(part, "close", None)
            if close is not None:
                close()

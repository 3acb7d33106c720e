"""Drivers that connect the simulated set-top box to the device protocols.

To the daemon the simulator is a device like any other: frames come through a
:class:`VideoSource`, keys through a :class:`KeySender`, the console through the
same pyserial driver a real UART uses (the simulator serves a pty), sound through an
:class:`AudioSource` paced like a capture card's.
"""

from __future__ import annotations

import time

import numpy as np

from lab_daemon import lease_guard
from lab_daemon.devices.base import (
    AudioSource,
    Device,
    KeySender,
    PowerSwitch,
    SimControl,
    VideoSource,
)
from lab_daemon.devices.serial_port import PySerialPort
from lab_daemon.sim import SimulatedBox


class SimVideo(VideoSource):
    """Paces the simulator's renderer at its frame rate, like a capture card."""

    def __init__(self, box: SimulatedBox):
        self.box = box
        self.fps = box.fps
        self.width = box.width
        self.height = box.height
        self._next = time.time()

    @property
    def signal(self) -> bool:
        """False while the box is switched off: a capture card sees no HDMI signal then."""
        return self.box.powered

    def read(self) -> tuple[np.ndarray, float]:
        period = 1.0 / self.fps
        now = time.time()
        if self._next > now:
            time.sleep(self._next - now)
        elif now - self._next > period:  # fell behind: skip the missed ticks
            self._next += (now - self._next) // period * period
        t = time.time()
        self._next += period
        return self.box.render(t), t


class SimAudio(AudioSource):
    """Paces the simulator's sound in real time, in chunks of ``chunk_secs``, like ALSA.

    Chunk boundaries are fixed sample indices (sample ``k`` at ``k / rate`` on the same
    ``time.time()`` clock as :class:`SimVideo`), and a chunk is rendered once its last
    sample has happened, so its samples depend only on the box's state at their times.
    A reader that falls more than a second behind skips ahead (a capture overrun).
    """

    def __init__(self, box: SimulatedBox, chunk_secs: float = 0.02):
        self.box = box
        self.rate = box.audio_rate
        self.chunk = max(1, round(chunk_secs * self.rate))
        self._next = round(time.time() * self.rate / self.chunk) * self.chunk

    def read(self) -> tuple[np.ndarray, float]:
        first = self._next
        end_t = (first + self.chunk) / self.rate
        now = time.time()
        if now - end_t > 1.0:  # fell behind: start again from the current chunk
            first = int(now * self.rate) // self.chunk * self.chunk - self.chunk
            end_t = (first + self.chunk) / self.rate
        elif end_t > now:
            time.sleep(end_t - now)
        self._next = first + self.chunk
        return self.box.sound(first, self.chunk), first / self.rate


class SimKeys(KeySender):
    def __init__(self, box: SimulatedBox):
        self.box = box

    def press(self, key: str, hold_secs: float | None = None) -> float:
        """Press ``key``; the box's ground truth records the lease it was pressed under
        (so a benchmark can prove no two leases ever drove the box at once)."""
        t = time.time()
        lease = lease_guard.current()
        self.box.press_key(key, t, lease.lease_id if lease is not None else None)
        return t

    def keys(self) -> list[str]:
        return self.box.keys()


class SimPower(PowerSwitch):
    def __init__(self, box: SimulatedBox):
        self.box = box

    def set(self, on: bool) -> None:
        if on:
            self.box.power_on()
        else:
            self.box.power_off()

    def get(self) -> bool:
        return self.box.powered


class SimFaults(SimControl):
    def __init__(self, box: SimulatedBox):
        self.box = box

    def inject(self, fault: str, params: dict) -> None:
        self.box.inject(fault, **params)

    def clear(self) -> None:
        self.box.clear()

    def faults(self) -> dict:
        return self.box.faults()

    def events(self) -> list[dict]:
        return self.box.events()

    def state(self) -> dict:
        return {"screen": self.box.screen, "powered": self.box.powered, "popup": self.box.popup}


class SimDevice(Device):
    """A :class:`Device` whose hardware is a :class:`SimulatedBox`."""

    def __init__(self, box: SimulatedBox):
        self.box = box
        box.start()
        super().__init__(
            name=box.name,
            model=box.model,
            kind="sim",
            video=SimVideo(box),
            keys=SimKeys(box),
            power=SimPower(box),
            serial=PySerialPort(box.serial_path),
            audio=SimAudio(box),
            sim=SimFaults(box),
        )

    def stop(self) -> None:
        super().stop()
        self.box.stop()

"""Drivers that connect the simulated set-top box to the device protocols.

To the daemon the simulator is a device like any other: frames come through a
:class:`VideoSource`, keys through a :class:`KeySender`, the console through the
same pyserial driver a real UART uses (the simulator serves a pty).
"""

from __future__ import annotations

import time

import numpy as np

from lab_daemon.devices.base import Device, KeySender, PowerSwitch, SimControl, VideoSource
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


class SimKeys(KeySender):
    def __init__(self, box: SimulatedBox):
        self.box = box

    def press(self, key: str, hold_secs: float | None = None) -> float:
        t = time.time()
        self.box.press_key(key, t)
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
        return {"screen": self.box.screen, "powered": self.box.powered}


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
            sim=SimFaults(box),
        )

    def stop(self) -> None:
        super().stop()
        self.box.stop()

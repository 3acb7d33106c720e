"""The simulated set-top box (lab_daemon.sim) on a fake clock, for tests that drive it.

A test module binds the fixtures (``clock, box = sim_box.clock, sim_box.box``) and
renders frames with :func:`idle`, :func:`press` and :func:`run`; :data:`L` is the
box's 1280x720 layout and :func:`panel_fraction` tells whether an overlay is showing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from lab_daemon.sim import Layout, SimulatedBox

L = Layout(1280, 720)
PANEL_BGR = (66, 40, 32)  # overlay panel colour (RGB 32,40,66)
FPS = 60.0


class FakeClock:
    """A manually advanced clock shared by the box and the test."""

    def __init__(self, t: float = 10_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def crop(frame: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = rect
    return frame[y0:y1, x0:x1]


def panel_fraction(frame: np.ndarray, rect: tuple[int, int, int, int]) -> float:
    """Fraction of ``rect`` painted in the overlay panel colour."""
    return float(np.all(crop(frame, rect)[::3, ::3] == PANEL_BGR, axis=2).mean())


def run(
    box: SimulatedBox,
    clock: FakeClock,
    secs: float,
    probe: Callable[[np.ndarray], Any] | None = None,
) -> list[tuple[float, Any]]:
    """Render frames at FPS for ``secs`` seconds of fake time; return (t, frame) pairs,
    or (t, probe(frame)) to avoid keeping hundreds of full frames alive."""
    out = []
    for _ in range(round(secs * FPS)):
        clock.t += 1 / FPS
        frame = box.render(clock.t)
        out.append((clock.t, frame if probe is None else probe(frame)))
    return out


def idle(box: SimulatedBox, clock: FakeClock, secs: float) -> np.ndarray:
    """Render frames for ``secs`` seconds of fake time; return the last one."""
    frame = None
    for _ in range(max(1, round(secs * FPS))):
        clock.t += 1 / FPS
        frame = box.render(clock.t)
    return frame


def press(box: SimulatedBox, clock: FakeClock, *keys: str, gap: float = 0.3) -> np.ndarray:
    """Press ``keys`` one after another, rendering ``gap`` seconds after each."""
    frame = None
    for key in keys:
        box.press_key(key)
        frame = idle(box, clock, gap)
    return frame


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def box(clock: FakeClock):
    """A box already booted to home (boot_secs=0), console started."""
    b = SimulatedBox(clock=clock, boot_secs=0)
    b.start()
    idle(b, clock, 0.1)
    yield b
    b.stop()

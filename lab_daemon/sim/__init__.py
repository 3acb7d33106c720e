"""A simulated set-top box for developing and self-testing virtualpy without hardware.

Pure numpy / OpenCV / Pillow / stdlib. ``SimulatedBox`` renders HDMI-like frames on
demand, plays a tone per channel on live TV (:mod:`lab_daemon.sim.sound`), takes
remote-control keys, serves a serial console on a pty and records ground truth about
every key press. See :mod:`lab_daemon.sim.box`.
"""

from __future__ import annotations

from pytest_virtualpy.errors import UnknownKeyError

from .box import SimulatedBox
from .channels import CHANNELS, Channel
from .keys import KEYS
from .layout import HOME_TILES, SETTINGS_ITEMS, Layout

__all__ = [
    "CHANNELS",
    "HOME_TILES",
    "KEYS",
    "SETTINGS_ITEMS",
    "Channel",
    "Layout",
    "SimulatedBox",
    "UnknownKeyError",
]

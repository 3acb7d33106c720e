"""Regions reaching to the frame's edge (``below()``, ``right_of()``...) cross the wire.

``Region.below()`` and friends run "to the edge of the frame", which for a region not
knowing its frame means to `Region.ALL`'s edge, far beyond the daemon's coordinate
bound. The client clips them to that bound; the daemon clips to the frame.
"""

from __future__ import annotations

from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from pytest_virtualpy.vision import Region


def test_regions_to_the_frame_edge_reach_the_daemon(device):
    screen = TvScreen(device, StepLog(), lambda name, data: None)
    full = screen.get_frame()
    height, width = full.shape[:2]
    band = Region(0, height - 30, width, 10)
    assert screen.get_frame(band.below()).shape[:2] == (20, width)
    assert screen.get_frame(band.above()).shape[:2] == (height - 30, width)
    assert screen.get_frame(Region(width - 8, 0, 4, height).right_of()).shape[:2] == (height, 4)
    assert screen.get_frame(Region(0, 0, 100, 40).below(20)).shape[:2] == (20, 100)

"""`tv_screen.match_text` / `wait_for_text` report where the words are in the frame.

The daemon sends only the searched region's pixels, so OCR sees a crop; the region of
the matched words must still come back in frame coordinates. Real daemon over RPyC
(the simulated lab of tests/conftest.py), real OCR.
"""

from __future__ import annotations

from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from pytest_virtualpy.vision import Region


def test_matched_words_are_in_frame_coordinates(device):
    screen = TvScreen(device, StepLog(), lambda name, data: None)
    whole = screen.wait_for_text("Settings", timeout=20)  # the home screen's tile
    assert whole
    around = Region(whole.region.x - 60, whole.region.y - 30, whole.region.width + 120, 90)
    found = screen.match_text("Settings", region=around)
    assert found
    assert around.contains(found.region)
    assert abs(found.region.x - whole.region.x) <= 3 and abs(found.region.y - whole.region.y) <= 3
    waited = screen.wait_for_text("Settings", region=around, timeout=5)
    assert waited.region == found.region
    missing = screen.match_text("Parental control", region=around)
    assert not missing and missing.region == around

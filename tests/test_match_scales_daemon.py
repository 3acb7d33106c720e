"""`MatchParameters.scales` over the wire: real daemon, real RPyC, simulated box."""

from __future__ import annotations

import cv2
import pytest

from pytest_virtualpy import vision
from pytest_virtualpy.lab.imaging import decode_image, encode_image
from tests.conftest import wait_until
from tests.sim_frames import wait_for_home_frame

TILES = (64, 446, 1152, 144)  # the home tiles row, static


def test_a_1080p_reference_is_found_on_the_720p_box(device):
    wait_for_home_frame(device)  # and its tiles still: the reference is cut from this frame
    wait_until(lambda: device.is_frozen(TILES, None, 0.3, None)["frozen"], timeout=5)
    _, png = device.get_frame(region=TILES)
    at_1080p = cv2.resize(decode_image(png), None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    reference = encode_image(at_1080p)
    assert not device.match(reference, None, None)["match"]
    params = vision.MatchParameters(scales=(1.0, 720 / 1080)).to_dict()
    found = vision.MatchResult.from_dict(device.match(reference, None, params))
    assert found, found
    assert found.scale == pytest.approx(2 / 3)
    assert found.region.x == pytest.approx(TILES[0], abs=2)
    assert found.region.y == pytest.approx(TILES[1], abs=2)
    assert found.region.width == pytest.approx(TILES[2], abs=1)
    waited = device.wait_for_match(reference, None, params, 5.0, 1)
    assert not waited["timed_out"] and waited["result"]["scale"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "scales, message",
    [([], "empty"), ([1.0] * 17, "at most 16"), ([0.01], "from 0.125 to 8"), ("big", "sequence")],
)
def test_bad_scales_are_refused_with_a_clear_error(device, scales, message):
    _, png = device.get_frame(region=(0, 0, 40, 40))
    with pytest.raises(ValueError, match=message):
        device.match(png, None, {"scales": scales})

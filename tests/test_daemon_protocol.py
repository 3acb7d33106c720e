"""The daemon's primitives end to end: real daemon process, real RPyC, simulated box."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from pytest_virtualpy import vision
from pytest_virtualpy.errors import ImageError, UnknownKeyError
from pytest_virtualpy.lab.imaging import decode_image, encode_image
from tests.conftest import wait_until

FRAME_PERIOD = 1 / 60


def test_list_devices_and_health(connect):
    client = connect()
    devices = client.list_devices()
    assert len(devices) == 3
    for d in devices:
        assert {"video", "remote", "power", "serial", "sim"} <= set(d["capabilities"])
        assert (d["width"], d["height"], d["fps"]) == (1280, 720, 60.0)
    first = client.health()["devices"]
    second = wait_until(
        lambda: (
            (h := client.health()["devices"])
            and all(h[n]["frames_captured"] > first[n]["frames_captured"] for n in h)
            and h
        )
    )
    assert all(v["capturing"] for v in second.values())


def test_unknown_key_names_close_matches(device):
    with pytest.raises(UnknownKeyError, match="KEY_CHANNELUP"):
        device.press("KEY_CHANELUP")
    known = device.keys()
    assert "KEY_OK" in known


def test_frames_as_png_and_jpeg_with_region(device):
    meta, png = device.get_frame()
    frame = decode_image(png)
    assert frame.shape == (720, 1280, 3)
    assert meta["time"] > 0
    meta2, jpeg = device.get_frame(fmt="jpeg", region=(100, 50, 200, 100))
    assert decode_image(jpeg).shape == (100, 200, 3)
    assert meta2["region"] == [100, 50, 200, 100]
    meta3, _ = device.get_frame(after=meta2["time"])
    assert meta3["time"] > meta2["time"]
    # a region partly outside the frame is clipped
    _, png4 = device.get_frame(region=(1200, 700, 200, 100))
    assert decode_image(png4).shape == (20, 80, 3)


def test_wait_for_match_finds_a_screen_and_times_out_with_evidence(device):
    _, png = device.get_frame(region=(64, 446, 1152, 144))  # the home tiles row
    reference = png
    device.press("KEY_OK")  # open Live TV
    wait_until(lambda: device.sim_state()["screen"] == "live_tv")
    device.get_frame(after=time.time())  # a frame captured after the switch
    assert not device.match(reference, None, None)["match"]
    device.press("KEY_HOME")
    found = device.wait_for_match(reference, None, None, 5.0, 1)
    assert not found["timed_out"]
    assert found["result"]["match"]
    assert found["result"]["region"][:2] == pytest.approx([64, 446], abs=2)

    noise = np.random.default_rng(1).integers(0, 255, (60, 60, 3), dtype=np.uint8)
    missing = device.wait_for_match(encode_image(noise), None, None, 0.5, 1)
    assert missing["timed_out"]
    assert missing["result"] is not None and not missing["result"]["match"]


def test_bad_reference_image_is_a_clear_error(device):
    with pytest.raises(ImageError, match="not a PNG or JPEG"):
        device.match(b"definitely not a png", None, None)


def test_motion_on_live_tv_and_freeze_fault(device):
    device.press("KEY_OK")
    wait_until(lambda: device.sim_state()["screen"] == "live_tv")
    moving = device.wait_for_motion(None, None, 5.0, "5/10", None)
    assert not moving["timed_out"]
    device.sim_inject("freeze", {})
    frozen = device.wait_for_motion(None, None, 1.0, "5/10", None)
    assert frozen["timed_out"]
    assert device.is_frozen(None, None, 1.0, None)["frozen"]


def test_black_fault_and_wait_for_black(device):
    assert not device.is_black(None, None, 10)["black"]
    device.sim_inject("black", {})
    assert not device.wait_for_black(None, None, 10, 3.0)["timed_out"]
    assert device.is_black(None, None, 10)["black"]
    device.sim_clear()
    wait_until(lambda: not device.is_black(None, None, 10)["black"])


def test_press_and_wait_agrees_with_ground_truth(device):
    """Timed on the same frames the box rendered (bench/kpi_accuracy.py gives the figures;
    two frames of slack here so a loaded machine that skips a frame does not fail it)."""
    tiles = (64, 446, 1152, 144)  # not the whole screen: home has a moving preview
    for _ in range(5):  # focus on the first tile, so KEY_RIGHT surely moves it
        device.press("KEY_LEFT")
    time.sleep(0.5)  # let the focus animations finish
    t = device.press_and_wait("KEY_RIGHT", tiles, None, 5.0, 0.3, None)
    assert t["status"] == "complete"
    truth = device.sim_events()[-1]
    assert truth["key"] == "KEY_RIGHT" and not truth["dropped"]
    assert abs(t["start_time"] - truth["first_change"]) <= 2 * FRAME_PERIOD + 1e-3
    assert abs(t["end_time"] - truth["settled"]) <= 2 * FRAME_PERIOD + 1e-3
    assert t["duration"] == pytest.approx(t["end_time"] - t["press_time"])


def test_serial_console_answers_version_and_uptime(device):
    device.serial_read(0.2)
    device.serial_write(b"version\r")
    got = device.serial_expect(r"firmware (\d+\.\d+\.\d+)", 5.0)
    assert got["matched"] and got["groups"] == ["4.2.1"]
    device.serial_write(b"uptime\r")
    assert device.serial_expect(r"up [\d.]+ s", 5.0)["matched"]
    missing = device.serial_expect("never-printed", 0.3)
    assert not missing["matched"]
    end, log = device.serial_log(0)
    assert b"version" in log and end >= len(log)


def test_power_off_shows_no_signal_and_on_boots(device):
    device.power("off")
    assert device.sim_state() == {"screen": "off", "powered": False, "popup": False}
    wait_until(lambda: vision.is_no_signal(decode_image(device.get_frame()[1])))
    device.serial_read(0.1)
    device.power("on")
    wait_until(lambda: device.sim_state()["screen"] == "home", timeout=15)
    assert b"4.2.1" in device.serial_read(1.0) + device.serial_log(0)[1]


def test_fault_errors_and_dropped_keys(device):
    with pytest.raises(ValueError, match="freeze"):
        device.sim_inject("melt", {})
    device.sim_inject("drop_keys", {"probability": 1.0})
    device.press("KEY_OK")
    event = wait_until(lambda: device.sim_events()[-1])
    assert event["key"] == "KEY_OK" and event["dropped"]
    assert device.sim_state()["screen"] == "home"
    assert "drop_keys" in device.sim_faults()


def test_jpeg_frame_is_close_to_png(device):
    _, png = device.get_frame(region=(0, 0, 320, 180))
    _, jpeg = device.get_frame(fmt="jpeg", region=(0, 0, 320, 180), quality=95)
    diff = cv2.absdiff(decode_image(png), decode_image(jpeg))
    assert diff.mean() < 10

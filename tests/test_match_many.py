"""Many checks on one frame in one call, references uploaded once by content (issue 11).

Through the real daemon over real RPyC, on a simulated box showing its home screen.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from pytest_virtualpy.errors import BadArgument, ImageError, LeaseLost
from pytest_virtualpy.lab.imaging import decode_image, png_pixels
from pytest_virtualpy.lab.wire import PUT_MAX_PIXELS
from pytest_virtualpy.screen_wire import image_bytes
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from pytest_virtualpy.vision import Region
from tests.conftest import wait_until
from tests.sim_frames import HOME, LIVE, SETTINGS, TITLE, wait_for_home_frame

LOGO = (40, 30, 300, 44)


@pytest.fixture
def device(device):
    """The leased box of tests/conftest.py, its newest frame showing the home screen."""
    wait_for_home_frame(device)
    return device


def unseen_reference() -> tuple[str, bytes]:
    """A reference no earlier test uploaded (the store lives as long as the daemon)."""
    noise = np.random.default_rng().integers(0, 255, (24, 24, 3), np.uint8)
    png = image_bytes(noise)
    return hashlib.sha256(png).hexdigest(), png


def test_unknown_references_are_reported_missing_then_evaluated_on_one_frame(device):
    fresh = unseen_reference()
    checks = [(HOME[0], TITLE, None), (LIVE[0], LOGO, None), (fresh[0], None, None)]
    assert fresh[0] in device.match_many(checks, [])["missing"]
    stored = device.put_references({HOME[0]: HOME[1], LIVE[0]: LIVE[1], fresh[0]: fresh[1]})
    assert stored == 3
    reply = device.match_many(checks, [TITLE, None])
    home, live, noise = reply["results"]
    assert home["match"] is True and home["region"][1] < 60
    assert live["match"] is False and noise["match"] is False
    # one frame: every result and both crops carry the same capture time
    assert {r["time"] for r in reply["results"]} == {reply["time"]}
    title, whole = (decode_image(png) for png in reply["crops"])
    assert title.shape[:2] == (60, 1280)
    assert whole.shape[:2] == (reply["height"], reply["width"]) == (720, 1280)
    assert np.array_equal(title, whole[:60])


def test_params_are_applied_per_check(device):
    # "Settings" looks like "Home" at first glance (same title bar); only the confirm
    # step tells them apart, so without it the settings reference matches on home
    device.put_references({SETTINGS[0]: SETTINGS[1]})
    lax = {"confirm_method": "none", "match_threshold": 0.9}
    reply = device.match_many([(SETTINGS[0], TITLE, None), (SETTINGS[0], TITLE, lax)], [])
    default, without_confirm = reply["results"]
    assert default["match"] is False and without_confirm["match"] is True


def test_a_reference_whose_bytes_do_not_have_its_hash_is_refused(device):
    with pytest.raises(BadArgument, match="SHA-256"):
        device.put_references({SETTINGS[0]: HOME[1]})
    with pytest.raises(BadArgument, match="64 lower-case hex digits"):
        device.put_references({"home.png": HOME[1]})
    with pytest.raises(ImageError, match="not a PNG or JPEG"):
        junk = b"not an image at all"
        device.put_references({hashlib.sha256(junk).hexdigest(): junk})


def test_a_bad_batch_stores_nothing(device):
    fresh = unseen_reference()
    with pytest.raises(BadArgument, match=r"refs\[1\]"):
        device.client.call(
            "put_references", device.lease_id, ((fresh[0], fresh[1]), (SETTINGS[0], HOME[1]))
        )
    assert device.match_many([(fresh[0], None, None)], [])["missing"] == [fresh[0]]


def test_too_many_checks_or_crops_are_refused_with_the_limit(device):
    device.put_references({HOME[0]: HOME[1]})
    with pytest.raises(BadArgument, match="at most 256 checks"):
        device.match_many([(HOME[0], TITLE, None)] * 257, [])
    with pytest.raises(BadArgument, match="at least one check or one crop"):
        device.match_many([], [])
    assert len(device.match_many([], [TITLE])["crops"]) == 1  # crops alone are fine
    with pytest.raises(BadArgument, match="at most 32 regions"):
        device.match_many([(HOME[0], TITLE, None)], [TITLE] * 33)


def test_bad_regions_are_refused_before_anything_is_evaluated(device):
    device.put_references({HOME[0]: HOME[1]})
    with pytest.raises(BadArgument, match=r"checks\[1\] region .* lies outside the 1280x720"):
        device.match_many([(HOME[0], TITLE, None), (HOME[0], (5000, 5000, 10, 10), None)], [])
    with pytest.raises(BadArgument, match=r"crops\[0\] .* lies outside"):
        device.match_many([(HOME[0], TITLE, None)], [(2000, 0, 10, 10)])
    with pytest.raises(BadArgument, match=r"x, y, width, height"):
        device.match_many([(HOME[0], (0, 0, 10), None)], [])
    with pytest.raises(BadArgument, match=r"x, y, width, height"):
        device.match_many([(HOME[0], TITLE, None)], [(0, 0, "wide", 10)])


def test_malformed_checks_say_what_a_check_is(device):
    for bad in ("{}", "[1, 2]", '[["' + HOME[0] + '", null, [1]]]', "not json"):
        with pytest.raises(BadArgument, match="checks"):
            device.client.call_bytes("match_many", device.lease_id, bad, ())
    with pytest.raises(BadArgument, match="erode_passes"):
        device.match_many([(HOME[0], TITLE, {"erode_passes": 99})], [])


def test_both_methods_need_the_callers_lease(device):
    for method, args in (
        ("put_references", ((HOME[0], HOME[1]),)),
        ("match_many", (json.dumps([[HOME[0], None, None]]), ())),
    ):
        call = device.client.call_bytes if method == "match_many" else device.client.call
        with pytest.raises(LeaseLost):
            call(method, "no-such-lease", *args)


def test_tv_screen_uploads_what_the_daemon_lacks_and_asks_again(device):
    screen = TvScreen(device, StepLog(), lambda name, data: Path(name))
    fresh = unseen_reference()
    refs = dict([HOME, fresh])
    checks = [(HOME[0], Region(*TITLE), None), (fresh[0], Region.ALL, None)]
    results, crops = screen.match_many(refs, checks, [Region(*LOGO)])
    assert [bool(r) for r in results] == [True, False]
    assert crops[0].shape[:2] == (44, 300) and crops[0].time == results[0].time
    assert device.match_many([(fresh[0], None, None)], [])["results"][0]["match"] is False


def test_checks_after_the_first_group_that_wholly_matched_are_not_evaluated(device):
    device.put_references({HOME[0]: HOME[1], LIVE[0]: LIVE[1], SETTINGS[0]: SETTINGS[1]})
    checks = [(LIVE[0], LOGO, None), (HOME[0], TITLE, None), (SETTINGS[0], TITLE, None)]
    # live TV does not match on home; [1, 0] needs both; home alone does, after check 1
    reply = device.match_many(checks, [], stop=[[0, [0]], [1, [1, 0]], [1, [1]]])
    live, home, settings = reply["results"]
    assert live["match"] is False and home["match"] is True and settings is None
    # home matches, but this group waits for check 2 (the last) to be judged first
    assert None not in device.match_many(checks, [], stop=[[2, [1]]])["results"]
    assert None not in device.match_many(checks, [])["results"]


def test_bad_stop_groups_name_the_group(device):
    device.put_references({HOME[0]: HOME[1]})
    for bad, message in (
        ([[0, [1]]], r"stop_json\[0\] must be \[after, \[check indices up to after\]\]"),
        ([[0, []]], r"stop_json\[0\]"),
        ([[0, [0]], [0, ["0"]]], r"stop_json\[1\]"),
        ([[1, [0]]], r"indices 0 to 0"),
        ([[0]], r"stop_json\[0\]"),
    ):
        with pytest.raises(BadArgument, match=message):
            device.match_many([(HOME[0], TITLE, None)], [], stop=bad)
    with pytest.raises(BadArgument, match="stop_json must be a list"):
        device.client.call_bytes(
            "match_many", device.lease_id, json.dumps([[HOME[0], None, None]]), (), "{}"
        )


def test_an_unchanged_screen_gives_the_same_results_on_every_frame(device):
    device.put_references({HOME[0]: HOME[1], SETTINGS[0]: SETTINGS[1]})
    checks = [(HOME[0], TITLE, None), (SETTINGS[0], TITLE, None)]
    first = device.match_many(checks, [])
    time.sleep(0.1)  # a few frames later
    again = device.match_many(checks, [])
    assert again["time"] > first["time"]  # another frame: each result carries its time
    for a, b in zip(first["results"], again["results"], strict=True):
        assert b["time"] == again["time"]
        assert {**a, "time": 0} == {**b, "time": 0}
    device.press("KEY_MENU")  # the title bar changes: the answers follow it
    wait_until(lambda: device.match_many(checks, [])["results"][1]["match"], timeout=3)
    assert device.match_many(checks, [])["results"][0]["match"] is False


def test_references_are_uploaded_in_as_many_calls_as_their_pixels_need(device):
    """18 full 1080p references: 37 Mpx, more than one put_references call may carry
    (PUT_MAX_PIXELS); few bytes each, so a split by bytes alone sent them in one call,
    which the daemon refused. They fit its store (112 MB decoded), so all are kept."""
    refs = {}
    for i in range(18):
        png = image_bytes(np.full((1080, 1920, 3), (i * 13, 40, 200 - i), np.uint8))
        refs[hashlib.sha256(png).hexdigest()] = png
    assert sum(png_pixels(p)[0] for p in refs.values()) > PUT_MAX_PIXELS
    assert device.put_references(refs) == 18
    checks = [(sha, None, None) for sha in refs]
    reply = device.match_many(checks, [])
    assert "missing" not in reply and len(reply["results"]) == 18

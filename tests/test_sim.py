"""Tests of the simulated set-top box (lab_daemon.sim), driven with a fake clock.

(Keys, determinism and the ground-truth event log: test_sim_events.py; the popup
fault: test_sim_popup.py; the box and its helpers: sim_box.py.)
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from lab_daemon.sim import CHANNELS, HOME_TILES, SETTINGS_ITEMS, SimulatedBox
from tests import sim_box
from tests.sim_box import FPS, FakeClock, L, crop, idle, panel_fraction, press, run

clock, box = sim_box.clock, sim_box.box  # a fake clock, and a box booted to home on it


def live(box: SimulatedBox, clock: FakeClock) -> None:
    press(box, clock, "KEY_OK", gap=0.2)
    assert box.screen == "live_tv"
    idle(box, clock, 3.5)  # entry banner gone


# --- boot, home, animation -------------------------------------------------------------


def test_boot_then_home(clock: FakeClock) -> None:
    b = SimulatedBox(clock=clock, boot_secs=2.0)
    b.start()
    try:
        assert b.screen == "boot"
        assert not idle(b, clock, 0.2).any()  # black first
        logo = idle(b, clock, 0.6)
        assert logo.any()
        later = idle(b, clock, 0.8)
        assert crop(later, L.boot_bar).mean() > crop(logo, L.boot_bar).mean()  # bar grows
        home = idle(b, clock, 0.5)
        assert b.screen == "home"
        tile0 = crop(home, L.home_tiles[0])
        assert np.all(tile0[2, 40] == (0, 196, 255))  # focus border on "Live TV"
    finally:
        b.stop()


def test_home_focus_animation(box: SimulatedBox, clock: FakeClock) -> None:
    assert box.screen == "home"
    tiles = (L.home_tiles[0][0] - 10, L.home_tiles[0][1] - 10, L.width, L.home_tiles[0][3] + 10)
    before = crop(idle(box, clock, 0.05), tiles).copy()
    t_press = clock.t
    box.press_key("KEY_RIGHT")
    frames = run(box, clock, 0.6)
    changes = [
        t
        for (t, f), (_, prev) in zip(frames[1:], frames[:-1], strict=True)
        if not np.array_equal(crop(f, tiles), crop(prev, tiles))
    ]
    first = next(t for t, f in frames if not np.array_equal(crop(f, tiles), before))
    assert first >= t_press + 0.04
    duration = changes[-1] - first
    assert 0.1 <= duration <= 0.25, duration
    final = frames[-1][1]
    assert np.all(crop(final, L.home_tiles[1])[2, 40] == (0, 196, 255))
    assert not np.all(crop(final, L.home_tiles[0])[2, 40] == (0, 196, 255))


def test_home_tiles_open_screens(box: SimulatedBox, clock: FakeClock) -> None:
    assert HOME_TILES == ("Live TV", "Guide", "Recordings", "Apps", "Settings", "Search")
    press(box, clock, "KEY_RIGHT", "KEY_RIGHT", "KEY_OK")
    assert box.screen == "recordings"
    press(box, clock, "KEY_BACK")
    assert box.screen == "home"
    press(box, clock, "KEY_RIGHT", "KEY_RIGHT", "KEY_OK")
    assert box.screen == "settings"
    press(box, clock, "KEY_HOME", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT")
    press(box, clock, "KEY_RIGHT", "KEY_OK")
    assert box.screen == "guide"


def test_static_screen_returns_same_readonly_array(box: SimulatedBox, clock: FakeClock) -> None:
    press(box, clock, "KEY_MENU")
    assert box.screen == "settings"
    frames = run(box, clock, 0.2)
    assert frames[-1][1] is frames[-2][1]
    f = frames[-1][1]
    assert f.shape == (720, 1280, 3) and f.dtype == np.uint8
    assert not f.flags.writeable
    with pytest.raises(ValueError):
        f[0, 0, 0] = 1


def test_home_preview_moves(box: SimulatedBox, clock: FakeClock) -> None:
    a, b = (f for _, f in run(box, clock, 0.1)[-2:])
    assert a is not b
    assert not np.array_equal(crop(a, L.home_preview), crop(b, L.home_preview))
    assert np.array_equal(crop(a, L.home_tiles[3]), crop(b, L.home_tiles[3]))


# --- live TV -------------------------------------------------------------------------------


def test_zap_black_then_banner_then_clean(box: SimulatedBox, clock: FakeClock) -> None:
    live(box, clock)
    assert box.channel == 101
    assert panel_fraction(idle(box, clock, 0.05), L.banner) < 0.2
    t_press = clock.t
    box.press_key("KEY_CHANNELUP")
    frames = run(box, clock, 4.5, lambda f: (not f.any(), panel_fraction(f, L.banner) > 0.5))
    black = [t for t, (is_black, _) in frames if is_black]
    assert black, "no black frames during the zap"
    assert black[0] >= t_press + 0.04
    assert 0.45 <= black[-1] - black[0] + 1 / FPS <= 0.55
    with_banner = [t for t, (_, banner) in frames if banner]
    assert with_banner[0] > black[-1]
    assert 2.8 <= with_banner[-1] - with_banner[0] <= 3.2
    assert box.channel == 102
    assert idle(box, clock, 0.02) is not idle(box, clock, 0.02)  # live video keeps moving


def test_channel_down_wraps_and_channels_distinct(box: SimulatedBox, clock: FakeClock) -> None:
    live(box, clock)
    a = idle(box, clock, 0.05)
    press(box, clock, "KEY_CHANNELDOWN", gap=1.0)
    assert box.channel == CHANNELS[-1].number == 112
    b = idle(box, clock, 3.5)
    diff = np.abs(a.astype(int) - b.astype(int)).mean()
    assert diff > 20


def test_digits_tune(box: SimulatedBox, clock: FakeClock) -> None:
    live(box, clock)
    frame = press(box, clock, "KEY_1", "KEY_0", gap=0.1)
    assert panel_fraction(frame, L.digits) > 0.4  # entry overlay shown
    press(box, clock, "KEY_8", gap=1.0)
    assert box.channel == 108
    frame = idle(box, clock, 0.1)
    assert panel_fraction(frame, L.digits) < 0.2
    # two digits then a 1.5 s timeout: "11" is not a channel
    press(box, clock, "KEY_1", "KEY_1", gap=0.1)
    assert panel_fraction(idle(box, clock, 1.2), L.message) < 0.2
    frame = idle(box, clock, 0.5)
    assert panel_fraction(frame, L.message) > 0.5  # "Channel not available"
    assert box.channel == 108
    press(box, clock, "KEY_1", "KEY_0", "KEY_4", gap=0.05)
    idle(box, clock, 1.0)
    assert box.channel == 104


def test_info_shows_banner_and_back_goes_home(box: SimulatedBox, clock: FakeClock) -> None:
    live(box, clock)
    assert panel_fraction(press(box, clock, "KEY_INFO", gap=0.1), L.banner) > 0.5
    press(box, clock, "KEY_EPG")
    assert box.screen == "guide"
    press(box, clock, "KEY_BACK")
    assert box.screen == "live_tv"
    press(box, clock, "KEY_BACK")
    assert box.screen == "home"


# --- guide, settings, about -----------------------------------------------------------------


def test_guide_focus_moves_and_tunes(box: SimulatedBox, clock: FakeClock) -> None:
    press(box, clock, "KEY_GUIDE")
    assert box.screen == "guide"
    before = idle(box, clock, 0.05)
    box.press_key("KEY_DOWN")
    frames = run(box, clock, 0.5)
    moving = [t for (t, f), (_, p) in zip(frames[1:], frames[:-1], strict=True) if f is not p]
    assert 0.1 <= moving[-1] - moving[0] <= 0.25
    assert not np.array_equal(before, frames[-1][1])
    for _ in range(8):  # scrolls down past the visible rows
        press(box, clock, "KEY_DOWN", gap=0.2)
    press(box, clock, "KEY_RIGHT", "KEY_OK")
    assert box.screen == "live_tv"
    idle(box, clock, 0.6)
    assert box.channel == 110


def test_settings_and_about_firmware(clock: FakeClock) -> None:
    frames = {}
    for version in ("4.2.1", "5.0.0"):
        b = SimulatedBox(clock=clock, boot_secs=0, firmware_version=version)
        b.start()
        try:
            idle(b, clock, 0.1)
            press(b, clock, "KEY_MENU", *["KEY_DOWN"] * (len(SETTINGS_ITEMS) - 1), "KEY_OK")
            assert b.screen == "about"
            assert b.about_lines()[0] == f"Firmware version {version}"
            frames[version] = idle(b, clock, 0.1)
            press(b, clock, "KEY_BACK")
            assert b.screen == "settings"
        finally:
            b.stop()
    a, c = frames["4.2.1"], frames["5.0.0"]
    assert not np.array_equal(crop(a, L.about_lines[0]), crop(c, L.about_lines[0]))
    assert np.array_equal(crop(a, L.about_lines[1]), crop(c, L.about_lines[1]))  # model line
    assert crop(a, L.about_lines[0]).max() > 200  # bright text


def test_volume_overlay(box: SimulatedBox, clock: FakeClock) -> None:
    assert panel_fraction(idle(box, clock, 0.05), L.volume) < 0.2
    t_press = clock.t
    box.press_key("KEY_VOLUMEUP")
    frames = run(box, clock, 2.5, lambda f: panel_fraction(f, L.volume) > 0.4)
    shown = [t for t, visible in frames if visible]
    assert shown[0] >= t_press + 0.04
    assert 1.9 <= shown[-1] - shown[0] <= 2.1
    assert box.volume == 35
    press(box, clock, "KEY_VOLUMEDOWN", "KEY_VOLUMEDOWN", "KEY_MUTE", gap=0.1)
    assert box.volume == 25


def test_standby_and_resume(box: SimulatedBox, clock: FakeClock) -> None:
    frame = press(box, clock, "KEY_POWER")
    assert box.screen == "standby" and not frame.any()
    press(box, clock, "KEY_OK")
    assert box.screen == "standby"
    frame = press(box, clock, "KEY_POWER", gap=0.1)
    assert box.screen == "home" and frame.any()


def test_power_off_no_signal_and_power_on_boots(clock: FakeClock) -> None:
    b = SimulatedBox(clock=clock, boot_secs=1.0)
    b.start()
    try:
        idle(b, clock, 1.2)
        assert b.screen == "home" and b.powered
        b.power_off()
        f = idle(b, clock, 0.1)
        assert b.screen == "off" and not b.powered
        assert np.median(f) == 40 and f.max() > 200  # dark grey + "No signal" text
        b.press_key("KEY_OK")
        assert idle(b, clock, 0.2) is f
        b.power_on()
        assert b.screen == "boot"
        idle(b, clock, 1.1)
        assert b.screen == "home"
        b.power_cycle()
        assert b.screen == "boot"
    finally:
        b.stop()


# --- serial console ---------------------------------------------------------------------------


def _read_until(port, token: bytes, timeout: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while token not in data and time.monotonic() < deadline:
        data += port.read(port.in_waiting or 1)
    return data


def test_serial_console(clock: FakeClock) -> None:
    serial = pytest.importorskip("serial")
    b = SimulatedBox(clock=clock, boot_secs=0.3)
    b.start()
    try:
        with serial.Serial(b.serial_path, 115200, timeout=0.1) as port:
            log = _read_until(port, b"stb# ")
            assert b"virtualpy STB firmware 4.2.1" in log
            assert b"Linux version" in log and log.endswith(b"stb# ")
            port.write(b"version\r")
            out = _read_until(port, b"stb# ")
            assert out.startswith(b"version\r\n")  # echoed
            assert b"virtualpy STB firmware 4.2.1 (model VPY-STB-1)\r\n" in out
            clock.t += 12.3
            port.write(b"uptime\r")
            out = _read_until(port, b"stb# ")
            assert b"up 12.3 s" in out
            port.write(b"foo\r")
            assert b"sh: foo: not found" in _read_until(port, b"stb# ")
            port.write(b"help\r")
            assert b"version" in _read_until(port, b"stb# ")
            b.power_off()
            port.reset_input_buffer()
            port.write(b"version\r")
            time.sleep(0.2)
            assert port.read(1000) == b""
            b.power_on()
            assert b"virtualpy STB firmware" in _read_until(port, b"stb# ")
    finally:
        b.stop()


# --- faults ------------------------------------------------------------------------------


def test_fault_freeze(box: SimulatedBox, clock: FakeClock) -> None:
    box.inject("freeze")
    assert box.faults() == {"freeze": {}}
    frozen = idle(box, clock, 0.1)
    press(box, clock, "KEY_MENU")
    assert box.screen == "settings"  # UI advanced underneath
    assert all(f is frozen for _, f in run(box, clock, 0.2))
    box.clear()
    assert box.faults() == {}
    assert not np.array_equal(idle(box, clock, 0.05), frozen)


def test_fault_black(box: SimulatedBox, clock: FakeClock) -> None:
    box.inject("black")
    assert not idle(box, clock, 0.1).any()
    box.clear()
    assert idle(box, clock, 0.05).any()


def test_fault_reboot(clock: FakeClock) -> None:
    b = SimulatedBox(clock=clock, boot_secs=1.0)
    b.start()
    try:
        idle(b, clock, 1.1)
        press(b, clock, "KEY_MENU")
        assert b.screen == "settings"
        b.inject("reboot")
        assert b.faults() == {}  # one-shot
        assert b.screen == "boot"
        idle(b, clock, 1.1)
        assert b.screen == "home"
    finally:
        b.stop()


def test_fault_drop_keys(box: SimulatedBox, clock: FakeClock) -> None:
    box.inject("drop_keys")
    press(box, clock, "KEY_MENU")
    assert box.screen == "home"
    ev = box.events()[-1]
    assert ev["dropped"] is True and ev["effect"] is None
    box.inject("drop_keys", probability=0.5)
    for _ in range(40):
        box.press_key("KEY_VOLUMEUP")
        idle(box, clock, 0.05)
    dropped = sum(e["dropped"] for e in box.events()[-40:])
    assert 5 < dropped < 35


def test_fault_slow(box: SimulatedBox, clock: FakeClock) -> None:
    box.inject("slow", latency_ms=300)
    assert box.faults() == {"slow": {"latency_ms": 300.0}}
    box.press_key("KEY_RIGHT")
    idle(box, clock, 0.6)
    ev = box.events()[-1]
    assert ev["effect"] == pytest.approx(ev["received"] + 0.34)
    assert ev["first_change"] >= ev["effect"]


def test_fault_validation(box: SimulatedBox) -> None:
    with pytest.raises(ValueError, match="Valid faults: freeze"):
        box.inject("melt")
    with pytest.raises(ValueError, match="probability"):
        box.inject("drop_keys", probabilty=0.5)
    with pytest.raises(ValueError, match=r"0\.\.1"):
        box.inject("drop_keys", probability=2)
    assert box.faults() == {}

"""The ADB drivers against Debian's real adb server and a fake device end (adbd_fake).

Nothing is mocked between the drivers and the device: adbutils talks to a real
``adb server nodaemon`` (HOME in a temporary folder, its own port), which has
``adb connect``-ed the fake over TCP and speaks the ADB transport protocol to it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time

import numpy as np
import pytest
from adbd_fake import FakeAdbd, wait_until

from lab_daemon.config import load_config
from lab_daemon.devices.adb_link import AdbCommandTimeout, AdbLink
from lab_daemon.devices.adb_parts import AdbKeys, AdbScreencap, decode_raw
from lab_daemon.devices.options import check_options
from lab_daemon.factory import build_device
from pytest_virtualpy.errors import ConfigError, LabError, UnknownKeyError

ADB = shutil.which("adb")
pytestmark = pytest.mark.timeout(40)


def picture(width: int = 1920, height: int = 1080) -> np.ndarray:
    """A known 'UI': colour bars, a gradient, a noisy tile (realistic for PNG sizes)."""
    img = np.zeros((height, width, 3), np.uint8)
    bars = [(255, 255, 255), (0, 255, 255), (255, 255, 0), (0, 255, 0), (255, 0, 255)]
    for i, colour in enumerate(bars):
        img[: height // 2, i * width // 5 : (i + 1) * width // 5] = colour
    img[height // 2 :, :, 1] = np.linspace(0, 255, width, dtype=np.uint8)
    rng = np.random.default_rng(7)
    img[height // 2 : height // 2 + height // 4, : width // 4] = rng.integers(
        0, 256, (height // 4, width // 4, 3), np.uint8
    )
    return img


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def adb_server(tmp_path_factory):
    """A real adb server on its own port, HOME pointing to a temporary folder."""
    if ADB is None:
        if os.environ.get("CI"):
            pytest.fail("the adb binary is missing: apt-get install adb")
        pytest.skip("needs the adb server: apt-get install adb")
    home = tmp_path_factory.mktemp("adb-home")
    port = free_port()
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.Popen(
        [ADB, "-L", f"tcp:{port}", "server", "nodaemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up():
        assert proc.poll() is None, "the adb server exited"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True

    wait_until(up, 10, "the adb server to listen")
    yield f"127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def fake():
    device = FakeAdbd(picture(640, 360)).start()
    yield device
    device.stop()


@pytest.fixture
def link(fake, adb_server):
    return AdbLink("tv-1", fake.serial, adb_server, timeout=5.0)


# --- the link --------------------------------------------------------------------------


def test_shell_gives_the_exit_status_and_the_output(link, fake):
    assert link.shell("getprop ro.product.model", 5) == (0, b"VPY-ANDROID-1\n")
    assert link.shell("false", 5) == (1, b"")
    assert link.shell("echo bye; exit 3", 5) == (3, b"bye\n")
    status, out = link.shell("frobnicate", 5)
    assert status == 127 and b"frobnicate: inaccessible or not found" in out
    assert fake.services[0].startswith("shell,v2")  # the exit status came from shell v2
    info = link.info()
    assert (info["serial"], info["model"]) == (fake.serial, "VPY-ANDROID-1")
    assert info["transport"] == "tcp" and "shell_v2" in info["features"]


def test_without_shell_v2_the_status_comes_from_a_marker_and_frames_from_exec(adb_server):
    old = FakeAdbd(picture(64, 48), features="cmd").start()
    try:
        link = AdbLink("tv-6", old.serial, adb_server, timeout=5.0)
        assert link.shell("echo hi; exit 3", 5) == (3, b"hi\n")
        assert link.shell("head -c 100 /dev/zero", 5) == (0, bytes(100))
        video = AdbScreencap(link, fps=1)
        try:
            assert (video.grab()[0] == old.screen).all()
        finally:
            video.close()
        assert old.services[:2] == [
            "shell:(echo hi; exit 3); echo X4EXIT:$?",
            "shell:(head -c 100 /dev/zero); echo X4EXIT:$?",
        ]
        assert set(old.services[2:]) == {"exec:screencap"}
    finally:
        old.stop()


def test_long_output_is_cut_with_a_note_and_the_status_still_comes(link):
    status, out = link.shell("head -c 3000000 /dev/zero; exit 4", 10)
    assert status == 4
    assert out.startswith(bytes(1 << 20)) and len(out) < (1 << 20) + 200
    assert b"output cut at 1048576 of 3000000 bytes" in out


def test_a_command_past_its_timeout_is_a_lab_error_and_the_link_goes_on(link):
    t0 = time.monotonic()
    with pytest.raises(AdbCommandTimeout, match=r"`sleep 30` did not finish within 0.5 s"):
        link.shell("sleep 30", 0.5)
    assert time.monotonic() - t0 < 3
    assert link.shell("true", 5) == (0, b"")


def test_adb_server_down_is_a_lab_error_naming_the_device_and_the_fix(fake):
    dead = f"127.0.0.1:{free_port()}"
    with pytest.raises(LabError) as e:
        AdbLink("tv-1", fake.serial, dead, timeout=2).shell("true", 2)
    msg = str(e.value)
    assert "'tv-1'" in msg and fake.serial in msg and dead in msg and "start-server" in msg


def test_an_unreachable_device_is_a_lab_error_naming_the_serial(adb_server):
    serial = f"127.0.0.1:{free_port()}"
    with pytest.raises(LabError) as e:
        AdbLink("tv-2", serial, adb_server, timeout=3).shell("true", 3)
    assert "'tv-2'" in str(e.value) and serial in str(e.value)
    assert f"adb connect {serial}" in str(e.value)


def test_the_link_reconnects_when_the_device_comes_back(link, fake):
    assert link.shell("true", 5)[0] == 0
    fake.stop()
    with pytest.raises(LabError, match="cannot reach the device|lost the device"):
        link.shell("true", 3)
    fake.start()  # the same port: the box rebooted
    assert wait_until(lambda: _quiet(link.shell, "echo back", 3), 15, "reconnect") == (
        0,
        b"back\n",
    )


def _quiet(fn, *args):
    with contextlib.suppress(LabError):
        return fn(*args)


# --- keys ------------------------------------------------------------------------------


def test_keys_send_input_keyevent_with_android_keycodes(link, fake):
    keys = AdbKeys(link, keymap={"KEY_NETFLIX": 191, "KEY_OK": "KEYCODE_ENTER"})
    assert {"KEY_UP", "KEY_CHANNELUP", "KEY_0", "KEY_9", "KEY_NETFLIX"} <= set(keys.keys())
    before = time.time()
    sent = keys.press("KEY_CHANNELUP")
    assert before <= sent <= time.time()
    for key in ("KEY_0", "KEY_9", "KEY_NETFLIX", "KEY_OK", "KEY_BACK"):
        keys.press(key)
    keys.press("KEY_RIGHT", hold_secs=1.5)
    AdbKeys(link, hold="duration").press("KEY_RIGHT", hold_secs=1.5)
    assert fake.keyevents == [
        ("166",),
        ("7",),
        ("16",),
        ("191",),
        ("KEYCODE_ENTER",),
        ("4",),
        ("--longpress", "22"),
        ("--duration", "1500", "22"),
    ]


def test_an_unknown_key_is_refused_before_anything_is_sent(link, fake):
    with pytest.raises(UnknownKeyError, match="KEY_MENU"):
        AdbKeys(link).press("KEY_MENUU")
    assert fake.keyevents == []


def test_keymap_mistakes_are_config_errors(link):
    schema = AdbKeys.OPTIONS
    for bad in ({"KEY_X": "DPAD_CENTER"}, {"KEY_X": -1}, {"KEY_X": True}):
        opts = check_options({"keymap": bad}, schema, "lab.toml: remote")
        with pytest.raises(ConfigError, match="KEY_X"):
            AdbKeys.from_options(opts, "tv-1", adb=link)


# --- video -------------------------------------------------------------------------------


def test_raw_screencap_headers_of_12_and_16_bytes():
    rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for header in (np.array([3, 2, 1], "<u4"), np.array([3, 2, 1, 0], "<u4")):
        bgr = decode_raw(header.tobytes() + rgba.tobytes())
        assert (bgr == rgba[:, :, 2::-1]).all()
    with pytest.raises(ValueError, match="3x2 has"):
        decode_raw(np.array([3, 2, 1], "<u4").tobytes() + b"short")


@pytest.mark.parametrize("fmt", ["raw", "png"])
def test_screencap_frames_show_the_device_screen(link, fake, fmt):
    video = AdbScreencap(link, fps=10, fmt=fmt)
    try:
        wait_until(lambda: video.signal, 10, "the first screencap")
        frames = [video.read() for _ in range(4)]
        for frame, _ in frames[1:]:
            assert frame.shape == (360, 640, 3) and (frame == fake.screen).all()
        times = [t for _, t in frames]
        assert times == sorted(times) and times[-1] <= time.time()
        assert (video.width, video.height, video.fps) == (640, 360, 10)
    finally:
        video.close()


def test_screencap_shows_no_signal_while_the_device_is_gone_and_recovers(link, fake):
    video = AdbScreencap(link, fps=10, backoff=(0.2, 1.0))
    try:
        wait_until(lambda: video.signal, 10, "the first screencap")
        fake.stop()
        wait_until(lambda: not video.signal, 10, "no-signal")
        wait_until(lambda: not video.read()[0].any(), 5, "a black frame")  # after queued ones
        black = [video.read()[0] for _ in range(3)]
        assert all(f.shape == (360, 640, 3) and not f.any() for f in black)
        assert "tv-1" in video.last_error
        fake.screen = picture(640, 360)[:, ::-1].copy()  # it comes back showing another screen
        fake.start()
        wait_until(lambda: video.signal, 20, "the signal to come back")
        wait_until(lambda: (video.read()[0] == fake.screen).all(), 5, "the new screen")
    finally:
        t0 = time.monotonic()
        video.close()
        assert time.monotonic() - t0 < 12


def test_screencap_rate_at_1080p(link, fake, capsys, record_property):
    """The figure, not an assertion: frames a second through the real adb server."""
    fake.screen = picture()
    rates = {}
    for fmt in ("raw", "png"):
        video = AdbScreencap(link, fps=60, fmt=fmt)
        try:
            wait_until(lambda v=video: v.frames, 10, "the first frame")
            start, t0 = video.frames, time.monotonic()
            time.sleep(3)
            rates[fmt] = (video.frames - start) / (time.monotonic() - t0)
        finally:
            video.close()
    record_property("adb_screencap_fps_1080p", rates)
    with capsys.disabled():
        print(f"\nadb screencap at 1920x1080 through the adb server: {rates}")
    assert rates["raw"] > 0


# --- lab.toml and the daemon -------------------------------------------------------------


def _lab_toml(tmp_path, fake, adb_server, port=0):
    path = tmp_path / "lab.toml"
    path.write_text(
        f"""
[lab]
name = "bench"
port = {port}

[[devices]]
name = "android-tv"
model = "acme-atv"
adb = {{ serial = "{fake.serial}", adb_server = "{adb_server}" }}
video = {{ source = "adb", fps = 5 }}
remote = {{ kind = "adb", keymap = {{ KEY_NETFLIX = 191 }} }}
"""
    )
    return path


def test_lab_toml_builds_a_device_on_one_adb_link(tmp_path, fake, adb_server):
    device = build_device(load_config(_lab_toml(tmp_path, fake, adb_server)).devices[0])
    try:
        assert isinstance(device.adb, AdbLink) and isinstance(device.video, AdbScreencap)
        assert device.keys.link is device.adb and device.video.link is device.adb
        assert device.capabilities == ["video", "remote", "adb"]
        names = device.keys.keys()
        assert "KEY_NETFLIX" in names and "KEY_OK" in names
    finally:
        device.stop()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[devices]]\nname = "x"\nvideo = { source = "adb", format = "jpeg" }\n')
    with pytest.raises(ConfigError):
        build_device(load_config(bad).devices[0])


def test_a_pytest_test_drives_an_android_device_through_the_daemon(
    pytester, tmp_path, fake, adb_server, served_lab
):
    lab_toml = _lab_toml(tmp_path, fake, adb_server)
    served_lab(lab_toml, HOME=str(tmp_path))
    pytester.makepyfile(
        """
        import time

        import pytest
        from pytest_virtualpy.errors import BadArgument

        def test_android(stb, adb, remote, tv_screen):
            with pytest.raises(BadArgument, match="4096"):
                adb.shell("x" * 5000)
            r = stb.adb.shell("getprop ro.product.model")
            assert r and r.status == 0 and str(r) == "VPY-ANDROID-1\\n"
            failed = adb.shell("exit 5", timeout=10)
            assert not failed and failed.status == 5
            remote.press("KEY_OK")
            end = time.time() + 10
            while not (frame := tv_screen.get_frame()).any() and time.time() < end:
                time.sleep(0.1)
            assert frame.shape == (360, 640, 3)
            assert tuple(frame[10, 10]) == (255, 255, 255)  # the white bar
        """
    )
    result = pytester.runpytest_subprocess("--lab=bench", "--results-db=none")
    result.assert_outcomes(passed=1)
    assert ("23",) in fake.keyevents  # KEY_OK reached the device as DPAD_CENTER

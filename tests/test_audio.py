"""The simulated box's sound through the real daemon over real RPyC, and ``stb.audio``.

Live TV plays 400 + 100 * i Hz on the i-th channel (lab_daemon/sim/sound.py); the waits
run in the daemon and report when the sound began or stopped, which must agree with the
box's ground truth (the time each key took effect) to a 10 ms block.
"""

from __future__ import annotations

import json
import textwrap
import time

import numpy as np
import pytest

from lab_daemon import lab_options
from lab_daemon.audio import AudioRing, AudioThread
from lab_daemon.devices.sim import SimDevice
from lab_daemon.host import LabHost
from lab_daemon.sim import SimulatedBox
from pytest_virtualpy.errors import BadArgument, LabError
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(60)

SILENT = -50.0
RECORDING = lab_options.defaults("recording")
BLOCK = 0.011  # the waits' 10 ms resolution, plus rounding


def live_tv(device, number: int) -> None:
    """Leave the leased box on live TV, unmuted, on channel ``number``, its tone playing."""
    for _ in range(5):
        device.press("KEY_LEFT")  # home's first tile is Live TV
    device.press("KEY_OK")
    wait_until(lambda: device.sim_state()["screen"] == "live_tv")
    device.press("KEY_VOLUMEUP")  # a volume key unmutes; the pair keeps the level
    device.press("KEY_VOLUMEDOWN")
    for digit in str(number):
        device.press(f"KEY_{digit}")
    time.sleep(0.7)  # a zap (0.5 s) if the channel changed
    assert device.wait_for_audio(SILENT, 5.0)["ok"]


def peak_hz(device, secs: float = 0.5) -> float:
    """The loudest frequency of the last ``secs`` seconds, from the raw samples."""
    end = device.audio_level(0.1)["time"]
    meta, data = device.audio_samples(end - secs, end)
    samples = np.frombuffer(data, "<i2").astype(np.float64)
    assert len(samples) == meta["samples"] > 0.9 * secs * meta["rate"]
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * meta["rate"] / len(samples)


def test_live_tv_plays_the_channels_tone(device):
    live_tv(device, 103)
    assert peak_hz(device) == pytest.approx(600, abs=4)
    level = device.audio_level(0.3)  # the last second may still hold the zap
    assert -22 < level["level_db"] < -5  # a sine at the volume's level, never clipped
    assert level["time"] == pytest.approx(time.time(), abs=0.5)  # the lab host's clock


def test_a_zap_is_silent_then_the_new_channel_plays(device):
    live_tv(device, 104)
    device.press("KEY_CHANNELUP")
    gone = device.wait_for_silence(SILENT, 2.0)
    back = device.wait_for_audio(SILENT, 3.0)
    assert gone["ok"] and back["ok"]
    truth = wait_until(lambda: (ev := device.sim_events()[-1])["settled"] and ev)
    assert truth["key"] == "KEY_CHANNELUP"
    assert gone["time"] == pytest.approx(truth["effect"], abs=BLOCK)
    assert back["time"] == pytest.approx(truth["effect"] + 0.5, abs=BLOCK)  # zap_ms
    # sound and picture on one clock: the tone returns with the new channel's first frame
    assert back["time"] == pytest.approx(truth["settled"], abs=BLOCK + 1 / 60)
    assert peak_hz(device, 0.3) == pytest.approx(800, abs=7)  # 105


def test_banners_over_live_tv_keep_the_sound(device):
    live_tv(device, 101)
    device.press("KEY_INFO")  # the channel banner
    missing = device.wait_for_silence(SILENT, 1.0)
    assert not missing["ok"] and missing["level_db"] > SILENT


def test_mute_key_silences_and_restores(device):
    live_tv(device, 102)
    device.press("KEY_MUTE")
    gone = device.wait_for_silence(SILENT, 2.0)
    assert gone["ok"] and gone["time"] == pytest.approx(
        device.sim_events()[-1]["effect"], abs=BLOCK
    )
    time.sleep(0.3)
    assert device.audio_level(0.25)["level_db"] == -120.0  # digital silence, not -inf
    device.press("KEY_MUTE")
    assert device.wait_for_audio(SILENT, 2.0)["ok"]
    assert peak_hz(device, 0.3) == pytest.approx(500, abs=7)


def test_mute_fault_silences_until_cleared(device):
    live_tv(device, 101)
    assert "mute" in device.sim_inject("mute", {})
    assert device.wait_for_silence(SILENT, 2.0)["ok"]
    assert not device.wait_for_audio(SILENT, 0.5)["ok"]
    device.sim_clear()
    back = device.wait_for_audio(SILENT, 2.0)
    assert back["ok"] and back["level_db"] > -30
    with pytest.raises(BadArgument, match="unknown parameter"):
        device.sim_inject("mute", {"level": 1})


def test_power_off_and_menus_are_silent(device):
    live_tv(device, 101)
    device.press("KEY_HOME")
    assert device.wait_for_silence(SILENT, 2.0)["ok"]
    live_tv(device, 101)
    device.power("off")
    assert device.wait_for_silence(SILENT, 2.0)["ok"]
    time.sleep(0.3)
    assert device.audio_level(0.25)["level_db"] == -120.0
    device.power("on")
    wait_until(lambda: device.sim_state()["screen"] == "home", timeout=15)
    assert device.audio_level(0.25)["level_db"] == -120.0  # boot, then home: no sound


def test_a_wait_times_out_with_the_last_level(device):
    live_tv(device, 101)
    started = time.monotonic()
    result = device.wait_for_silence(SILENT, 0.4)
    assert time.monotonic() - started >= 0.4
    assert result["ok"] is False and result["level_db"] > SILENT


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("audio_level", (float("nan"),), "secs must be"),
        ("audio_level", (0.0,), "secs must be"),
        ("audio_level", (1e9,), "secs must be"),
        ("audio_level", ("loud",), "secs must be a number"),
        ("wait_for_audio", (5.0, 1.0, None), "threshold_db must be"),
        ("wait_for_audio", (-50.0, -1.0, None), "timeout must be"),
        ("wait_for_silence", (-50.0, float("inf"), None), "timeout must be"),
        ("wait_for_silence", (-50.0, 1.0, 0.0), "window_secs must be"),
        ("wait_for_silence", (float("-inf"), 1.0, None), "threshold_db must be"),
    ],
)
def test_bad_numbers_are_refused(device, method, args, message):
    with pytest.raises(BadArgument, match=message):
        device.client.call(method, device.lease_id, *args)


def test_audio_samples_are_bounded_and_checked(device):
    now = time.time()
    with pytest.raises(BadArgument, match="at most 130 s"):
        device.audio_samples(now - 200, now)
    with pytest.raises(BadArgument, match="end must come after start"):
        device.audio_samples(now, now - 1)
    with pytest.raises(BadArgument, match="start must be"):
        device.audio_samples(float("nan"), now)
    meta, data = device.audio_samples(now - 0.5, now)
    assert meta["rate"] == 16000 and len(data) == 2 * meta["samples"]
    assert meta["start"] == pytest.approx(now - 0.5, abs=0.05)
    meta, data = device.audio_samples(1000.0, 1010.0)  # long before the ring
    assert meta["samples"] == 0 and data == b""


# --- the ring, the thread and LabHost's wiring (real parts, in this process) --------------


def _box_sound(chunk: int) -> np.ndarray:
    """3 s of a box on its own clock: live TV at 1000.04 s, a zap at 1001.04 s."""
    box = SimulatedBox("det", boot_secs=0, width=320, height=180, clock=lambda: 1000.0)
    box.start()
    try:
        box.press_key("KEY_OK", 1000.0)  # home's first tile: live TV, 40 ms later
        box.press_key("KEY_CHANNELUP", 1001.0)
        first, rate = 1000 * box.audio_rate, box.audio_rate
        return np.concatenate([box.sound(i, chunk) for i in range(first, first + 3 * rate, chunk)])
    finally:
        box.stop()


def test_the_sims_sound_follows_its_state_to_the_sample():
    sound = _box_sound(320)
    assert np.array_equal(sound, _box_sound(16000))  # however it is cut into chunks

    def hz(part: np.ndarray) -> float:
        return float(np.argmax(np.abs(np.fft.rfft(part)))) * 16000 / len(part)

    assert not sound[:640].any()  # home until the key took effect, 40 ms in
    assert hz(sound[640 : 640 + 16000]) == pytest.approx(400, abs=1)  # 101
    assert sound[16000:16640].any()  # still playing until CHANNEL UP took effect
    assert not sound[640 + 16000 : 640 + 24000].any()  # the zap: exactly 0.5 s
    assert hz(sound[24640:]) == pytest.approx(500, abs=1)  # 102
    assert np.abs(sound).max() == round(0.5 * 0.3 * 32767)  # volume 30 of 100


def test_ring_is_bounded_and_keeps_the_newest():
    ring = AudioRing(1000, seconds=2.0)
    for i in range(100):  # 10 s of 100 ms chunks, each holding its number
        ring.append(np.full(100, i, np.int16), 5000.0 + i / 10)
    assert ring.capacity == 2000 and ring._buf.nbytes == 4000
    assert ring.oldest_time() == pytest.approx(5008.0)
    assert ring.latest_time() == pytest.approx(5010.0)
    first, kept = ring.samples(0.0, 6000.0)
    assert first == pytest.approx(5008.0) and len(kept) == 2000
    assert kept[0] == 80 and kept[-1] == 99
    t, chunk = ring.samples(5009.0, 5009.09)
    assert t == pytest.approx(5009.0) and set(chunk.tolist()) == {90}


def test_ring_fills_gaps_with_silence_and_drops_overlaps():
    ring = AudioRing(1000, seconds=10.0)
    ring.append(np.full(100, 1000, np.int16), 100.0)
    ring.append(np.full(100, 2000, np.int16), 100.5)  # 0.4 s lost: silence in between
    ring.append(np.full(100, 3000, np.int16), 100.3)  # stamped in the past: dropped
    assert ring.gaps == 1 and ring.overlaps == 1
    t, gap = ring.samples(100.15, 100.45)
    assert t == pytest.approx(100.15) and not gap.any()
    assert ring.level_db(0.1, end=100.6) == pytest.approx(20 * np.log10(2000 / 32768), abs=0.01)
    assert ring.latest_time() == pytest.approx(100.6)


def test_level_of_a_stalled_capture_is_a_lab_error():
    ring = AudioRing(1000, seconds=5.0, stall_secs=0.2)
    with pytest.raises(LabError, match="audio capture stalled"):
        ring.level_db()  # nothing ever came
    ring.append(np.zeros(100, np.int16), time.time())
    assert ring.level_db(0.1) == -120.0
    time.sleep(0.3)
    with pytest.raises(LabError, match="audio capture stalled"):
        ring.level_db()


def test_labhost_sizes_the_ring_from_the_recording_length():
    box = SimulatedBox("audio-host", boot_secs=0, width=320, height=180, fps=10)
    host = LabHost("t", [SimDevice(box)], tables={"recording": RECORDING | {"seconds": 5.0}})
    rt = host.runtimes[0]
    assert rt.audio is not None and rt.audio.rate == 16000
    assert rt.audio.capacity == 15 * 16000  # seconds + 10
    threads = [w for w in rt.workers if isinstance(w, AudioThread)]
    assert len(threads) == 1
    host.start()
    try:
        wait_until(lambda: rt.audio.latest_time())
        assert rt.audio.level_db(0.1) == -120.0  # home: no sound
        health = rt.health()["audio"]
        assert health["rate"] == 16000 and health["chunks"] > 0 and health["gaps"] == 0
    finally:
        host.stop()
    assert not threads[0].is_alive() and rt.audio.closed


# --- stb.audio in a user's test run ----------------------------------------------------------

USER_TESTS = """
import time

import pytest
from pytest_virtualpy.audio import AudioResult
from pytest_virtualpy.errors import AudioTimeout


def go_live(stb, remote):
    for key in ["KEY_HOME"] + ["KEY_LEFT"] * 5 + ["KEY_OK", "KEY_VOLUMEUP", "KEY_VOLUMEDOWN"]:
        remote.press(key)
    time.sleep(0.5)


def test_sound(stb, remote):
    assert stb.audio is not None
    go_live(stb, remote)
    heard = stb.audio.wait_for_audio(timeout=5)
    assert heard and isinstance(heard, AudioResult) and heard.level_db > -50
    assert stb.audio.level() > -30
    assert not stb.audio.is_silent()
    remote.press("KEY_MUTE")
    assert stb.audio.wait_for_silence(timeout=2, threshold_db=-60)
    assert stb.audio.is_silent(threshold_db=-60), "is_silent agrees with the wait"
    time.sleep(1.1)
    quiet = stb.audio.is_silent(secs=1.0)
    assert quiet and quiet.level_db == -120.0
    with pytest.raises(AttributeError):
        quiet.level_db = 0


def test_muted_box_never_sounds(stb, remote):
    go_live(stb, remote)
    stb.sim.inject("mute")
    try:
        stb.audio.wait_for_audio(timeout=0.5)
    finally:
        stb.sim.clear()
"""


def test_stb_audio_in_a_users_test(pytester, sim_lab, monkeypatch):
    monkeypatch.setenv("BENCH_A_TOKEN", sim_lab.token)
    pytester.makefile(
        ".toml",
        labs=f'[labs.bench-a]\naddress = "{sim_lab.address}"\ntoken_env = "BENCH_A_TOKEN"\n',
    )
    pytester.makeconftest(
        textwrap.dedent("""
        import json

        def pytest_virtualpy_step_finished(item, step):
            with open("steps.jsonl", "a") as f:
                f.write(json.dumps([item.name, step.kind, step.name, step.ok]) + "\\n")
        """)
    )
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("--lab=bench-a", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AudioTimeout: the sound never reached -50 dBFS within 0.5 s*"])
    steps = [json.loads(line) for line in (pytester.path / "steps.jsonl").read_text().splitlines()]
    audio = [s for s in steps if s[1] == "audio"]
    assert ["test_sound", "audio", "wait_for_audio", True] in audio
    assert ["test_sound", "audio", "wait_for_silence", True] in audio
    assert ["test_muted_box_never_sounds", "audio", "wait_for_audio", False] in audio

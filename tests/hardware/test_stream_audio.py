"""Real sound through the real daemon: a stream's audio track and an ALSA capture device.

The tone media (``tone_media.py``) are served as a looping file, and live as MPEG-TS
over UDP. ALSA is read through PyAV's own ``alsa`` input from
ALSA's ``file`` plugin (there is no sound card here), fed with a raw 1 kHz tone.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import textwrap
import time

import pytest

from lab_daemon.config import load_config
from lab_daemon.devices.alsa_audio import alsa_available
from lab_daemon.factory import build_device
from pytest_virtualpy.errors import BadArgument, ConfigError, DeviceUnavailable
from tests.hardware.tone_media import FFMPEG, TONE_DB, free_udp_port, onsets, peak_hz, udp_stream
from tests.hardware.video_files import lease

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        FFMPEG is None and not os.environ.get("CI"),
        reason="needs the ffmpeg binary: apt-get install -y ffmpeg",
    ),
]


def test_a_files_sound_and_picture_share_the_daemons_clock(served_lab, tone_mp4, tmp_path):
    port = free_udp_port()
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        textwrap.dedent(f"""
        [[devices]]
        name = "file-tv"
        video = {{ source = "{tone_mp4}", loop = true }}
        audio = {{ kind = "stream", rate = 16000 }}

        [[devices]]
        name = "udp-tv"
        video = {{ source = "udp://127.0.0.1:{port}" }}
        audio = {{ kind = "stream" }}

        [[devices]]
        name = "silent-tv"
        video = {{ source = "{tone_mp4}", loop = true }}
        """)
    )
    with udp_stream(tone_mp4, port):
        address = served_lab(lab_toml)
        dev = lease(address, "file-tv")
        assert "audio" in dev.info["capabilities"]
        gaps = onsets(dev, 2)
        assert all(abs(g) < 0.05 for g in gaps), gaps  # paced file: both exact to the media
        time.sleep(0.5)
        assert dev.audio_level(0.5)["level_db"] == pytest.approx(TONE_DB, abs=1.0)
        hz, rate = peak_hz(dev, 0.5)
        assert rate == 16000 and hz == pytest.approx(1000, abs=4)
        assert dev.wait_for_silence(-60.0, 5.0)["ok"]
        time.sleep(0.3)
        assert dev.audio_level(0.25)["level_db"] < -70  # the file's silence (AAC: near -inf)

        live = lease(address, "udp-tv")
        gaps = onsets(live, 3)
        # the least-delayed arrival sets the clock, and ffmpeg sends in bursts: the median agrees
        assert abs(statistics.median(gaps)) < 0.1, gaps
        assert all(abs(g) < 0.25 for g in gaps), gaps
        time.sleep(0.5)
        hz, rate = peak_hz(live, 0.5)
        assert rate == 48000 and hz == pytest.approx(1000, abs=4)

        silent = lease(address, "silent-tv")
        assert "audio" not in silent.info["capabilities"]
        with pytest.raises(DeviceUnavailable, match="has no audio: add audio = "):
            silent.audio_level(1.0)
        with pytest.raises(DeviceUnavailable, match="has no audio"):
            silent.wait_for_audio(-50, 1.0)
        with pytest.raises(BadArgument, match="secs must be"):
            dev.audio_level(-1)


def test_a_stream_without_an_audio_track_gives_silence(served_lab, tmp_path):
    video_only = tmp_path / "video.mp4"
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc=s=320x240:r=30:d=2", "-c:v", "libx264", "-preset", "ultrafast", str(video_only)],
        check=True, timeout=60,
    )  # fmt: skip
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        f'[[devices]]\nname = "tv"\nvideo = {{ source = "{video_only}", loop = true }}\n'
        'audio = { kind = "stream", rate = 8000 }\n'
    )
    dev = lease(served_lab(lab_toml), "tv")
    time.sleep(0.5)
    assert dev.audio_level(0.3)["level_db"] == -120.0  # silence, not a stalled capture
    assert dev.wait_for_silence(-50, 2.0)["ok"]


def test_audio_config_mistakes_are_clear(tmp_path):
    def device(audio: str, video: str = '{ source = "udp://127.0.0.1:9" }'):
        path = tmp_path / "lab.toml"
        path.write_text(f'[[devices]]\nname = "tv"\nvideo = {video}\naudio = {audio}\n')
        return build_device(load_config(path).devices[0])

    with pytest.raises(ConfigError, match="audio needs kind = one of stream, alsa"):
        device("{ rate = 16000 }")
    with pytest.raises(ConfigError, match="'rate' must be one of 8000"):
        device('{ kind = "stream", rate = 12345 }')
    with pytest.raises(ConfigError, match="unknown key 'rates'"):
        device('{ kind = "stream", rates = 16000 }')
    with pytest.raises(ConfigError, match='V4L2 capture carries no sound.*kind = "alsa"'):
        device('{ kind = "stream" }', '{ source = "/dev/video9" }')
    with pytest.raises(ConfigError, match="cannot open ALSA device 'hw:9,0'.*arecord -l"):
        device('{ device = "hw:9,0" }')  # a device alone implies kind = "alsa"


@pytest.mark.skipif(  # in CI it runs, and fails if PyAV lost its ALSA input
    not alsa_available() and not os.environ.get("CI"), reason="this PyAV build has no ALSA input"
)
def test_an_alsa_capture_device_through_the_daemon(served_lab, tmp_path):
    raw = tmp_path / "tone.raw"
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "sine=frequency=1000:sample_rate=48000:d=30", "-ac", "2", "-f", "s16le", str(raw)],
        check=True, timeout=60,
    )  # fmt: skip
    # ALSA's file plugin: a capture device whose input is a raw file (there is no card here)
    (tmp_path / ".asoundrc").write_text(
        f'pcm.capture_card {{\n type file\n slave.pcm null\n file "/dev/null"\n infile "{raw}"\n'
        " format raw\n}\n"
    )
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        f'[[devices]]\nname = "tv"\nvideo = {{ source = "udp://127.0.0.1:{free_udp_port()}" }}\n'
        'audio = { kind = "alsa", device = "capture_card", rate = 16000 }\n'
    )
    dev = lease(served_lab(lab_toml, HOME=str(tmp_path)), "tv")
    assert dev.wait_for_audio(-40.0, 5.0)["ok"]
    time.sleep(1.0)
    hz, rate = peak_hz(dev, 0.5)
    # the silence a loaded machine leaves between samples (below) smears the peak a
    # little (1004.1 Hz in one CI run); a wrong rate or resampling is hundreds of Hz off
    assert rate == 16000 and hz == pytest.approx(1000, abs=8)
    # the file plugin delivers one sample per read, so this machine falls behind real time
    # and the ring fills the gaps with silence: the level is the tone's or less, by how
    # far it fell behind (-31 dB in a loaded CI run), and far above silence (-inf)
    assert -45 < dev.audio_level(0.5)["level_db"] < TONE_DB + 1.0
    assert abs(dev.audio_level(0.1)["time"] - time.time()) < 1.0  # on the lab host's clock

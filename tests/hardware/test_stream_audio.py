"""Real sound through the real daemon: a stream's audio track and an ALSA capture device.

The media are made by ffmpeg: 1 s black and silent, 1.5 s white with a 1 kHz tone, 1 s
black and silent (H.264 + AAC in MP4). The picture turns white when the tone starts, so
the time the daemon finds the tone's onset and the time of the first white frame, both
on the lab host's clock, show whether sound and picture share one. Served as a looping
file, and live as MPEG-TS over UDP. ALSA is read through PyAV's own ``alsa`` input from
ALSA's ``file`` plugin (there is no sound card here), fed with a raw 1 kHz tone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lab_daemon.config import load_config
from lab_daemon.devices.alsa_audio import alsa_available
from lab_daemon.factory import build_device
from pytest_virtualpy.errors import BadArgument, ConfigError, DeviceUnavailable
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.imaging import decode_image
from tests.hardware.video_files import lease

FFMPEG = shutil.which("ffmpeg")
pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        FFMPEG is None and not os.environ.get("CI"),
        reason="needs the ffmpeg binary: apt-get install -y ffmpeg",
    ),
]
TONE_DB = 20 * np.log10(0.125 / np.sqrt(2))  # ffmpeg's sine source: 1/8 of full scale


@pytest.fixture(scope="module")
def tone_mp4(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("media") / "tone.mp4"
    lavfi = []
    for src in (
        "color=c=black:s=320x240:r=30:d=1",
        "color=c=white:s=320x240:r=30:d=1.5",
        "color=c=black:s=320x240:r=30:d=1",
        "anullsrc=r=48000:cl=mono:d=1",
        "sine=frequency=1000:sample_rate=48000:d=1.5",
        "anullsrc=r=48000:cl=mono:d=1",
    ):
        lavfi += ["-f", "lavfi", "-i", src]
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *lavfi, "-filter_complex",
         "[0:v][3:a][1:v][4:a][2:v][5:a]concat=n=3:v=1:a=1[v][a]", "-map", "[v]", "-map",
         "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def udp_stream(media: Path, port: int):
    """ffmpeg playing ``media`` in a loop, live, as MPEG-TS over UDP."""
    proc = subprocess.Popen(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i",
         str(media), "-c", "copy", "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


def first_white_after(dev: DeviceClient, t: float) -> float:
    """The time of the first white frame captured after ``t`` (the ring still holds it)."""
    after = t
    for _ in range(120):
        meta, data = dev.get_frame(fmt="jpeg", after=after)
        if decode_image(data).mean() > 128:
            return meta["time"]
        after = meta["time"]
    pytest.fail("no white frame")


def onsets(dev: DeviceClient, count: int) -> list[float]:
    """Audio onset minus first white frame, in seconds, for ``count`` tone starts."""
    gaps = []
    for _ in range(count):
        assert dev.wait_for_silence(-60.0, 5.0)["ok"]
        heard = dev.wait_for_audio(-40.0, 5.0)
        assert heard["ok"], heard
        gaps.append(heard["time"] - first_white_after(dev, heard["time"] - 0.5))
    return gaps


def peak_hz(dev: DeviceClient, secs: float) -> tuple[float, float]:
    end = dev.audio_level(0.1)["time"]
    meta, data = dev.audio_samples(end - secs, end)
    x = np.frombuffer(data, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum)) * meta["rate"] / len(x), meta["rate"]


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
        # the picture is stamped on arrival, and ffmpeg sends in bursts: the median agrees
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

"""Sound: live TV plays, a zap is quiet for a moment, mute silences it.

The simulated box plays a tone on live TV; a real bench needs an ``audio`` part in its
lab.toml (the sound of its video stream, or an HDMI grabber's ALSA device).
"""

import pytest


@pytest.fixture
def audio(stb):
    if stb.audio is None:
        pytest.skip("this bench captures no sound")
    return stb.audio


def test_live_tv_has_sound_and_a_zap_is_briefly_silent(audio, remote, tune):
    """CHANNEL UP silences the sound for the zap; the next channel plays within 1.5 s."""
    tune(101)
    assert audio.wait_for_audio(timeout=5)
    remote.press("KEY_CHANNELUP")
    gone = audio.wait_for_silence(timeout=2)
    back = audio.wait_for_audio(timeout=5)
    assert back.time - gone.time < 1.5, f"silent for {back.time - gone.time:.2f} s"
    assert audio.level() > -40


def test_mute_silences_live_tv(audio, remote, tune):
    """MUTE silences the sound; MUTE again brings it back."""
    tune(103)
    assert audio.wait_for_audio(timeout=5)
    remote.press("KEY_MUTE")
    assert audio.wait_for_silence(timeout=2)
    remote.press("KEY_MUTE")
    assert audio.wait_for_audio(timeout=2)
    assert not audio.is_silent()

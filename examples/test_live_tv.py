"""Live TV: zapping, the channel banner, typing channel numbers, moving video."""

from regions import BANNER, CHANNEL_LOGO, DIGITS, MESSAGE

from pytest_virtualpy import vision
from pytest_virtualpy.vision import Region

VIDEO = Region(0, 100, 1280, 420)  # below the channel logo, above the banner


def test_zap_shows_banner(stb, remote, tv_screen, tune):
    """CHANNEL UP goes to the next channel: banner with its number and name, then video."""
    tune(101)
    # Watch the banner, not the whole screen: live video never stops moving, so the
    # whole screen never "settles" and press_and_wait would report stable_timeout.
    t = remote.press_and_wait("KEY_CHANNELUP", region=BANNER, timeout=5)
    assert t, t.status
    assert tv_screen.wait_for_text("102 Sports One", region=BANNER, timeout=5)
    assert tv_screen.wait_for_motion(timeout=5)


def test_zap_time(remote, tune):
    """Zapping (press to banner settled) stays within the 1.5 s budget; a KPI is recorded."""
    tune(105)
    t = remote.press_and_wait("KEY_CHANNELDOWN", region=BANNER, timeout=5)
    assert t, t.status
    assert t.duration < 1.5, f"zap took {t.duration * 1000:.0f} ms"


def test_channel_list_wraps_around(remote, tv_screen, tune):
    """CHANNEL DOWN on the first channel (101) goes to the last one (112)."""
    tune(101)
    remote.press("KEY_CHANNELDOWN")
    assert tv_screen.wait_for_text("112", region=BANNER, timeout=5)
    assert tv_screen.wait_for_text("Travel", region=CHANNEL_LOGO, timeout=5)


def test_type_a_channel_number(stb, remote, tv_screen):
    """Typed digits appear top right; the third digit tunes at once."""
    stb.navigate_to("live_tv")
    remote.press("KEY_1")
    remote.press_and_wait("KEY_1", region=DIGITS, timeout=1, stable_secs=0.2)
    # Keep the frame and read it later: the box stops waiting for more digits
    # after 1.5 s, and OCR takes a while.
    typed = tv_screen.get_frame(region=DIGITS)
    remote.press("KEY_1")
    assert tv_screen.wait_for_text("111", region=BANNER, timeout=5)
    assert tv_screen.wait_for_text("Nature", region=BANNER, timeout=5)
    assert vision.match_text("11", typed), "the typed digits were not shown"


def test_ok_commits_the_digits_at_once(stb, remote, tv_screen):
    """OK commits the digits typed so far instead of waiting 1.5 s for more."""
    stb.navigate_to("live_tv")
    remote.press("KEY_1")
    remote.press("KEY_0")
    t = remote.press_and_wait("KEY_OK", region=MESSAGE, timeout=3, stable_secs=0.2)
    assert t, t.status
    assert t.duration < 1.0, "the box waited for more digits"
    # Channel 10 doesn't exist (they are 101-112), and the box says so.
    assert tv_screen.wait_for_text("not available", region=MESSAGE, timeout=2)


def test_unknown_channel_number(stb, remote, tv_screen):
    """A number that is not in the channel list says so."""
    stb.navigate_to("live_tv")
    for key in ("KEY_1", "KEY_9", "KEY_9"):
        remote.press(key)
    assert tv_screen.wait_for_text("not available", region=MESSAGE, timeout=5)


def test_live_video_plays(stb, tv_screen):
    """Live TV shows moving video, not a frozen picture."""
    stb.navigate_to("live_tv")
    assert tv_screen.wait_for_motion(region=VIDEO, timeout=5)
    assert not tv_screen.is_frozen(1.0, region=VIDEO)

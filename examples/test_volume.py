"""Volume keys and their on-screen overlay."""

import re

from regions import VOLUME, VOLUME_LEVEL


def read_level(tv_screen) -> int:
    """The volume level the overlay shows now."""
    text = tv_screen.ocr(region=VOLUME_LEVEL)
    digits = re.findall(r"\d+", text)
    assert digits, f"no volume level on screen, read {text!r}"
    return int(digits[0])


def test_volume_up_raises_the_level_by_5(stb, remote, tv_screen):
    """VOLUME UP shows the overlay and raises the level one step of 5."""
    stb.navigate_to("home")
    t = remote.press_and_wait("KEY_VOLUMEDOWN", region=VOLUME, timeout=3, stable_secs=0.3)
    assert t, t.status
    assert tv_screen.wait_for_text("Volume", region=VOLUME, timeout=3)
    before = read_level(tv_screen)
    remote.press("KEY_VOLUMEUP")
    assert tv_screen.wait_for_text(str(before + 5), region=VOLUME_LEVEL, timeout=3)


def test_mute_and_unmute(stb, remote, tv_screen):
    """MUTE shows "Muted" instead of the level; a volume key unmutes."""
    stb.navigate_to("live_tv")
    remote.press_and_wait("KEY_VOLUMEDOWN", region=VOLUME, timeout=3, stable_secs=0.3)
    level = read_level(tv_screen)  # VOLUME DOWN also unmutes
    remote.press("KEY_MUTE")
    assert tv_screen.wait_for_text("Muted", region=VOLUME_LEVEL, timeout=3)
    remote.press("KEY_VOLUMEUP")
    assert tv_screen.wait_for_text(str(level + 5), region=VOLUME_LEVEL, timeout=3)

"""Settings and the About page (read with OCR)."""

from regions import CHANNEL_LOGO, DEVICE_NAME_LINE, FIRMWARE_LINE, IMAGES, MODEL_LINE, TITLE


def test_about_shows_firmware_version(stb, tv_screen):
    """Settings > About shows the firmware version the box runs."""
    stb.navigate_to("about")
    assert tv_screen.wait_for_text("Firmware version 4.2.1", region=FIRMWARE_LINE, timeout=5)
    tv_screen.screenshot("about")  # kept with the test's artifacts, for the report


def test_about_shows_model_and_device_name(stb, tv_screen):
    """The About page names the model and this particular device."""
    stb.navigate_to("about")
    assert tv_screen.wait_for_text("VPY-STB-1", region=MODEL_LINE, timeout=5)
    assert tv_screen.wait_for_text(stb.name, region=DEVICE_NAME_LINE, timeout=5)


def test_find_about_in_the_settings_list(stb, remote, tv_screen):
    """Press DOWN until the About item has the focus, then open it."""
    stb.navigate_to("settings")
    remote.press_until_match("KEY_DOWN", IMAGES / "settings-about-focused.png", max_presses=5)
    remote.press("KEY_OK")
    assert tv_screen.wait_for_match(IMAGES / "about.png", region=TITLE, timeout=5)


def test_menu_key_opens_settings_and_back_returns(stb, remote, tv_screen):
    """MENU opens Settings from live TV; BACK goes back to live TV."""
    stb.navigate_to("live_tv")
    remote.press("KEY_MENU")
    assert tv_screen.wait_for_match(IMAGES / "settings.png", region=TITLE, timeout=5)
    remote.press("KEY_BACK")
    assert tv_screen.wait_for_match(IMAGES / "live_tv.png", region=CHANNEL_LOGO, timeout=5)

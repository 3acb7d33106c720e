"""Power: the mains switch (no signal, boot screen) and standby on the remote."""

from regions import BOOT_LOGO, IMAGES, NO_SIGNAL_TEXT, TITLE


def test_power_cycle_boots_to_home(stb, power, tv_screen):
    """Mains off shows "No signal"; mains on boots through the logo screen to home."""
    power.off()
    assert not power.is_on
    assert tv_screen.wait_for_match(IMAGES / "no-signal.png", region=NO_SIGNAL_TEXT, timeout=5)
    power.on()
    assert tv_screen.wait_for_match(IMAGES / "boot-logo.png", region=BOOT_LOGO, timeout=5)
    assert tv_screen.wait_for_match(IMAGES / "home.png", region=TITLE, timeout=15)
    assert stb.current_node() == "home"


def test_standby_blanks_the_screen(stb, remote, tv_screen):
    """POWER on the remote puts the box in standby (black screen) and wakes it again."""
    stb.navigate_to("home")
    remote.press("KEY_POWER")
    try:
        assert tv_screen.wait_for_black(timeout=5)
        assert tv_screen.is_black()
    finally:
        remote.press("KEY_POWER")  # never leave the box asleep for the next test
    assert tv_screen.wait_for_match(IMAGES / "home.png", region=TITLE, timeout=5)

"""The programme guide (EPG)."""

from regions import BANNER, GUIDE_GRID, GUIDE_HEADER, GUIDE_NAMES, IMAGES, TITLE


def test_guide_opens_on_the_current_channel(stb, tv_screen, tune):
    """KEY_EPG on live TV opens the guide with the channel being watched in view."""
    tune(103)
    stb.navigate_to("guide")  # live_tv -> guide is KEY_EPG in navigation.toml
    assert tv_screen.wait_for_text("Channel", region=GUIDE_HEADER, timeout=5)
    assert tv_screen.wait_for_text("Movie Max", region=GUIDE_NAMES, timeout=5)


def test_tune_from_the_guide(stb, remote, tv_screen, tune):
    """Moving down a row in the guide and pressing OK tunes that channel."""
    tune(101)
    stb.navigate_to("guide")
    t = remote.press_and_wait("KEY_DOWN", region=GUIDE_GRID, timeout=5, stable_secs=0.3)
    assert t, t.status
    remote.press("KEY_OK")
    assert tv_screen.wait_for_text("102", region=BANNER, timeout=5)
    assert stb.current_node() == "live_tv"


def test_back_leaves_the_guide(stb, remote, tv_screen):
    """BACK closes the guide and returns to the screen it was opened from."""
    stb.navigate_to("home")
    remote.press("KEY_EPG")
    assert tv_screen.wait_for_match(IMAGES / "guide.png", region=TITLE, timeout=5)
    remote.press("KEY_BACK")
    assert tv_screen.wait_for_match(IMAGES / "home.png", region=TITLE, timeout=5)

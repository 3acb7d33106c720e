"""Menu navigation: the navigation tree, the home tiles and recovering from anywhere."""

import pytest
from regions import HOME_TILES, IMAGES, SETTINGS_TILE, TITLE


@pytest.mark.parametrize("screen", ["home", "live_tv", "guide", "settings", "about"])
def test_navigate_to_every_screen(stb, screen):
    """stb.navigate_to() reaches each node of navigation.toml, from wherever the box is."""
    stb.navigate_to(screen)
    assert stb.current_node() == screen


def test_open_settings_from_the_home_tiles(stb, remote, tv_screen):
    """Walk the tile row with the arrow keys until Settings has the focus, then open it."""
    stb.navigate_to("home")
    remote.press_until_match(
        "KEY_RIGHT", IMAGES / "home-settings-focused.png", max_presses=6, region=SETTINGS_TILE
    )
    remote.press("KEY_OK")
    assert tv_screen.wait_for_match(IMAGES / "settings.png", region=TITLE, timeout=5)


def test_focus_moves_quickly(stb, remote):
    """Moving the focus on the home tiles animates and settles within half a second."""
    stb.navigate_to("home")
    for _ in range(5):  # focus clamps at the left end: this puts it on Live TV
        remote.press("KEY_LEFT")
    t = remote.press_and_wait("KEY_RIGHT", region=HOME_TILES, timeout=5, stable_secs=0.3)
    assert t, t.status
    assert t.duration < 0.5, f"focus took {t.duration * 1000:.0f} ms to settle"


def test_unfinished_page_and_recovery(stb, remote, tv_screen):
    """The Recordings tile opens a "Coming soon" page; navigate_to() still finds its way home."""
    stb.navigate_to("home")
    for key in ["KEY_LEFT"] * 5 + ["KEY_RIGHT", "KEY_RIGHT", "KEY_OK"]:
        remote.press(key)
    assert tv_screen.wait_for_text("Coming soon", timeout=5)
    assert stb.current_node() is None  # not a screen of the navigation tree...
    stb.navigate_to("home")  # ...so the navigator uses the '*' -> home edge (KEY_HOME)
    assert stb.current_node() == "home"


@pytest.mark.sim_only
def test_navigation_gets_past_popups_and_dropped_keys(stb):
    """A notification that swallows keys, and keys the box misses: navigate_to() notices
    the hop did not arrive, finds where the box really is, and carries on."""
    stb.navigate_to("home")
    stb.sim.inject("popup")  # a dialog over the screen now: only KEY_BACK closes it
    stb.sim.inject("drop_keys", probability=0.1)
    for screen in ["about", "live_tv", "settings"]:
        stb.navigate_to(screen, timeout=60)
        assert stb.current_node() == screen
    assert not stb.sim.state()["popup"]

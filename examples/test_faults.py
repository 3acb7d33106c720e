"""What a product bug looks like: faults injected into the simulated box.

Both tests are expected failures (``xfail(strict=True)``): the fault makes the
box misbehave, the test notices and fails the way it would on a broken build.
"""

import pytest

from pytest_virtualpy.errors import MotionTimeout, NavigationError


@pytest.mark.sim_only
@pytest.mark.xfail(
    strict=True,
    raises=MotionTimeout,
    reason="freeze fault: the video decoder stops, the picture freezes",
)
def test_video_keeps_playing(stb, tv_screen):
    """Live TV must show moving video; with the "freeze" fault it does not."""
    stb.navigate_to("live_tv")
    stb.sim.inject("freeze")
    assert tv_screen.wait_for_motion(timeout=2)


@pytest.mark.sim_only
@pytest.mark.xfail(
    strict=True, raises=NavigationError, reason="drop_keys fault: the box ignores the remote"
)
def test_menu_responds_to_the_remote(stb):
    """Navigation must work; with every key dropped the box never leaves home."""
    stb.navigate_to("home")
    stb.sim.inject("drop_keys", probability=1.0)
    stb.navigate_to("about", timeout=5)

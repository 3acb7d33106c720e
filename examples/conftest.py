"""Fixtures shared by the example tests.

The plugin provides ``stb``, ``remote``, ``tv_screen``, ``power``, ``serial`` and
``lab`` by itself; these are small conveniences built on them.
"""

import pytest
from regions import BANNER


@pytest.fixture
def tune(stb, remote, tv_screen):
    """``tune(number)``: go to live TV and type a channel number on the remote.

    Tests share one box, so a test that cares about the channel tunes it first
    instead of trusting whatever the previous test left behind.
    """

    def tune_to(number: int) -> None:
        stb.navigate_to("live_tv")
        for digit in str(number):
            remote.press(f"KEY_{digit}")  # three digits tune at once
        tv_screen.wait_for_text(str(number), region=BANNER, timeout=5)

    return tune_to

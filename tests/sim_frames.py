"""The example's reference images, by content, and waiting for the box's home frame.

:func:`ref` gives an image's SHA-256 and PNG bytes, the way ``put_references`` and
``match_many`` name references; :func:`wait_for_home_frame` waits until a leased
simulated box's newest frame shows its home screen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pytest_virtualpy.screen_wire import image_bytes
from tests.conftest import wait_until

IMAGES = Path(__file__).parent.parent / "examples" / "images"
TITLE = (0, 0, 1280, 60)


def ref(name: str) -> tuple[str, bytes]:
    png = image_bytes(IMAGES / name)
    return hashlib.sha256(png).hexdigest(), png


HOME, LIVE, SETTINGS = ref("home.png"), ref("live_tv.png"), ref("settings.png")


def wait_for_home_frame(device) -> None:
    """The box says "home" as soon as a key is handled; wait for a frame that shows it."""
    device.put_references({HOME[0]: HOME[1]})
    wait_until(
        lambda: device.match_many([(HOME[0], TITLE, None)], [])["results"][0]["match"],
        timeout=5,
    )

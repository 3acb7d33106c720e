"""Re-capture the reference images of the example suite from the simulated box.

    .venv/bin/python examples/tools/capture_references.py            # writes examples/images/
    .venv/bin/python examples/tools/capture_references.py -o /tmp/x  # somewhere else

It starts a private ``virtualpy-lab sim`` daemon, leases its device, drives the
box with remote keys and saves PNG crops. Every crop avoids the title-bar clock
(it changes every minute) and the moving video. The live-TV reference is built
from the channel-logo box of all twelve channels: pixels that are the same on
every channel stay opaque, the rest become transparent (alpha 0), so one image
recognises live TV whatever the channel. See docs/navigation.md.

On a real box, capture with ``virtualpy-lab screenshot --lab HOST:PORT -o x.png
--region X,Y,W,H`` or ``tv_screen.screenshot("name")`` and crop by hand.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.imaging import decode_image
from pytest_virtualpy.lab.local import start_sim_lab

HERE = Path(__file__).resolve().parent.parent  # examples/
sys.path.insert(0, str(HERE))

from regions import (  # noqa: E402  (examples/regions.py: one place for the geometry)
    ABOUT_ITEM,
    BOOT_LOGO,
    CHANNEL_LOGO,
    NO_SIGNAL_TEXT,
    POPUP,
    SETTINGS_TILE,
    TITLE,
)

N_CHANNELS = 12


def frame(device: DeviceClient, settle: float = 0.6) -> np.ndarray:
    """A full frame, taken after ``settle`` seconds so animations have finished."""
    time.sleep(settle)
    _, png = device.get_frame(None)
    return decode_image(png, "frame")


def crop(img: np.ndarray, region) -> np.ndarray:
    return img[region.y : region.bottom, region.x : region.right].copy()


def press(device: DeviceClient, *keys: str) -> None:
    for key in keys:
        device.press(key)


def save(out: Path, name: str, img: np.ndarray) -> None:
    path = out / name
    if not cv2.imwrite(str(path), img):
        raise SystemExit(f"could not write {path}")
    print(
        f"saved {path} {img.shape[1]}x{img.shape[0]}"
        + (" (with transparency)" if img.shape[2] == 4 else "")
    )


def common_pixels(crops: list[np.ndarray]) -> np.ndarray:
    """BGRA image: opaque where every crop has the same colour, transparent elsewhere."""
    first = crops[0]
    same = np.ones(first.shape[:2], bool)
    for c in crops[1:]:
        same &= np.all(c == first, axis=2)
    alpha = np.where(same, 255, 0).astype(np.uint8)
    return np.dstack([first, alpha])


def capture(device: DeviceClient, out: Path) -> None:
    device.sim_clear()
    if not device.power("status")["on"]:
        device.power("on")
    device.wait_for_sim_screen("home")

    home = frame(device)
    save(out, "home.png", crop(home, TITLE))

    # Focus the Settings tile (focus clamps at both ends: RIGHT x5 = Search).
    press(device, *["KEY_RIGHT"] * 5, "KEY_LEFT")
    save(out, "home-settings-focused.png", crop(frame(device), SETTINGS_TILE))

    press(device, "KEY_OK")
    device.wait_for_sim_screen("settings")
    settings = frame(device)
    save(out, "settings.png", crop(settings, TITLE))
    press(device, *["KEY_DOWN"] * 4)  # focus clamps on About, the last item
    save(out, "settings-about-focused.png", crop(frame(device), ABOUT_ITEM))

    press(device, "KEY_OK")
    device.wait_for_sim_screen("about")
    save(out, "about.png", crop(frame(device), TITLE))

    press(device, "KEY_HOME")
    device.wait_for_sim_screen("home")
    press(device, *["KEY_LEFT"] * 5, "KEY_OK")
    device.wait_for_sim_screen("live_tv")
    logos = []
    for _ in range(N_CHANNELS):
        logos.append(crop(frame(device, settle=0.8), CHANNEL_LOGO))
        press(device, "KEY_CHANNELUP")
    live = common_pixels(logos)
    opaque = live[:, :, 3] == 255
    bright = opaque & (live[:, :, :3].max(axis=2) > 128)
    if opaque.mean() < 0.3 or bright.sum() < 20:
        raise SystemExit("the channel logos have too little in common for a reference")
    save(out, "live_tv.png", live)

    press(device, "KEY_EPG")
    device.wait_for_sim_screen("guide")
    save(out, "guide.png", crop(frame(device), TITLE))
    capture_popup(device, out)

    device.power("off")
    save(out, "no-signal.png", crop(frame(device), NO_SIGNAL_TEXT))
    device.power("on")
    device.wait_for_sim_screen("boot")
    deadline = time.monotonic() + 10
    while True:  # the boot screen starts black; wait for the logo
        img = frame(device, settle=0.1)
        if crop(img, BOOT_LOGO).max() > 100 or time.monotonic() > deadline:
            break
    save(out, "boot-logo.png", crop(img, BOOT_LOGO))
    device.wait_for_sim_screen("home")


def capture_popup(device: DeviceClient, out: Path) -> None:
    """The "popup" fault's dialog (opaque, so one crop fits over any screen)."""
    device.sim_inject("popup", {})
    save(out, "popup.png", crop(frame(device), POPUP))
    press(device, "KEY_BACK")  # the only key it lets through: closes it


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--output", type=Path, default=HERE / "images")
    p.add_argument("--boot-secs", type=float, default=2.0)
    args = p.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    lab = start_sim_lab(
        1, boot_secs=args.boot_secs, workdir=Path(tempfile.mkdtemp(prefix="virtualpy-capture-"))
    )
    try:
        device = lab.lease("capture-references", 300)
        try:
            capture(device, args.output)
        finally:
            device.client.release(device.lease_id)
            device.client.close()
    finally:
        lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

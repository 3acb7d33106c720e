"""``min_size`` through the real daemon on a capture whose motion is known exactly.

The capture is a looping video file (made here with PyAV): a 10 px square that moves
4 px a frame across a still grey picture. Every frame moves, in a box at most 14 px
wide, so a change must be at least (20, 20) to count is never seen, and the default
(4, 4) always is: on ``detect_motion``, ``wait_for_motion`` and ``is_frozen``. (The
simulator's live TV cannot say this: its moving video may reach every edge of the frame.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.hardware.video_files import lease, write_lossless

FPS = 25
FRAMES = 50  # 2 s: the square crosses 200 px, then the loop starts it again


def _square_video(path: Path) -> None:
    def frame(i: int) -> np.ndarray:
        out = np.full((180, 320, 3), 90, np.uint8)
        out[80:90, 40 + 4 * i : 50 + 4 * i] = (20, 220, 240)
        return out

    write_lossless(path, (frame(i) for i in range(FRAMES)), FPS)


def test_min_size_reaches_motion_and_freeze_checks(tmp_path, served_lab):
    media = tmp_path / "square.mp4"
    _square_video(media)
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        f'[[devices]]\nname = "square"\nvideo = {{ source = "{media}", loop = true }}\n'
    )
    device = lease(served_lab(lab_toml), "square")
    moving = device.detect_motion(None, None, None, None, 10)
    assert len(moving) == 10 and all(d["motion"] for d in moving[1:]), moving
    assert all(d["region"][2] <= 16 and d["region"][3] <= 12 for d in moving if d["motion"])
    big = device.detect_motion(None, None, None, None, 10, (20, 20))
    assert len(big) == 10 and not any(d["motion"] for d in big)

    assert not device.wait_for_motion(None, None, 3.0, "5/10", None)["timed_out"]
    assert device.wait_for_motion(None, None, 1.0, "5/10", None, (20, 20))["timed_out"]
    assert not device.is_frozen(None, None, 1.0, None)["frozen"]
    assert device.is_frozen(None, None, 1.0, None, (20, 20))["frozen"]

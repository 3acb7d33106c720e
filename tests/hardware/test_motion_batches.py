"""A slow fade through ``tv_screen.detect_motion``: the daemon answers in batches of frames,
and each frame must still be compared with the last frame that moved, across batches.

The capture is a looping video file (made here with PyAV) that brightens by 2 grey levels a
frame: no two neighbouring frames differ by the threshold (25), but every 13th frame has
drifted far enough from the last one that moved, as stb-tester's differ counts it. The
same frames run through :func:`vision.detect_motion` in this process give the expected
rhythm; through the daemon, 10 frames at a time, the rhythm must be the same (a batch
that restarted the comparison would never see the fade at all). At 720p the daemon's
frame ring holds 12 frames, fewer than the 13 a motion takes to add up, so the reference
frame must outlive the ring.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np

from pytest_virtualpy import vision
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from tests.hardware.video_files import lease, write_lossless

FPS = 25
STEP = 2  # grey levels a frame
FRAMES = 110  # 20 .. 238, then the loop jumps back (one big change per 4.4 s)


def _fade_video(path: Path) -> None:
    write_lossless(
        path, (np.full((720, 1280, 3), 20 + STEP * i, np.uint8) for i in range(FRAMES)), FPS
    )


def _gaps(moved: list[bool]) -> list[int]:
    at = [i for i, m in enumerate(moved) if m]
    return [b - a for a, b in itertools.pairwise(at)]


def test_a_slow_fade_is_seen_across_the_daemons_batches(tmp_path, served_lab):
    media = tmp_path / "fade.mp4"
    _fade_video(media)
    with av.open(str(media)) as inp:
        decoded = [f.to_ndarray(format="bgr24") for f in inp.decode(video=0)]
    expected = [bool(m) for m in vision.detect_motion(decoded)]
    assert not any(expected[:10]) and sum(expected) >= 6  # the fade counts, but slowly
    assert set(_gaps(expected)) <= {12, 13, 14}

    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        f'[[devices]]\nname = "fade"\nvideo = {{ source = "{media}", loop = true }}\n'
    )
    device = lease(served_lab(lab_toml), "fade")
    screen = TvScreen(device, StepLog(), lambda name, data: Path(name))
    # 125 frames at 25 fps; a loaded machine decodes 720p slower (60 in 3.5 s in one run)
    seen = [bool(m) for m in screen.detect_motion(timeout=5.0)]
    assert len(seen) > 60
    # every 13th frame or so, as in-process (the loop's jump back is one more motion;
    # frames a loaded machine skipped shorten a gap, never lengthen it)
    assert sum(seen) >= 5, seen
    assert max(_gaps(seen)) <= 14, _gaps(seen)
    # a 2-level step alone is no motion: only the jump back may follow a fade's motion
    assert sum(a and b for a, b in itertools.pairwise(seen)) <= 1, seen

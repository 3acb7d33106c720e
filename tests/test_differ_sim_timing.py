"""Transitions are timed to the frame on the simulated box's own frames.

The box is driven in-process with a fake clock, so every frame it rendered is compared
and the result is exact: ``wait_for_transition`` must find the same first changed frame
and the same settled frame as the box's ground truth. This is what the differ's thin-line
rule is for (`vision._diff.keep_shapes`): the first and last frames of an eased focus
move only uncover 1 px slivers of the highlight, which a plain 3x3 opening drops.
"""

from __future__ import annotations

import pytest

from lab_daemon.sim import SimulatedBox
from pytest_virtualpy import vision

TILES = vision.Region(64, 446, 1152, 144)


class FakeClock:
    def __init__(self) -> None:
        self.t = 10_000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_focus_moves_are_timed_to_the_frame(fps: float) -> None:
    clock = FakeClock()
    box = SimulatedBox(clock=clock, boot_secs=0)
    box.start()

    def render(secs: float) -> list[vision.Frame]:
        frames = []
        for _ in range(round(secs * fps)):
            clock.t += 1 / fps
            frames.append(vision.Frame(box.render(clock.t), time=clock.t))
        return frames

    try:
        render(0.2)
        for _ in range(5):  # focus on the first tile
            box.press_key("KEY_LEFT", t=clock.t)
            render(0.3)
        for key in ["KEY_RIGHT"] * 3 + ["KEY_LEFT"] * 3:
            before = render(0.05)[-1]
            press = clock.t
            box.press_key(key, t=press)
            frames = [before, *render(0.8)]
            truth = box.events()[-1]
            t = vision.wait_for_transition(frames, press, key=key, region=TILES, stable_secs=0.3)
            assert t.status == "complete", (key, t)
            assert t.start_time == pytest.approx(truth["first_change"]), (key, t, truth)
            assert t.end_time == pytest.approx(truth["settled"]), (key, t, truth)
    finally:
        box.stop()

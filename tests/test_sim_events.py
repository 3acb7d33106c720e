"""The simulated box's keys and ground truth, driven with a fake clock.

Unknown keys, determinism for a seed, the event log of each press (its timings and
screens), full HD and key presses from many threads. (The rest: test_sim.py.)
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from lab_daemon.sim import KEYS, Layout, SimulatedBox, UnknownKeyError
from tests import sim_box
from tests.sim_box import FPS, FakeClock, crop, idle, press

clock, box = sim_box.clock, sim_box.box  # a fake clock, and a box booted to home on it


# --- keys, determinism, ground truth ------------------------------------------------------


def test_unknown_key(box: SimulatedBox) -> None:
    with pytest.raises(UnknownKeyError, match="KEY_CHANNELUP") as info:
        box.press_key("KEY_CHANELUP")
    assert "keys()" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnknownKeyError, match="KEY_OK"):
        box.press_key("ok")
    assert box.keys() == list(KEYS) and "KEY_0" in KEYS and "KEY_FASTFORWARD" in KEYS
    for key in KEYS:  # every key is accepted everywhere
        box.press_key(key)


def test_determinism() -> None:
    """Same seed + same inputs at the same times -> identical frames and events."""
    script = [("KEY_OK", 0.3), ("KEY_CHANNELUP", 0.2), ("KEY_5", 0.9), ("KEY_EPG", 0.4),
              ("KEY_DOWN", 0.1), ("KEY_OK", 1.0)]  # fmt: skip
    clocks = [FakeClock(), FakeClock(), FakeClock()]
    boxes = [
        SimulatedBox(clock=c, boot_secs=0.5, seed=seed)
        for c, seed in zip(clocks, (7, 7, 8), strict=True)
    ]
    same_ab, same_ac = [], []

    def step(secs: float) -> None:
        for _ in range(round(secs * FPS)):
            for c in clocks:
                c.t += 1 / FPS
            a, b, c = (box.render(clk.t) for box, clk in zip(boxes, clocks, strict=True))
            same_ab.append(np.array_equal(a, b))
            same_ac.append(np.array_equal(a, c))

    for box in boxes:
        box.start()
        box.inject("drop_keys", probability=0.3)
    try:
        step(0.6)
        for key, gap in script:
            for box in boxes:
                box.press_key(key)
            step(gap)
    finally:
        for box in boxes:
            box.stop()
    assert all(same_ab)
    assert not all(same_ac)
    assert boxes[0].events() == boxes[1].events()


def test_ground_truth_events(box: SimulatedBox, clock: FakeClock) -> None:
    press(box, clock, "KEY_RIGHT", gap=0.5)
    press(box, clock, "KEY_UP", gap=0.2)  # no effect on home
    press(box, clock, "KEY_LEFT", "KEY_OK", gap=0.3)
    box.press_key("KEY_CHANNELUP")
    idle(box, clock, 1.0)
    ev = box.events()
    assert [e["key"] for e in ev] == ["KEY_RIGHT", "KEY_UP", "KEY_LEFT", "KEY_OK", "KEY_CHANNELUP"]
    right, up, _, ok, zap = ev
    assert right["effect"] == pytest.approx(right["received"] + 0.04)
    assert right["effect"] <= right["first_change"] <= right["effect"] + 1 / FPS + 1e-9
    assert 0.15 <= right["settled"] - right["effect"] <= 0.15 + 1 / FPS + 1e-9
    assert up["effect"] is None and up["first_change"] is None and up["settled"] is None
    assert ok["screen_before"] == "home" and ok["screen_after"] == "live_tv"
    assert ok["settled"] >= ok["first_change"] >= ok["received"] + 0.04
    assert 0.5 <= zap["settled"] - zap["effect"] <= 0.5 + 1 / FPS + 1e-9
    for e in ev:
        assert set(e) == {"key", "lease", "received", "dropped", "effect", "first_change",
                          "settled", "screen_before", "screen_after"}  # fmt: skip
        assert e["lease"] is None  # pressed on the box itself, under no daemon lease
    box.events()[0]["key"] = "changed"
    assert box.events()[0]["key"] == "KEY_RIGHT"  # a copy


def test_first_change_waits_for_unfrozen_video(box: SimulatedBox, clock: FakeClock) -> None:
    box.inject("freeze")
    box.press_key("KEY_MENU")
    idle(box, clock, 0.5)
    assert box.events()[-1]["first_change"] is None
    box.clear()
    idle(box, clock, 0.1)
    ev = box.events()[-1]
    assert ev["first_change"] is not None and ev["first_change"] > ev["effect"] + 0.4


def test_full_hd(clock: FakeClock) -> None:
    b = SimulatedBox(clock=clock, boot_secs=0, width=1920, height=1080, fps=25)
    b.start()
    try:
        f = b.render(clock.t + 0.1)
        assert f.shape == (1080, 1920, 3) and not f.flags.writeable
        big = Layout(1920, 1080)
        assert np.all(crop(f, big.home_tiles[0])[3, 60] == (0, 196, 255))
    finally:
        b.stop()


def test_events_are_json_and_threads_are_safe(box: SimulatedBox, clock: FakeClock) -> None:
    """RPyC-style threads pressing keys while the capture thread renders."""
    errors: list[BaseException] = []

    def presser() -> None:
        try:
            for i in range(50):
                box.press_key(("KEY_RIGHT", "KEY_LEFT", "KEY_VOLUMEUP")[i % 3])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=presser) for _ in range(3)]
    for th in threads:
        th.start()
    for _ in range(60):
        clock.t += 1 / FPS
        assert not box.render(clock.t).flags.writeable
    for th in threads:
        th.join()
    idle(box, clock, 0.5)
    assert not errors
    events = box.events()
    assert len(events) == 150
    assert json.loads(json.dumps(events)) == events

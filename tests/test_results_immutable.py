"""Results are immutable, and every truthy result can be false (issue 11, as stbt's are).

Each result class a test can get back (from `pytest_virtualpy.vision` or from a
fixture's method) must be a frozen dataclass, and, when it has a truth value, the
real code must be able to hand back a *false* one. False results are made by the
real functions wherever they run without a lab (a match that is not there, two equal
frames for motion...), and constructed only for results that need a device.

``test_every_result_class_is_listed`` keeps the list honest: a new class with a
truth value returned by a public function of vision or a method of a fixture's
object fails it until it is added here.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from lab_daemon.check import CheckReport, PartResult
from pytest_virtualpy import vision
from pytest_virtualpy.ai_check import AiCheckResult
from pytest_virtualpy.api_docs import FIXTURE_OBJECTS, members, returned_classes
from pytest_virtualpy.audio import AudioResult
from pytest_virtualpy.lab.live_link import LinkCheck
from pytest_virtualpy.remote import Keypress
from pytest_virtualpy.stb import AdbResult, SerialMatch


def _frame(value: int, t: float | None = None) -> vision.Frame:
    return vision.Frame(np.full((120, 160, 3), value, np.uint8), time=t)


def _false_match() -> vision.MatchResult:
    frame = _frame(0)
    frame[40:80, 40:80] = 255
    reference = np.zeros((24, 24, 3), np.uint8)
    cv2.circle(reference, (12, 12), 8, (0, 0, 255), -1)
    return vision.match(reference, frame)


def _false_motion() -> vision.MotionResult:
    return next(iter(vision.detect_motion([_frame(60, 0.0), _frame(60, 0.04)])))


def _false_freeze() -> vision.FreezeResult:
    return vision.is_frozen([_frame(0, 0.0), _frame(200, 0.04)], freeze_secs=1.0)


def _false_transition() -> vision.Transition:
    frames = [_frame(80, i * 0.04) for i in range(20)]  # nothing ever changes
    return vision.wait_for_transition(frames, press_time=0.0, timeout_secs=0.5)


def _false_text() -> vision.TextMatchResult:
    return vision.match_text("Settings", _frame(0))


#: each result class with a truth value, and how the real code gives a false one
FALSE_RESULTS: dict[type, Callable[[], object]] = {
    vision.MatchResult: _false_match,
    vision.MotionResult: _false_motion,
    vision.BlackResult: lambda: vision.is_black(_frame(255)),
    vision.FreezeResult: _false_freeze,
    vision.Transition: _false_transition,
    vision.TextMatchResult: _false_text,
    vision.OcrLine: lambda: vision.OcrLine("", vision.Region(0, 0, 1, 1), 0.0),  # no text
    vision.OcrWord: lambda: vision.OcrWord("", vision.Region(0, 0, 1, 1), 0.0),
    # these come from a device: made as the fixtures make them on a miss
    SerialMatch: lambda: SerialMatch(None, (), "boot log without the pattern"),
    AdbResult: lambda: AdbResult(1, "sh: nosuch: not found", "nosuch"),
    AudioResult: lambda: AudioResult(False, -120.0, None),
    AiCheckResult: lambda: AiCheckResult("is a subtitle shown?", False, "no text", "model-x"),
    # the lab's own answers: `virtualpy-lab check` and a live-view link check
    PartResult: lambda: PartResult("stb-1", "video", "v4l2", False, "no frame in 20 s"),
    CheckReport: lambda: CheckReport(
        (
            PartResult("stb-1", "power", "tapo", True, "on/off ok"),
            PartResult("stb-1", "video", "v4l2", False, "no frame in 20 s"),
        )
    ),
    LinkCheck: lambda: LinkCheck(False, "the link expired"),
}

#: results that are records, not answers: they have no truth value of their own
RECORDS: dict[type, Callable[[], object]] = {
    Keypress: lambda: Keypress("KEY_OK", 12.5),
}


def _has_truth_value(cls: type) -> bool:
    """Whether virtualpy's own code gives ``cls`` a truth value (not numpy's, not Enum's)."""
    ours = [k for k in cls.__mro__ if k.__module__.startswith("pytest_virtualpy")]
    return any("__bool__" in vars(k) or "__len__" in vars(k) for k in ours)


def _public_callables() -> list[object]:
    out: list[object] = [f for n in vision.__all__ if inspect.isfunction(f := getattr(vision, n))]
    for _, cls in FIXTURE_OBJECTS:
        out += [obj for _, obj, _ in members(cls)]
    return out


def test_every_result_class_is_listed() -> None:
    returned = {c for f in _public_callables() for c in returned_classes(f)}
    exported = {getattr(vision, n) for n in vision.__all__ if isinstance(getattr(vision, n), type)}
    with_truth = {
        c
        for c in returned | exported
        if c.__module__.startswith("pytest_virtualpy") and _has_truth_value(c)
    }
    assert vision.MatchResult in with_truth and SerialMatch in with_truth  # the scan works
    missing = sorted(c.__qualname__ for c in with_truth - set(FALSE_RESULTS))
    assert not missing, f"results with a truth value not checked here: {missing}"
    values_passed_in = {vision.Region, vision.MatchParameters}  # arguments, not results
    records = {
        c
        for c in returned | exported
        if dataclasses.is_dataclass(c) and c not in FALSE_RESULTS and c not in values_passed_in
    }
    unlisted = sorted(c.__qualname__ for c in records - set(RECORDS))
    assert not unlisted, f"result records not checked here: {unlisted}"


def _assert_frozen(instance: object) -> None:
    cls = type(instance)
    assert dataclasses.is_dataclass(cls), f"{cls.__qualname__} is not a dataclass"
    assert cls.__dataclass_params__.frozen, f"{cls.__qualname__} is not frozen"  # type: ignore[attr-defined]
    for f in dataclasses.fields(cls):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(instance, f.name, getattr(instance, f.name))


@pytest.mark.parametrize("cls", list(FALSE_RESULTS), ids=lambda c: c.__qualname__)
def test_result_is_frozen_and_can_be_false(cls: type) -> None:
    instance = FALSE_RESULTS[cls]()
    assert type(instance) is cls
    assert not instance, f"{instance!r} should be false"
    _assert_frozen(instance)


@pytest.mark.parametrize("cls", list(RECORDS), ids=lambda c: c.__qualname__)
def test_record_is_frozen(cls: type) -> None:
    instance = RECORDS[cls]()
    assert type(instance) is cls
    _assert_frozen(instance)

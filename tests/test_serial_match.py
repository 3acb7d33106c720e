"""``SerialMatch`` can be false: ``serial.expect`` has a form that answers instead of raising.

Issue 11: every truthy result can be false; ``SerialMatch.__bool__`` used to be always
true, so a "did the console say X?" question could not be asked without a try/except.
These run over real RPyC against a box of the session's simulated lab.
"""

from __future__ import annotations

import dataclasses

import pytest

from pytest_virtualpy.errors import SerialTimeout
from pytest_virtualpy.stb import SerialMatch
from pytest_virtualpy.steps import StepLog
from tests.serial_session import BANNER, begin_test


def test_expect_without_raising_answers_false_with_what_was_read(device):
    serial = begin_test(device)
    serial.write("version\r")
    result = serial.expect("no such text ever", timeout=1.0, raise_on_timeout=False)
    assert not result
    assert result.match is None and result.groups == ()
    assert "virtualpy STB firmware" in result.before  # what the console did say
    assert "not seen" in repr(result)


def test_expect_without_raising_answers_true_on_a_match(device):
    serial = begin_test(device)
    serial.write("version\r")
    result = serial.expect(BANNER, timeout=5.0, raise_on_timeout=False)
    assert result
    assert result.groups == ("4.2.1",)
    assert result.match.startswith("virtualpy STB firmware 4.2.1")


def test_expect_still_raises_by_default(device):
    """``serial.expect(...)`` without ``assert`` must keep failing the test when nothing comes."""
    serial = begin_test(device)
    with pytest.raises(SerialTimeout, match="no such text"):
        serial.expect("no such text ever", timeout=0.5)


def test_a_query_that_finds_nothing_is_not_a_failed_step(device):
    log = StepLog()
    serial = begin_test(device)
    serial._log = log
    assert not serial.expect("no such text ever", timeout=0.3, raise_on_timeout=False)
    (step,) = log.steps
    assert step.ok and step.detail["matched"] is False


def test_serial_match_is_frozen_and_false_without_a_match():
    hit = SerialMatch("firmware 4.2.1", ("4.2.1",), "boot\n")
    miss = SerialMatch(None, (), "boot\n")
    assert hit and not miss
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.match = "other"  # type: ignore[misc]
    assert hit == SerialMatch("firmware 4.2.1", ("4.2.1",), "boot\n")

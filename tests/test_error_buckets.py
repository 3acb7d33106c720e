"""Every outcome in the right bucket, in every view of one run.

A lab fault is an *error* (never a product failure) and so is a mistake in the test
code: the terminal, JUnit XML, the results database and Allure must all agree. One
pytester run against the built-in simulated lab, read back four ways.
"""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_virtualpy.results.db import Database, parse_url

ROOT = Path(__file__).resolve().parents[1]
NAVIGATION = ROOT / "examples" / "navigation.toml"

SUITE = """
import pytest
from pytest_virtualpy.errors import LabConnectionError, LeaseLost, DeviceUnavailable


def test_lab_error_in_body():
    raise LabConnectionError("the lab daemon went away")


@pytest.fixture
def lab_breaks_in_setup():
    raise DeviceUnavailable("no device today")


def test_lab_error_in_setup(lab_breaks_in_setup):
    pass


@pytest.fixture
def lab_breaks_in_teardown():
    yield
    raise LeaseLost("lease expired during teardown")


def test_lab_error_in_teardown(lab_breaks_in_teardown):
    pass


def test_misspelt_key(remote):
    remote.press("KEY_MENUU")


def test_missing_reference_image(tv_screen):
    tv_screen.match("no-such-reference.png")


def test_unknown_navigation_node(stb):
    stb.navigate_to("no_such_node")


def test_bad_regex(serial):
    serial.expect("([unclosed", timeout=1)


def test_product_bug(tv_screen):
    assert tv_screen.is_black(), "the screen should have been black"
"""

LAB = ("test_lab_error_in_body", "test_lab_error_in_setup", "test_lab_error_in_teardown")
USAGE = (
    "test_misspelt_key",
    "test_missing_reference_image",
    "test_unknown_navigation_node",
    "test_bad_regex",
)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_lab_and_usage_errors_are_errors_everywhere(pytester, monkeypatch, xdist):
    run_uid = f"buckets-{secrets.token_hex(3)}"
    monkeypatch.setenv("VIRTUALPY_RUN_ID", run_uid)
    pytester.makeini(
        f"[pytest]\nvirtualpy_sim_boot_secs = 0.5\nvirtualpy_navigation = {NAVIGATION}\n"
    )
    pytester.makepyfile(test_buckets=SUITE)
    db_path = pytester.path / "results.db"
    result = pytester.runpytest_subprocess(
        "-rA",
        f"--results-db={db_path}",
        "--junitxml=junit.xml",
        "--alluredir=allure",
        "-p",
        "no:cacheprovider",
        *xdist,
    )
    out = result.stdout.str()

    # 1. the terminal: errors, labelled, never failures (the product bug is the one failure)
    result.assert_outcomes(passed=1, failed=1, errors=7)
    for name in LAB:
        assert any("LAB ERROR" in line and name in line for line in out.splitlines()), out
    for name in USAGE:
        assert any("USAGE ERROR" in line and name in line for line in out.splitlines()), out
    assert "unknown key 'KEY_MENUU'" in out and "no-such-reference.png" in out
    assert "no_such_node" in out and "([unclosed" in out
    assert "lab daemon internal error" not in out

    # 2. JUnit XML: <error> for every lab and usage error, <failure> only for the bug
    cases = {
        c.get("name"): c for c in ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    }
    for name in (*LAB, *USAGE):
        assert cases[name].find("failure") is None, ET.tostring(cases[name])
        assert cases[name].find("error") is not None, ET.tostring(cases[name])
        bucket = "lab error" if name in LAB else "usage error"  # in every phase (docs/ci.md)
        assert cases[name].find("error").get("type") == bucket, ET.tostring(cases[name])
    assert cases["test_product_bug"].find("failure") is not None
    suite = next(ET.parse(pytester.path / "junit.xml").getroot().iter("testsuite"))
    assert (suite.get("failures"), suite.get("errors")) == ("1", "7")
    body = cases["test_lab_error_in_body"].find("error")
    assert "the lab daemon went away" in body.get("message")

    # 3. the results database: outcome error, with the flag that says whose fault it was
    db = Database.connect(parse_url(str(db_path), pytester.path), migrate=False)
    rows = {
        r["name"]: r
        for r in db.query(
            "SELECT t.name, t.outcome, t.lab_error, t.usage_error, t.id FROM test_results t "
            "JOIN runs r ON r.id = t.run_id WHERE r.run_uid = ?",
            (run_uid,),
        )
    }
    for name in LAB:
        assert (rows[name]["outcome"], bool(rows[name]["lab_error"])) == ("error", True), name
        assert not rows[name]["usage_error"]
    for name in USAGE:
        assert (rows[name]["outcome"], bool(rows[name]["usage_error"])) == ("error", True), name
        assert not rows[name]["lab_error"]
        shots = db.scalar(
            "SELECT COUNT(*) FROM artifacts WHERE test_result_id = ?", (rows[name]["id"],)
        )
        assert shots == 0, f"{name}: a usage error needs no failure screenshot"
    bug = rows["test_product_bug"]
    assert (bug["outcome"], bool(bug["lab_error"]), bool(bug["usage_error"])) == (
        "failed",
        False,
        False,
    )

    # 4. Allure: broken for lab and usage errors, failed for the product bug
    statuses = {}
    for f in (pytester.path / "allure").glob("*-result.json"):
        data = json.loads(f.read_text())
        statuses[data["name"]] = data["status"]
    for name in (*LAB, *USAGE):
        assert statuses[name] == "broken", (name, statuses)
    assert statuses["test_product_bug"] == "failed"


def test_only_deliberate_refusals_from_the_daemon_are_usage_errors():
    """A bad argument the daemon refuses is the test's mistake; a daemon bug is the lab's."""
    from pytest_virtualpy import errors
    from pytest_virtualpy.lab import wire

    def roundtrip(exc: Exception) -> Exception:
        with pytest.raises(Exception) as info:
            wire.decode(wire.encode_error(exc))
        return info.value

    assert isinstance(roundtrip(ValueError("timeout must be 0..600 s")), errors.BadArgument)
    assert isinstance(roundtrip(errors.PatternError("bad regex")), errors.PatternError)
    for bug in (TypeError("'NoneType' object is not subscriptable"), KeyError("x")):
        got = roundtrip(bug)
        assert type(got) is errors.LabError and "lab daemon internal error" in str(got)
    got = roundtrip(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    assert type(got) is errors.LabError  # a ValueError subclass: a daemon bug, not a usage error

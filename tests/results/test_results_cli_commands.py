"""``virtualpy results list | show | export``: readable tables, valid JUnit, clear errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from pytest_virtualpy.results.cli import main as results_cli
from pytest_virtualpy.results.records import TestAccumulator

SUITE = """
import pytest

def test_ok():
    pass

def test_bad():
    assert 1 == 2

@pytest.mark.xfail(reason="known")
def test_xf():
    assert 0

@pytest.mark.xfail(reason="fixed?")
def test_xp():
    pass
"""


@pytest.fixture
def recorded(pytester, aws_env, monkeypatch):
    monkeypatch.setenv("VIRTUALPY_RUN_ID", "cli-run-1")
    pytester.makepyfile(SUITE)
    pytester.runpytest("--build", "1.2.3").assert_outcomes(passed=1, failed=1, xfailed=1, xpassed=1)
    monkeypatch.chdir(pytester.path)
    return pytester.path / ".virtualpy" / "results.db"


def test_list_show_and_export(recorded, capsys):
    assert results_cli(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["run", "started", "(UTC)", "status"]
    assert out[2].startswith("cli-run-1") and "1.2.3" in out[2]
    assert results_cli(["show", "cli-run"]) == 0  # a unique prefix is enough
    out = capsys.readouterr().out
    assert "xpassed" in out and "1.2.3" in out
    assert any(line.startswith("failed") and "::test_bad" in line for line in out.splitlines())
    assert results_cli(["export", "latest", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {t["name"]: t["outcome"] for t in data["tests"]} == {
        "test_ok": "passed",
        "test_bad": "failed",
        "test_xf": "xfailed",
        "test_xp": "xpassed",
    }
    assert results_cli(["export", "cli-run-1", "--format", "junit"]) == 0
    root = ET.fromstring(capsys.readouterr().out.split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "1"
    assert suite.get("skipped") == "1" and len(suite.findall("testcase")) == 4


def test_clear_errors(recorded, capsys):
    assert results_cli(["show", "no-such-run"]) == 1
    assert "run 'no-such-run' is not in" in capsys.readouterr().err
    assert results_cli(["list", "--results-db", "mysql://x/y"]) == 2
    assert "unsupported results database URL" in capsys.readouterr().err
    assert results_cli(["list", "--results-db", "postgresql://postgres@127.0.0.1:1/test"]) == 1
    assert "cannot connect to Postgres at postgresql://postgres@127.0.0.1:1/test" in (
        capsys.readouterr().err
    )
    assert results_cli(["list", "--results-db", "missing.db"]) == 1
    assert "no results database at" in capsys.readouterr().err


class _Report:
    def __init__(self, when, outcome, **kw):
        self.when, self.outcome, self.duration = when, outcome, 0.01
        self.start, self.stop, self.longrepr = 1.0, 1.01, kw.pop("longrepr", None)
        self.__dict__.update(kw)


@pytest.mark.parametrize(
    ("phases", "outcome", "lab_error"),
    [
        ([("setup", "passed"), ("call", "passed"), ("teardown", "passed")], "passed", False),
        ([("setup", "passed"), ("call", "passed"), ("teardown", "failed")], "error", False),
        ([("setup", "passed"), ("call", "failed"), ("teardown", "failed")], "failed", False),
        ([("setup", "failed"), ("teardown", "passed")], "error", False),
        ([("setup", "skipped"), ("teardown", "passed")], "skipped", False),
        ([("setup", "passed"), ("call", "skipped", {"wasxfail": "r"})], "xfailed", False),
        ([("setup", "passed"), ("call", "passed", {"wasxfail": "r"})], "xpassed", False),
        (
            [("setup", "passed"), ("call", "failed", {"virtualpy_lab_error": True})],
            "error",
            True,
        ),
        (
            [("setup", "failed", {"virtualpy_lab_error": True}), ("teardown", "passed")],
            "error",
            True,
        ),
    ],
)
def test_one_outcome_per_test(phases, outcome, lab_error):
    acc = TestAccumulator("r", "t.py::test")
    for phase in phases:
        when, result, *extra = phase
        acc.add(_Report(when, result, **(extra[0] if extra else {})))
    record = acc.finish()
    assert (record.outcome, record.lab_error) == (outcome, lab_error)

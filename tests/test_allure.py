"""Allure reporting: results JSON from allure-pytest, and the HTML report Allure 3 builds.

A few example-like device tests run (pytester) against the built-in simulated lab
with ``--alluredir``; the results must hold virtualpy's steps (nested, with status
and parameters), the device labels and the failure screenshots. Then, where
Node.js is available, ``npx allure generate`` (npm ``allure`` 3, installed once
into the repository's node_modules by dev.py's helper) must put the failed test's
screenshot into the report, byte for byte, and so must the single-file report
that ``python3 dev.py demo`` builds.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

CONFTEST = """
import argparse
import json


def pytest_addoption(parser):
    try:  # the results layer provides --build; add it if that layer is absent
        parser.addoption("--build")
    except (ValueError, argparse.ArgumentError):
        pass


def pytest_virtualpy_artifact(item, artifact):
    with open("artifacts.jsonl", "a") as f:
        f.write(json.dumps({"test": item.name, **artifact}) + "\\n")
"""

TESTS = """
from pathlib import Path

from pytest_virtualpy.errors import LabConnectionError

IMAGES = Path(__file__).resolve().parent / "images"


def test_about(stb, tv_screen):
    stb.navigate_to("about")
    assert tv_screen.wait_for_text("Firmware version 4.2.1", timeout=10)


def test_black(stb, tv_screen):
    stb.navigate_to("home")
    assert tv_screen.is_black()


def test_match_timeout(stb, tv_screen):
    stb.navigate_to("home")
    tv_screen.wait_for_match(IMAGES / "guide.png", timeout=1)


def test_lab_breaks(stb, remote, monkeypatch):
    def press(key, hold_secs=None):
        raise LabConnectionError("the daemon went away")

    monkeypatch.setattr(remote._device, "press", press)
    remote.press("KEY_OK")
"""


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, Path]:
    pytester.makeini(
        "[pytest]\nvirtualpy_sim_boot_secs = 0.5\nvirtualpy_navigation = navigation.toml\n"
    )
    shutil.copy(EXAMPLES / "navigation.toml", pytester.path)
    shutil.copytree(EXAMPLES / "images", pytester.path / "images")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_device=TESTS)
    results = pytester.path / "allure-results"
    result = pytester.runpytest(
        f"--alluredir={results}", "--artifacts=arts", "--build=4.2.1-rc3", *args
    )
    return result, results


def _tests(results: Path) -> dict[str, dict]:
    tests = {}
    for f in results.glob("*-result.json"):
        r = json.loads(f.read_text())
        tests[r["name"]] = r
    return tests


def _labels(result: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label in result["labels"]:
        out.setdefault(label["name"], []).append(label["value"])
    return out


def _walk(steps: list[dict]):
    for s in steps:
        yield s
        yield from _walk(s.get("steps", []))


def _artifacts(pytester: pytest.Pytester) -> list[dict]:
    lines = (pytester.path / "artifacts.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def allure_run(pytester):
    result, results = _run(pytester)
    result.assert_outcomes(passed=1, failed=2, errors=1)  # the lab error is an error
    return results


def test_results_have_steps_labels_and_screenshots(allure_run, pytester):
    tests = _tests(allure_run)
    assert set(tests) == {"test_about", "test_black", "test_match_timeout", "test_lab_breaks"}

    # a passing test: nested steps with parameters, device labels
    about = tests["test_about"]
    assert about["status"] == "passed"
    labels = _labels(about)
    assert labels["device"] == ["sim-0"]
    assert labels["lab"] == ["sim"]
    assert labels["model"] == ["VPY-STB-1"]
    assert labels["build"] == ["4.2.1-rc3"]
    assert "VPY-STB-1" in labels["tag"]
    assert labels["run"]
    top = [s["name"] for s in about["steps"]]
    assert top == ["navigate about", "wait_for_text Firmware version 4.2.1"]
    navigate = about["steps"][0]
    assert navigate["status"] == "passed"
    inner = [s["name"] for s in _walk(navigate["steps"])]  # presses sit inside nav_hop steps
    assert any(n.startswith("press KEY_") for n in inner), inner
    assert any(n.startswith("match ") for n in inner), inner
    press = next(s for s in _walk(navigate["steps"]) if s["name"].startswith("press KEY_"))
    assert {p["name"] for p in press["parameters"]} >= {"time"}
    match = next(s for s in _walk(navigate["steps"]) if s["name"] == "match about.png")
    params = {p["name"]: p["value"] for p in match["parameters"]}
    assert float(params["score"]) > 0.9 and params["image"].endswith("images/about.png")
    text = about["steps"][1]
    read = {p["name"]: p["value"] for p in text["parameters"]}["read"]
    assert text["status"] == "passed" and "4.2.1" in read

    # a product failure: failed, with the failure screenshot attached to the test
    black = tests["test_black"]
    assert black["status"] == "failed"
    assert "AssertionError" in black["statusDetails"]["message"]
    shot = next(a for a in _artifacts(pytester) if a["test"] == "test_black")
    assert shot["kind"] == "screenshot" and shot["name"] == "failure.png"
    attached = {a["name"]: a for a in black["attachments"]}
    assert attached["failure.png"]["type"] == "image/png"
    assert _sha256(allure_run / attached["failure.png"]["source"]) == shot["sha256"]

    # a match timeout: the step and the test failed, plain and annotated screenshots
    timeout = tests["test_match_timeout"]
    assert timeout["status"] == "failed"
    step = timeout["steps"][-1]
    assert step["name"] == "wait_for_match guide.png"
    assert step["status"] == "failed"
    assert "MatchTimeout" in step["statusDetails"]["message"]
    assert {"failure.png", "failure-annotated.png"} <= {a["name"] for a in timeout["attachments"]}

    # a lab error: broken (not failed), the step that hit it too
    broken = tests["test_lab_breaks"]
    assert broken["status"] == "broken"
    assert "LabConnectionError" in broken["statusDetails"]["message"]
    press = broken["steps"][-1]
    assert press["name"] == "press KEY_OK" and press["status"] == "broken"


def test_fixtures_have_readable_names_and_a_status_and_evidence_comes_first(allure_run):
    containers = [json.loads(f.read_text()) for f in allure_run.glob("*-container.json")]
    fixtures = [f for c in containers for f in c.get("befores", []) + c.get("afters", [])]
    assert fixtures
    for f in fixtures:  # not "remote::<lambda>" with status "?"
        assert "::" not in f["name"] and "<lambda>" not in f["name"], f["name"]
        assert f.get("status") in ("passed", "failed", "broken", "skipped"), f
    names = {f["name"] for f in fixtures}
    assert {"virtualpy device", "virtualpy device: teardown", "tv_screen", "stb"} <= names

    timeout = _tests(allure_run)["test_match_timeout"]
    order = [a["name"] for a in timeout["attachments"]]
    assert order.index("failure-annotated.png") < order.index("failure.png"), order
    assert all(not s.get("attachments") for s in _walk(timeout["steps"])), "evidence on a step"


def test_html_report_holds_the_failure_screenshot(request, pytester, tmp_path):
    dev = _load_dev()
    try:
        allure = dev.allure_cli()  # npm install into ROOT/node_modules, once
    except dev.NoAllure as e:
        pytest.skip(f"cannot build the HTML report here: {e}")
    allure_run = request.getfixturevalue("allure_run")
    report = tmp_path / "report"
    dev.run_quietly(
        [*allure, "generate", str(allure_run), "-o", str(report)], "allure generate", 300
    )
    assert (report / "index.html").exists()

    # Allure 3 keeps one JSON per test in data/test-results; attachments are steps
    # of type "attachment" whose link id names the file in data/attachments.
    tests = {}
    for f in (report / "data" / "test-results").glob("*.json"):
        r = json.loads(f.read_text())
        tests[r["name"]] = r
    black = tests["test_black"]
    assert black["status"] == "failed"
    links = {
        s["link"]["name"]: s["link"] for s in _walk(black["steps"]) if s.get("type") == "attachment"
    }
    link = links["failure.png"]
    png = report / "data" / "attachments" / f"{link['id']}{link['ext']}"
    shot = next(a for a in _artifacts(pytester) if a["test"] == "test_black")
    assert _sha256(png) == shot["sha256"]
    about = tests["test_about"]
    navigate = next(s for s in about["steps"] if s.get("name") == "navigate about")
    assert any(s.get("name", "").startswith("press KEY_") for s in _walk(navigate["steps"]))

    # the demo's report: one index.html with the attachments inside (base64)
    single = dev.allure_report(allure_run, tmp_path / "single")
    html = (single / "index.html").read_text()
    assert f'"data/attachments/{link["id"]}{link["ext"]}"' in html
    assert base64.b64encode(png.read_bytes()).decode() in html


def test_inactive_without_alluredir(pytester):
    pytester.makepyfile(
        test_plugins=textwrap.dedent("""
        def test_adapter(request):
            assert not request.config.pluginmanager.has_plugin("virtualpy-allure-steps")
        """)
    )
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makepyfile(
        test_plugins=textwrap.dedent("""
        def test_adapter(request):
            assert request.config.pluginmanager.has_plugin("virtualpy-allure-steps")
        """)
    )
    pytester.runpytest(f"--alluredir={pytester.path / 'ar'}").assert_outcomes(passed=1)


def _load_dev():
    spec = importlib.util.spec_from_file_location("virtualpy_dev", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

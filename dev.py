#!/usr/bin/env python3
"""The two commands of the README, on a fresh machine with only Python 3.11+.

    python3 dev.py demo       # set up, run the example suite against the simulated lab
    python3 dev.py test       # set up, run the project's own test suite
    python3 dev.py api-docs   # regenerate docs/api.md from the docstrings

Both create ``.venv`` (once) and install the project into it with pip, so
nothing else needs installing by hand. Extra arguments go to pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".virtualpy-installed"


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def ensure_env() -> None:
    """Create the venv and (re)install the project when pyproject.toml changed."""
    if not PY.exists():
        say(f"creating a virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = (ROOT / "pyproject.toml").read_text()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing virtualpy and its dependencies (first run takes a few minutes)")
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def pytest(args: list[str], cwd: Path, **env_extra: str) -> int:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **env_extra)
    return subprocess.run([str(PY), "-m", "pytest", *args], cwd=cwd, env=env).returncode


def demo(extra: list[str], out: Path = ROOT / ".virtualpy") -> int:
    ensure_env()
    say("running the example suite against the simulated lab")
    artifacts, junit, results = out / "artifacts", out / "demo-junit.xml", out / "allure-results"
    db = out / "results.db"  # beside the rest, so `virtualpy results list` here finds it
    run_id = time.strftime("demo-%Y%m%d-%H%M%S")
    args = ["-rA", f"--artifacts={artifacts}", f"--junitxml={junit}", f"--results-db={db}"]
    args += ["-o", f"virtualpy_results_spool={out / 'spool'}"]
    args += [f"--alluredir={results}", "--clean-alluredir", *extra]
    code = pytest(args, ROOT / "examples", VIRTUALPY_RUN_ID=run_id)
    say(f"results: {junit}")
    say(f"results database: {db} (`{BIN / 'virtualpy'} results show {run_id}` in {out.parent})")
    say(f"screenshots and logs: {artifacts / run_id}/<test>/")
    say(f"allure results: {results}")
    try:
        report = allure_report(results, out / "allure-report")
        say(f"allure report: {report / 'index.html'}")
    except NoAllure as e:
        say(f"no HTML allure report: {e}")
    return code


class NoAllure(Exception):
    """The HTML Allure report cannot be built on this machine; the message says why."""


def allure_cli() -> list[str]:
    """The npm ``allure`` command (pinned in package.json), installed into node_modules once."""
    npm, npx = shutil.which("npm"), shutil.which("npx")
    if not (npm and npx):
        raise NoAllure("Node.js (npm, npx) is not installed")
    wanted = (ROOT / "package.json").read_text() + (ROOT / "package-lock.json").read_text()
    stamp = ROOT / "node_modules" / ".virtualpy-installed"
    if not (stamp.exists() and stamp.read_text() == wanted):
        say("installing the Allure report builder with npm (once, ~50 MB into node_modules)")
        quiet = ["--no-audit", "--no-fund", "--loglevel=error", "--fetch-retries=1"]
        run_quietly([npm, "install", *quiet], "npm install", timeout=600)
        stamp.write_text(wanted)
    return [npx, "--no", "allure"]


def allure_report(results: Path, report: Path) -> Path:
    """Build (replace) the HTML report of ``results`` in ``report`` with Allure 3, or NoAllure.

    One self-contained index.html (``--single-file``): it opens straight from disk,
    where the multi-file report would need a web server to load its data.
    """
    shutil.rmtree(report, ignore_errors=True)
    awesome = [*allure_cli(), "awesome", str(results), "-o", str(report), "--single-file"]
    run_quietly([*awesome, "--name", "virtualpy demo"], "allure awesome", timeout=300)
    if not (report / "index.html").exists():
        raise NoAllure(f"allure awesome wrote no {report / 'index.html'}")
    return report


def run_quietly(cmd: list[str], what: str, timeout: float) -> None:
    """Run ``cmd`` in the repository, showing nothing unless it fails (then: NoAllure)."""
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NoAllure(f"{what} failed: {e}") from None
    if p.returncode != 0:
        lines = [x.strip() for x in (p.stderr + p.stdout).splitlines() if x.strip()]
        why = [x for x in lines if "fail" in x.lower() and "complete log" not in x]
        reason = (why or lines or [f"exit status {p.returncode}"])[0]
        raise NoAllure(f"{what} failed: {reason[:200]}")


def test(extra: list[str]) -> int:
    ensure_env()
    say("running the test suite")
    code = pytest(["-n", "2", "--dist", "loadfile", *extra], ROOT)
    if code == 5:
        say("pytest collected no tests: that is a failure")
        return 1
    return code


def api_docs(extra: list[str]) -> int:
    ensure_env()
    return subprocess.run([str(PY), "-m", "pytest_virtualpy.api_docs", *extra]).returncode


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain, not crash
        sys.exit(f"virtualpy needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    commands = {"demo": demo, "test": test, "api-docs": api_docs}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The two commands of the README, on a fresh machine with only Python 3.11+.

    python3 dev.py demo    # set up, run the example suite against the simulated lab
    python3 dev.py test    # set up, run the project's own test suite

Both create ``.venv`` (once) and install the project into it with pip, so
nothing else needs installing by hand. Extra arguments go to pytest.
"""

from __future__ import annotations

import os
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


def demo(extra: list[str]) -> int:
    ensure_env()
    say("running the example suite against the simulated lab")
    artifacts = ROOT / ".virtualpy" / "artifacts"
    junit = ROOT / ".virtualpy" / "demo-junit.xml"
    run_id = time.strftime("demo-%Y%m%d-%H%M%S")
    args = ["-rA", f"--artifacts={artifacts}", f"--junitxml={junit}", *extra]
    code = pytest(args, ROOT / "examples", VIRTUALPY_RUN_ID=run_id)
    say(f"results: {junit}")
    say(f"screenshots and logs: {artifacts / run_id}/<test>/")
    return code


def test(extra: list[str]) -> int:
    ensure_env()
    say("running the test suite")
    code = pytest(["-n", "2", "--dist", "loadfile", *extra], ROOT)
    if code == 5:
        say("pytest collected no tests: that is a failure")
        return 1
    return code


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain, not crash
        sys.exit(f"virtualpy needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())

"""``python3 dev.py demo`` keeps all it writes under one ``.virtualpy`` and says where."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_dev():
    spec = importlib.util.spec_from_file_location("virtualpy_dev_demo", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_database_is_found_from_the_project_root(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("VIRTUALPY_RESULTS_DB", raising=False)
    out = tmp_path / ".virtualpy"
    code = _load_dev().demo(["-k", "test_version_command", "-p", "no:cacheprovider"], out=out)
    printed = capfd.readouterr().out
    assert code == 0, printed
    assert f"results database: {out / 'results.db'}" in printed
    run_id = re.search(r"demo-\d{8}-\d{6}", printed).group(0)  # the demo names its run
    virtualpy = Path(sys.executable).parent / "virtualpy"
    listed = subprocess.run(
        [str(virtualpy), "results", "list"], cwd=tmp_path, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert run_id in listed.stdout
    sub = tmp_path / "deeper" / "folder"  # from a sub-folder too
    sub.mkdir(parents=True)
    shown = subprocess.run(
        [str(virtualpy), "results", "show", run_id], cwd=sub, capture_output=True, text=True
    )
    assert shown.returncode == 0 and "test_version_command" in shown.stdout, shown.stderr

"""``virtualpy-lab``: configs, the sim command, tokens and screenshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from lab_daemon.cli import main
from lab_daemon.config import load_config
from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab.client import LabClient


def test_config_is_validated(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text('[lab]\nname = "pi"\n[[devices]]\nname = "a"\nkind = "sim"\nfps = 30\n')
    cfg = load_config(path)
    assert cfg.name == "pi" and cfg.bind == "127.0.0.1" and cfg.devices[0].options == {"fps": 30}
    cases = {
        '[[devices]]\nname = "a"\nkind = "hdmi-magic"\n': 'a device is kind = "sim" or',
        '[[devices]]\nname = "a"\nkind = "sim"\ncolour = 1\n': "unknown option",
        '[[devices]]\nname = "a"\nkind = "sim"\nresolution = "4k"\n': "unknown resolution",
        '[lab]\nname = "x"\n': "lists no devices",
        "[lab\n": "not valid TOML",
        '[[devices]]\nname = "a"\nkind = "sim"\n' * 2: "must be unique",
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(path)


def test_serve_with_missing_config_exits_with_message(tmp_path, capsys):
    assert main(["serve", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _start(args, env, tmp_path):
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab_daemon", *args, "--port", "0", "--ready-file", str(ready)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    end = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < end, "daemon did not start"
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())


def test_serve_config_generates_a_token_and_says_where(tmp_path):
    cfg = tmp_path / "lab.toml"
    cfg.write_text(
        '[lab]\nname = "bench"\n[[devices]]\nname = "box-1"\nkind = "sim"\nboot_secs = 0\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUALPY_LAB_TOKEN"}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "cfg")
    proc, info = _start(["serve", "--config", str(cfg)], env, tmp_path)
    try:
        token_file = tmp_path / "cfg" / "virtualpy" / "lab-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        with LabClient.connect(info["address"], token_file.read_text().strip()) as client:
            assert [d["name"] for d in client.list_devices()] == ["box-1"]
            assert client.hello()["lab"] == "bench"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    assert f"token from {token_file}" in out
    assert proc.returncode == 0


def test_screenshot_command_saves_a_png(tmp_path, sim_lab, monkeypatch):
    monkeypatch.setenv("VIRTUALPY_LAB_TOKEN", sim_lab.token)
    out = tmp_path / "shot.png"
    assert (
        main(["screenshot", "--lab", sim_lab.address, "--region", "0,0,320,180", "-o", str(out)])
        == 0
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_screenshot_without_token_is_explained(tmp_path, sim_lab, monkeypatch, capsys):
    monkeypatch.delenv("VIRTUALPY_LAB_TOKEN", raising=False)
    assert main(["screenshot", "--lab", sim_lab.address, "-o", str(tmp_path / "x.png")]) == 2
    assert "set VIRTUALPY_LAB_TOKEN" in capsys.readouterr().err


def test_sim_rejects_zero_devices(capsys):
    assert main(["sim", "--devices", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err

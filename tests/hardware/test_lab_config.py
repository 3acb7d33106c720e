"""``lab.toml`` for real hardware: every mistake is one clear error; the token persists."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab_daemon.auth_token import load_or_create_token
from lab_daemon.config import load_config
from lab_daemon.devices.options import Option, check_options
from pytest_virtualpy.errors import ConfigError

POWER = 'power = { kind = "command", on = "true", off = "true" }'


def _lab(tmp_path: Path, body: str) -> Path:
    (tmp_path / "x.mp4").touch()  # the video file the tables name, beside lab.toml
    path = tmp_path / "lab.toml"
    path.write_text(textwrap.dedent(body))
    return path


def _error(tmp_path: Path, body: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(_lab(tmp_path, body))
    return str(info.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            f'[[devices]]\nname = "tv"\nremote = {{ kind = "lirc", remote = "acme" }}\n{POWER}\n',
            ["device 'tv'", "'video' is missing", "remote, power"],
        ),
        (
            '[[devices]]\nname = "tv"\nvideo = { source = "x.mp4" }\n'
            'power = { kind = "tapo-ish" }\n',
            ["device 'tv'", "power", "unknown kind 'tapo-ish'", "command"],
        ),
        (
            '[[devices]]\nname = "tv"\nvideo = { source = "x.mp4" }\n'
            'power = { kind = "command", on = "true", of = "true" }\n',
            ["device 'tv': power", "unknown key 'of'", "did you mean 'off'"],
        ),
        (
            '[[devices]]\nname = "tv"\nvideo = { source = "x.mp4" }\n'
            'power = { kind = "command", on = "true" }\n',
            ["device 'tv': power", "'off' is missing"],
        ),
        (
            '[[devices]]\nname = "tv"\nvideo = { source = "x.mp4" }\n'
            'serial = { port = "/dev/ttyUSB0", baudrate = "fast" }\n',
            ["device 'tv': serial", "'baudrate' must be an integer", "'fast'"],
        ),
        (
            '[[devices]]\nname = "tv"\nvideo = { source = "x.mp4" }\nremotes = {}\n',
            ["device 'tv'", "unknown key(s) remotes"],
        ),
        (
            '[lab]\nname = "pi"\nbindd = "0.0.0.0"\n[[devices]]\nname = "s"\nkind = "sim"\n',
            ["[lab] has unknown key(s) bindd", "known: name, bind, port, token_file"],
        ),
        (
            '[lab]\nport = "18861"\n[[devices]]\nname = "s"\nkind = "sim"\n',
            ["[lab] port must be an integer", "'18861'"],
        ),
        (
            '[[devices]]\nname = "s"\nkind = "tv"\n',
            ["device 's' has kind 'tv'", 'kind = "sim"'],
        ),
    ],
    ids=[
        "no-video",
        "unknown-kind",
        "unknown-key",
        "missing-key",
        "wrong-type",
        "unknown-part",
        "unknown-lab-key",
        "lab-key-type",
        "unknown-device-kind",
    ],
)
def test_every_mistake_is_one_error_naming_file_device_and_key(tmp_path, body, expected):
    message = _error(tmp_path, body)
    assert str(tmp_path / "lab.toml") in message
    for part in expected:
        assert part in message, message


def test_a_video_file_is_found_beside_lab_toml_and_a_missing_one_is_an_error(tmp_path):
    cfg = load_config(_lab(tmp_path, '[[devices]]\nname = "tv"\nvideo = { source = "x.mp4" }\n'))
    assert cfg.devices[0].parts["video"][1]["source"] == str(tmp_path / "x.mp4")
    message = _error(tmp_path, '[[devices]]\nname = "tv"\nvideo = { source = "gone.mp4" }\n')
    assert "device 'tv': video: 'source'" in message and "gone.mp4 does not exist" in message
    message = _error(
        tmp_path,
        '[[devices]]\nname = "tv"\nvideo = { source = "x.mp4" }\nnavigation = "trees/a.toml"\n',
    )
    assert "'navigation'" in message and "a.toml does not exist" in message


def test_options_name_missing_environment_variables_and_files(tmp_path, monkeypatch):
    schema = {
        "password_env": Option(str, required=True, env=True),
        "keymap_file": Option(str, path=True),
    }
    monkeypatch.delenv("VPY_TEST_PLUG_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="VPY_TEST_PLUG_PASSWORD, which is not set"):
        check_options({"password_env": "VPY_TEST_PLUG_PASSWORD"}, schema, "lab.toml: power")
    monkeypatch.setenv("VPY_TEST_PLUG_PASSWORD", "x")
    with pytest.raises(ConfigError, match="keys.toml does not exist"):
        check_options(
            {"password_env": "VPY_TEST_PLUG_PASSWORD", "keymap_file": "keys.toml"},
            schema,
            "lab.toml: remote",
            tmp_path,
        )
    (tmp_path / "keys.toml").write_text("")
    got = check_options(
        {"password_env": "VPY_TEST_PLUG_PASSWORD", "keymap_file": "keys.toml"},
        schema,
        "lab.toml: remote",
        tmp_path,
    )
    assert got["keymap_file"] == str(tmp_path / "keys.toml")


def test_a_part_table_is_checked_against_its_drivers_options(tmp_path):
    cfg = load_config(
        _lab(
            tmp_path,
            f"""
            [lab]
            name = "pi-03"
            token_file = "token"
            [[devices]]
            name = "tv"
            model = "acme-4k"
            video = {{ source = "x.mp4", loop = true }}
            {POWER}
            serial = {{ port = "socket://127.0.0.1:1" }}
            """,
        )
    )
    assert cfg.token_file == str(tmp_path / "token")
    (device,) = cfg.devices
    assert (device.kind, device.model) == ("hardware", "acme-4k")
    assert device.parts["power"] == (
        "command",
        {"on": "true", "off": "true", "status": None, "timeout_secs": 10.0},
    )
    assert device.parts["serial"] == (
        "pyserial",
        {"port": "socket://127.0.0.1:1", "baudrate": 115200},
    )
    assert device.parts["video"][0] == "ffmpeg" and device.parts["video"][1]["loop"] is True


def test_serve_with_a_bad_config_prints_one_error_and_no_traceback(tmp_path):
    path = _lab(tmp_path, '[[devices]]\nname = "tv"\nvideo = { source = "x.mp4" }\nfoo = 1\n')
    done = subprocess.run(
        [sys.executable, "-m", "lab_daemon", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "unknown key(s) foo" in done.stderr and "Traceback" not in done.stderr


# --- the token ---------------------------------------------------------------------------


def test_the_token_file_is_created_once_then_read(tmp_path, monkeypatch):
    monkeypatch.delenv("VIRTUALPY_LAB_TOKEN", raising=False)
    path = tmp_path / "etc" / "lab-token"
    token, where = load_or_create_token(path)
    assert where == str(path) and path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, _ = load_or_create_token(path)
    assert again == token  # a restart keeps the clients' token


def test_a_token_file_others_can_read_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("VIRTUALPY_LAB_TOKEN", raising=False)
    path = tmp_path / "lab-token"
    path.write_text("secret\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=f"chmod 600 {path}"):
        load_or_create_token(path)


def test_a_start_that_fails_on_a_busy_port_keeps_the_token(tmp_path):
    token_file = tmp_path / "lab-token"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = _lab(
            tmp_path,
            f'[lab]\nport = {port}\ntoken_file = "{token_file}"\n'
            '[[devices]]\nname = "s"\nkind = "sim"\n',
        )
        env = {k: v for k, v in os.environ.items() if k != "VIRTUALPY_LAB_TOKEN"}
        first = subprocess.run(
            [sys.executable, "-m", "lab_daemon", "serve", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert first.returncode != 0
        token = token_file.read_text()
        second = subprocess.run(
            [sys.executable, "-m", "lab_daemon", "serve", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert second.returncode != 0
    assert token_file.read_text() == token  # not overwritten by the failed starts


def test_a_token_from_the_environment_is_kept_in_step_with_the_token_file(tmp_path, monkeypatch):
    monkeypatch.setenv("VIRTUALPY_LAB_TOKEN", "from-the-env")
    path = tmp_path / "lab-token"
    token, where = load_or_create_token(path)
    assert token == "from-the-env" and "also written to" in where
    assert path.read_text().strip() == "from-the-env"  # clients that read the file agree
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("another\n")
    token, where = load_or_create_token(path)
    assert token == "from-the-env" and "WARNING" in where and str(path) in where

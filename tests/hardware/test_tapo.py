"""The Tapo smart-plug driver, with the real PyPI ``tapo`` client against a local KLAP plug.

``tapo_fake.TapoFake`` speaks the plug's protocol with the real crypto, so these tests cover
the login, the encrypted requests and the plug's answers, not a mock of the library.
"""

from __future__ import annotations

import textwrap
import threading
import time

import pytest
import tapo  # noqa: F401 - a dependency: a missing one must fail, never skip
from tapo_fake import TapoFake

from lab_daemon.config import load_config
from lab_daemon.devices.options import check_options
from lab_daemon.devices.registry import driver_class
from lab_daemon.devices.tapo_power import TapoPower
from pytest_virtualpy.errors import ConfigError, LabError

USER, PASSWORD = "lab@example.com", "s3cret-Pass"


@pytest.fixture
def plug():
    fake = TapoFake(USER, PASSWORD).start()
    yield fake
    fake.stop()


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("TAPO_USER", USER)
    monkeypatch.setenv("TAPO_PASSWORD", PASSWORD)


def _options(fake: TapoFake, **over) -> dict:
    table = {
        "host": "127.0.0.1",
        "port": fake.port,
        "username_env": "TAPO_USER",
        "password_env": "TAPO_PASSWORD",
        "timeout_secs": 3.0,
        **over,
    }
    return check_options(table, TapoPower.OPTIONS, "lab.toml: device 'tv-1': power")


@pytest.fixture
def power(plug, credentials):
    driver = TapoPower.from_options(_options(plug), "tv-1")
    yield driver
    driver.close()


def test_switching_and_reading_go_to_the_plug(plug, power):
    assert power.get() is False
    power.set(True)
    assert plug.device_on is True and power.get() is True
    power.set(False)
    assert plug.device_on is False and power.get() is False
    assert plug.methods() == ["get_device_info", *["set_device_info", "get_device_info"] * 2]
    # one login for all five calls: the session is kept
    assert [p for p, _ in plug.requests].count("/app/handshake2") == 1


def test_a_state_changed_elsewhere_is_read_back(plug, power):
    plug.device_on = True  # someone pressed the plug's button
    assert power.get() is True


def test_a_wrong_password_is_a_lab_error_naming_the_variables(plug, credentials, monkeypatch):
    monkeypatch.setenv("TAPO_PASSWORD", "not-the-password")
    power = TapoPower.from_options(_options(plug), "tv-1")
    try:
        with pytest.raises(LabError) as info:
            power.set(True)
    finally:
        power.close()
    message = str(info.value)
    assert "'tv-1'" in message and plug.host in message and "refused the account" in message
    assert "TAPO_USER" in message and "TAPO_PASSWORD" in message
    assert "not-the-password" not in message  # never echo a secret
    assert plug.device_on is False and "/app/request" not in [p for p, _ in plug.requests]


def test_an_unreachable_plug_is_a_lab_error_naming_the_host_and_works_again_when_back(plug, power):
    power.set(True)
    plug.stop()  # off the network: the driver's session and connection go stale
    started = time.monotonic()
    with pytest.raises(LabError) as info:
        power.set(False)
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "'tv-1'" in message and plug.host in message and "cannot be reached" in message
    assert "IP address" in message
    plug.start()  # back, rebooted: it has forgotten the old session
    power.set(False)
    assert plug.device_on is False and power.get() is False
    assert [p for p, _ in plug.requests].count("/app/handshake2") == 2


def test_a_rebooted_plug_gets_a_new_login_within_the_same_call(plug, power):
    power.set(True)
    plug.stop()
    plug.start()  # back before the next call: the old session is refused, one retry logs in
    power.set(False)
    assert plug.device_on is False


def test_a_plug_that_stops_answering_times_out_as_a_lab_error(plug, credentials):
    power = TapoPower.from_options(_options(plug, timeout_secs=1.0), "tv-1")
    try:
        assert power.get() is False
        plug.stall_secs = 4.0
        started = time.monotonic()
        with pytest.raises(LabError) as info:
            power.set(True)
        assert time.monotonic() - started < 3  # bounded by timeout_secs, not the stall
        assert "no answer within 1 s" in str(info.value) and plug.host in str(info.value)
        plug.stall_secs = 0.0
        power.set(True)
        assert power.get() is True
    finally:
        power.close()


def test_close_stops_the_event_loop_thread(plug, power):
    power.get()
    thread = power._thread
    assert thread is not None and thread.is_alive()
    power.close()
    assert not thread.is_alive()
    assert power.get() is False  # a call after close starts a new loop


def test_calls_from_several_threads_are_serialised(plug, power):
    errors: list[BaseException] = []

    def flip(on: bool) -> None:
        try:
            for _ in range(3):
                power.set(on)
                power.get()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=flip, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not errors and not any(t.is_alive() for t in threads)


# --- options ------------------------------------------------------------------------------


def test_an_unset_credential_variable_is_a_config_error_naming_it(plug, monkeypatch):
    monkeypatch.setenv("TAPO_USER", USER)
    monkeypatch.delenv("TAPO_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as info:
        _options(plug)
    message = str(info.value)
    assert "'password_env'" in message and "TAPO_PASSWORD" in message and "export" in message


def test_the_table_names_variables_not_secrets(plug, credentials):
    with pytest.raises(ConfigError, match="'host' is missing"):
        check_options({"username_env": "TAPO_USER"}, TapoPower.OPTIONS, "power")
    with pytest.raises(ConfigError, match="unknown key 'password'"):
        check_options(
            {"host": "h", "username_env": "TAPO_USER", "password_env": "TAPO_PASSWORD",
             "password": PASSWORD},
            TapoPower.OPTIONS,
            "power",
        )  # fmt: skip
    opts = _options(plug, timeout_secs=2)
    assert opts["timeout_secs"] == 2.0 and opts["port"] == plug.port
    defaults = check_options(
        {"host": "192.168.1.50", "username_env": "TAPO_USER", "password_env": "TAPO_PASSWORD"},
        TapoPower.OPTIONS,
        "power",
    )
    assert defaults["port"] == 80 and defaults["timeout_secs"] == 10.0
    assert TapoPower.from_options(defaults, "tv-1")._address == "192.168.1.50"


def test_from_options_without_the_variable_is_a_config_error(monkeypatch):
    monkeypatch.delenv("TAPO_USER", raising=False)
    opts = {"host": "h", "username_env": "TAPO_USER", "password_env": "TAPO_PASSWORD"}
    with pytest.raises(ConfigError, match="TAPO_USER is not set"):
        TapoPower.from_options(opts, "tv-1")


def test_a_lab_toml_plug_is_checked_and_built_through_the_registry(
    plug, credentials, monkeypatch, tmp_path
):
    lab = tmp_path / "lab.toml"
    (tmp_path / "x.mp4").touch()  # video is required; the plug is what this test is about
    env_keys = 'username_env = "TAPO_USER", password_env = "TAPO_PASSWORD"'
    lab.write_text(
        textwrap.dedent(
            f"""
            [[devices]]
            name = "tv-1"
            video = {{ source = "x.mp4" }}
            power = {{ kind = "tapo", host = "127.0.0.1", port = {plug.port}, {env_keys} }}
            """
        )
    )
    (device,) = load_config(lab).devices
    kind, opts = device.parts["power"]
    power = driver_class("power", kind).from_options(opts, device.name)
    try:
        power.set(True)
        assert plug.device_on is True
    finally:
        power.close()
    monkeypatch.delenv("TAPO_USER")
    with pytest.raises(ConfigError) as info:
        load_config(lab)
    message = str(info.value)
    assert str(lab) in message and "'tv-1'" in message and "TAPO_USER, which is not set" in message

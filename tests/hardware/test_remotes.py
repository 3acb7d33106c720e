"""The remote drivers against real peers: Debian's lircd (file driver) and real shell commands.

lircd runs here on a private socket with the ``file`` driver, which writes every IR signal it
sends as ``pulse N`` / ``space N`` lines; the tests decode those NEC frames to check which
code went out, how often, and for how long a held key repeated.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from lircd_peer import CODES, Lircd, needs_lircd

from lab_daemon.devices.command_remote import CommandRemote
from lab_daemon.devices.lirc_remote import LircRemote
from lab_daemon.devices.options import check_options
from pytest_virtualpy.errors import BadArgument, ConfigError, LabError, UnknownKeyError


def lirc_remote(lircd: Lircd, **values) -> LircRemote:
    """A driver built the way the daemon builds it: lab.toml values checked, then from_options."""
    table = {"socket": lircd.socket, "remote": "acme", "keymap": {"KEY_EPG": "BTN_GUIDE"}}
    opts = check_options(table | values, LircRemote.OPTIONS, "lab.toml: device 'bench-1': remote")
    return LircRemote.from_options(opts, "bench-1")


# --- LircRemote ------------------------------------------------------------------------


@needs_lircd
def test_decoder_reads_a_frame_lircd_wrote_with_irsend(lircd):
    irsend = shutil.which("irsend")
    if irsend is None:
        pytest.skip("irsend is not installed: apt-get install lirc")
    subprocess.run([irsend, "-d", lircd.socket, "SEND_ONCE", "acme", "KEY_MENU"],
                   check=True, timeout=10)  # fmt: skip
    assert lircd.sent() == [CODES["KEY_MENU"]]


@needs_lircd
def test_keys_maps_buttons_to_our_names(lircd, caplog):
    remote = lirc_remote(lircd)
    with caplog.at_level("WARNING", logger="lab_daemon.devices.lirc_remote"):
        keys = remote.keys()
    assert keys == ["KEY_OK", "KEY_UP", "KEY_DOWN", "KEY_MENU", "KEY_CHANNELUP", "KEY_EPG"]
    assert "wol" in caplog.text and "keymap" in caplog.text  # left out, and how to add it


@needs_lircd
def test_press_sends_one_frame_of_the_right_code(lircd):
    remote = lirc_remote(lircd)
    pairs = [("KEY_OK", "KEY_OK"), ("KEY_EPG", "BTN_GUIDE"), ("KEY_CHANNELUP", "ChannelUp")]
    for key, button in pairs:
        mark = lircd.mark()
        before = time.time()
        sent = remote.press(key)
        assert before <= sent <= time.time()
        assert lircd.sent(mark) == [CODES[button]], key


@needs_lircd
def test_hold_repeats_until_released(lircd):
    remote = lirc_remote(lircd)
    mark = lircd.mark()
    t0 = time.monotonic()
    remote.press("KEY_UP", hold_secs=1.0)
    held = time.monotonic() - t0
    assert 1.0 <= held < 3.0
    signals = lircd.sent(mark, settle=0.5)  # nothing may follow the release
    assert signals[0] == CODES["KEY_UP"]
    repeats = signals[1:]
    assert set(repeats) == {"repeat"}
    # NEC repeats every 108 ms: about 9 in a second; lircd's file driver keeps real time
    assert 5 <= len(repeats) <= 12, signals
    assert lircd.sent(mark, settle=0) == signals  # still nothing after the release


@needs_lircd
def test_unknown_key_is_a_usage_error_listing_the_keys(lircd):
    remote = lirc_remote(lircd)
    mark = lircd.mark()
    with pytest.raises(UnknownKeyError) as e:
        remote.press("KEY_MENUU")
    assert "KEY_MENU" in str(e.value) and "KEY_EPG" in str(e.value)
    with pytest.raises(UnknownKeyError):
        remote.press("BTN_GUIDE")  # lircd's name of a mapped button is not one of ours
    with pytest.raises(UnknownKeyError):
        remote.press("wol")  # neither mapped nor one of our names
    with pytest.raises(BadArgument):
        remote.press("KEY_OK", hold_secs=-1)
    assert lircd.sent(mark, expect=0, settle=0.2) == []


@needs_lircd
def test_an_unknown_remote_names_the_remotes_lircd_has(lircd):
    with pytest.raises(LabError, match=r"no remote 'nosuch'; it has: acme"):
        lirc_remote(lircd, remote="nosuch").keys()


def test_no_lircd_is_a_lab_error_with_the_fix(tmp_path):
    remote = LircRemote("bench-1", "acme", socket_path=str(tmp_path / "nothing-here"))
    with pytest.raises(LabError) as e:
        remote.press("KEY_OK")
    msg = str(e.value)
    assert "'bench-1'" in msg and str(tmp_path / "nothing-here") in msg
    assert "does not exist" in msg and "systemctl status lircd" in msg


@needs_lircd
def test_lircd_down_then_up_again_without_a_new_driver(lircd):
    remote = lirc_remote(lircd)
    remote.press("KEY_OK")
    assert lircd.sent() == [CODES["KEY_OK"]]
    lircd.stop()
    t0 = time.monotonic()
    with pytest.raises(LabError) as e:
        remote.press("KEY_OK")
    assert time.monotonic() - t0 < 5
    msg = str(e.value)
    assert "'bench-1'" in msg and lircd.socket in msg and "systemctl status lircd" in msg
    with pytest.raises(LabError):
        remote.keys()
    lircd.start()  # a new lircd process, writing to a new file
    remote.press("KEY_EPG")
    assert lircd.sent() == [CODES["BTN_GUIDE"]]
    keys = remote.keys()
    assert "KEY_EPG" in keys


@needs_lircd
def test_lircd_restart_or_sighup_between_presses_is_invisible(lircd):
    remote = lirc_remote(lircd)
    remote.press("KEY_UP")  # connected
    lircd.stop()
    lircd.start()
    remote.press("KEY_DOWN")  # the old connection is dead: a new one, no error
    assert lircd.sent() == [CODES["KEY_DOWN"]]
    mark = lircd.mark()
    lircd.proc.send_signal(signal.SIGHUP)  # lircd re-reads its config and tells its clients
    time.sleep(0.3)
    remote.press("KEY_MENU")
    assert lircd.sent(mark) == [CODES["KEY_MENU"]]


@needs_lircd
def test_presses_from_several_threads_never_interleave(lircd):
    remote = lirc_remote(lircd)
    mark = lircd.mark()
    keys = ["KEY_OK", "KEY_UP", "KEY_DOWN", "KEY_MENU"]
    errors: list[BaseException] = []

    def press_all(key: str) -> None:
        try:
            for _ in range(3):
                remote.press(key)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=press_all, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors and not any(t.is_alive() for t in threads)
    sent = lircd.sent(mark, expect=12)
    assert sorted(sent) == sorted(CODES[k] for k in keys for _ in range(3))


def test_lirc_options_are_checked(tmp_path):
    where = "lab.toml: device 'bench-1': remote"
    opts = check_options({"remote": "acme"}, LircRemote.OPTIONS, where)
    remote = LircRemote.from_options(opts, "bench-1")
    assert remote.socket_path == "/var/run/lirc/lircd" and remote.keymap == {}
    with pytest.raises(ConfigError, match="'remote' is missing"):
        check_options({}, LircRemote.OPTIONS, where)
    with pytest.raises(ConfigError, match="keymap"):
        LircRemote.from_options(opts | {"keymap": {"KEY_EPG": 3}}, "bench-1")


# --- CommandRemote ---------------------------------------------------------------------


def command_remote(**values) -> CommandRemote:
    where = "lab.toml: device 'bench-2': remote"
    return CommandRemote.from_options(
        check_options(values, CommandRemote.OPTIONS, where), "bench-2"
    )


def test_command_runs_once_per_press_with_the_key_quoted(tmp_path):
    log = tmp_path / "sent.txt"
    odd = "KEY_X'; touch pwned; echo '$(id)"
    remote = command_remote(
        command=f"printf '%s\\n' {{key}} >> {log}", keys=["KEY_OK", "KEY_UP", odd]
    )
    assert remote.keys() == ["KEY_OK", "KEY_UP", odd]
    before = time.time()
    assert before <= remote.press("KEY_OK") <= time.time()
    remote.press("KEY_UP")
    remote.press(odd)
    assert log.read_text().splitlines() == ["KEY_OK", "KEY_UP", odd]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_command_unknown_key_runs_nothing(tmp_path):
    log = tmp_path / "sent.txt"
    remote = command_remote(command=f"echo {{key}} >> {log}", keys=["KEY_OK", "KEY_MENU"])
    with pytest.raises(UnknownKeyError, match="KEY_MENU") as e:
        remote.press("KEY_MENUU")
    assert "KEY_OK" in str(e.value)
    assert not log.exists()


def test_command_failure_is_a_lab_error_with_stderr():
    remote = command_remote(command="echo no blaster for {key} >&2; exit 3", keys=["KEY_OK"])
    with pytest.raises(LabError) as e:
        remote.press("KEY_OK")
    msg = str(e.value)
    assert "'bench-2'" in msg and "exit code 3" in msg and "no blaster for KEY_OK" in msg
    assert "echo no blaster" in msg  # the command itself


def test_command_timeout_kills_it_and_its_children(tmp_path):
    marker = tmp_path / "late.txt"
    remote = command_remote(
        command=f"echo starting {{key}} >&2; sleep 20; touch {marker}",
        keys=["KEY_OK"],
        timeout_secs=0.5,
    )
    t0 = time.monotonic()
    with pytest.raises(LabError) as e:
        remote.press("KEY_OK")
    assert time.monotonic() - t0 < 4
    assert "within 0.5 s" in str(e.value) and "starting KEY_OK" in str(e.value)
    time.sleep(0.3)
    assert not marker.exists()


def test_hold_command_gets_key_and_secs(tmp_path):
    log = tmp_path / "sent.txt"
    remote = command_remote(
        command=f"echo press {{key}} >> {log}",
        hold_command=f"echo hold {{key}} {{secs}} >> {log}",
        keys=["KEY_OK"],
    )
    remote.press("KEY_OK", hold_secs=1.5)
    remote.press("KEY_OK", hold_secs=2)
    remote.press("KEY_OK", hold_secs=0)
    assert log.read_text().splitlines() == ["hold KEY_OK 1.5", "hold KEY_OK 2", "press KEY_OK"]


def test_hold_without_hold_command_repeats_the_press(tmp_path):
    log = tmp_path / "sent.txt"
    remote = command_remote(
        command=f"echo {{key}} $(date +%s.%N) >> {log}", keys=["KEY_OK"], repeat_interval_secs=0.1
    )
    t0 = time.monotonic()
    first = remote.press("KEY_OK", hold_secs=0.6)
    assert 0.5 <= time.monotonic() - t0 < 2
    lines = [line.split() for line in log.read_text().splitlines()]
    assert {key for key, _ in lines} == {"KEY_OK"}
    times = [float(t) for _, t in lines]
    assert 3 <= len(times) <= 7, times
    assert times[0] >= first - 0.01 and times[-1] - times[0] < 0.6


def test_command_options_are_checked():
    with pytest.raises(ConfigError, match="keys"):
        command_remote(command="echo {key}")
    with pytest.raises(ConfigError, match=r"\{key\}"):
        command_remote(command="echo", keys=["KEY_OK"])
    with pytest.raises(ConfigError, match=r"\{secs\}"):
        command_remote(command="echo {key}", keys=["KEY_OK"], hold_command="hold {key}")
    with pytest.raises(ConfigError, match="keys"):
        command_remote(command="echo {key}", keys=[1])

"""Which driver serves which part of a device, by the part's ``kind`` in ``lab.toml``.

One entry per driver: ``(part, kind) -> "module:Class"``. The class declares its
``OPTIONS`` (:mod:`lab_daemon.devices.options`) and ``from_options(opts, device)``, so
adding a driver is one module plus one line here. Parts of kind ``adb`` (screencap video,
key events) ride on the device's ``adb`` part: theirs is
``from_options(opts, device, adb=link)``. Modules are imported only when a
``lab.toml`` uses them: a lab host needs only the libraries of the hardware it has.

>>> driver_class("power", "command").__name__
'CommandPower'
"""

from __future__ import annotations

import importlib
from typing import Any

from pytest_virtualpy.errors import ConfigError

PARTS = ("video", "remote", "power", "serial", "adb", "audio")

DRIVERS: dict[tuple[str, str], str] = {
    ("video", "ffmpeg"): "lab_daemon.devices.av_video:AvVideo",
    ("video", "v4l2"): "lab_daemon.devices.av_video:AvVideo",
    ("video", "adb"): "lab_daemon.devices.adb_parts:AdbScreencap",
    ("remote", "lirc"): "lab_daemon.devices.lirc_remote:LircRemote",
    ("remote", "command"): "lab_daemon.devices.command_remote:CommandRemote",
    ("remote", "adb"): "lab_daemon.devices.adb_parts:AdbKeys",
    ("power", "command"): "lab_daemon.devices.command_power:CommandPower",
    ("power", "tapo"): "lab_daemon.devices.tapo_power:TapoPower",
    ("serial", "pyserial"): "lab_daemon.devices.serial_port:PySerialPort",
    ("adb", "adbutils"): "lab_daemon.devices.adb_link:AdbLink",
    ("audio", "stream"): "lab_daemon.devices.stream_audio:StreamAudio",
    ("audio", "alsa"): "lab_daemon.devices.alsa_audio:AlsaAudio",
}

#: the kind a part gets when its table names none
DEFAULT_KINDS = {"serial": "pyserial", "adb": "adbutils"}


def kinds(part: str) -> list[str]:
    """The kinds this daemon has a driver for, for ``part``."""
    return [k for p, k in DRIVERS if p == part]


def infer_kind(part: str, table: dict[str, Any]) -> str | None:
    """The part's kind: named in its table, implied by it, or the part's default."""
    if "kind" in table:
        return str(table["kind"])
    if part == "video":
        source = str(table.get("source", ""))
        if source == "adb":
            return "adb"
        return "v4l2" if source.startswith("/dev/") else "ffmpeg"
    if part == "audio" and "device" in table:
        return "alsa"
    return DEFAULT_KINDS.get(part)


def driver_class(part: str, kind: str) -> Any:
    """The driver class for ``kind`` of ``part``; a :class:`ConfigError` if there is none."""
    target = DRIVERS.get((part, kind))
    if target is None:
        known = ", ".join(kinds(part)) or "none"
        raise ConfigError(f"{part}: unknown kind {kind!r}; this daemon has: {known}")
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as e:
        raise ConfigError(
            f"{part} kind {kind!r} needs the Python package {e.name or '?'!r}, which is not "
            f"installed on this lab host: pip install {e.name or '...'}"
        ) from None

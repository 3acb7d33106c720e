"""The options of a driver, declared once beside it and checked alike for every driver.

A driver class lists what its ``lab.toml`` table may hold::

    class CommandPower(PowerSwitch):
        OPTIONS = {
            "on": Option(str, required=True, help="shell command that switches it on"),
            "timeout_secs": Option(float, default=10.0, help="longest a command may run"),
        }

and :func:`check_options` turns every mistake (an unknown key, a wrong type, a missing
required key, an unset environment variable, a missing file) into one
:class:`~pytest_virtualpy.errors.ConfigError` naming the file, the device, the key and
the fix.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_virtualpy.errors import ConfigError

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
_TYPE_NAMES |= {dict: "a table", list: "a list"}


@dataclass(frozen=True)
class Option:
    """One key of a driver's table."""

    type: type
    required: bool = False
    default: Any = None
    help: str = ""
    env: bool = False  # the value names an environment variable that must be set
    path: bool = False  # the value is a file that must exist (relative to lab.toml)


def _type_ok(value: Any, wanted: type) -> bool:
    if wanted is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if wanted is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, wanted)


def check_options(
    values: dict[str, Any], schema: dict[str, Option], where: str, base: Path | None = None
) -> dict[str, Any]:
    """``values`` checked against ``schema``, with defaults filled in and paths resolved.

    ``where`` says where the table is ("lab.toml: device 'tv-1': power"); relative paths
    are taken from ``base`` (the folder of lab.toml).
    """
    out: dict[str, Any] = {}
    for key in values:
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{where}: unknown key {key!r}{hint}; known keys: {', '.join(schema)}"
            )
    for key, opt in schema.items():
        if key not in values:
            if opt.required:
                raise ConfigError(f"{where}: {key!r} is missing ({opt.help or 'required'})")
            out[key] = opt.default
            continue
        value = values[key]
        if not _type_ok(value, opt.type):
            raise ConfigError(
                f"{where}: {key!r} must be {_TYPE_NAMES.get(opt.type, opt.type.__name__)}, "
                f"not {value!r}"
            )
        if opt.type is float:
            value = float(value)
        if opt.env and not os.environ.get(value):
            raise ConfigError(
                f"{where}: {key!r} names the environment variable {value}, which is not set; "
                f"export {value}=... for the daemon (e.g. in its systemd unit)"
            )
        if opt.path:
            p = Path(value).expanduser()
            p = p if p.is_absolute() or base is None else base / p
            if not p.exists():
                raise ConfigError(f"{where}: {key!r}: {p} does not exist")
            value = str(p)
        out[key] = value
    return out

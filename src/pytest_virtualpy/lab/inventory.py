"""``labs.toml``: the named labs a test run can use.

Example::

    [labs.bench-a]
    address = "10.0.0.23:18861"
    token_env = "BENCH_A_TOKEN"     # the variable that holds that daemon's token

``--lab=bench-a`` then uses it; ``--lab=bench-a,bench-b`` spreads over both. The
name ``sim`` is built in: a local simulated lab started for the run.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pytest_virtualpy.errors import ConfigError

SIM_LAB = "sim"
DEFAULT_TOKEN_ENV = "VIRTUALPY_LAB_TOKEN"


@dataclass(frozen=True)
class LabSpec:
    """Where one lab daemon is and how to authenticate to it."""

    name: str
    address: str
    token_env: str = DEFAULT_TOKEN_ENV

    def token(self) -> str:
        token = os.environ.get(self.token_env, "").strip()
        if not token:
            raise ConfigError(
                f"lab {self.name!r} needs its token in ${self.token_env}; copy it from the lab "
                "host (the daemon prints where it keeps it) and export it"
            )
        return token


def load_inventory(path: Path) -> dict[str, LabSpec]:
    """Read labs.toml; a missing file is an empty inventory."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    labs = data.get("labs", {})
    if not isinstance(labs, dict):
        raise ConfigError(f"{path}: [labs] must be a table of [labs.NAME] tables")
    specs = {}
    for name, entry in labs.items():
        if not isinstance(entry, dict) or not entry.get("address"):
            raise ConfigError(f'{path}: [labs.{name}] needs address = "HOST:PORT"')
        if name == SIM_LAB:
            raise ConfigError(
                f"{path}: the lab name {SIM_LAB!r} is reserved for the built-in simulated lab"
            )
        specs[name] = LabSpec(
            name, str(entry["address"]), str(entry.get("token_env", DEFAULT_TOKEN_ENV))
        )
    return specs


def resolve_labs(value: str, inventory: dict[str, LabSpec], source: Path) -> list[LabSpec]:
    """Turn ``--lab`` (comma-separated names) into specs; unknown names are an error."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise ConfigError("--lab is empty; give a lab name from labs.toml, or 'sim'")
    if SIM_LAB in names:
        if len(names) > 1:
            raise ConfigError("--lab=sim cannot be combined with other labs")
        return []
    unknown = [n for n in names if n not in inventory]
    if unknown:
        known = ", ".join(sorted(inventory)) or f"none ({source} is missing or empty)"
        raise ConfigError(
            f"unknown lab {', '.join(map(repr, unknown))}. Known labs: {known}; plus 'sim', "
            f"the built-in simulated lab. Labs are defined in {source} (--labs-file)."
        )
    return [inventory[n] for n in names]

"""``labs.toml``: the named labs a test run can use.

Example::

    [labs.bench-a]
    address = "10.0.0.23:18861"
    token_env = "BENCH_A_TOKEN"     # the variable that holds that daemon's token
    tls = { ca = "certs/ca.pem", cert = "certs/client-ci.pem", key = "certs/client-ci.key" }
                                    # optional: TLS; paths relative to labs.toml

``--lab=bench-a`` then uses it; ``--lab=bench-a,bench-b`` spreads over both. A pool
names several labs at once::

    [pools.living-room]
    labs = ["bench-a", "bench-b"]

and ``--lab=pool:living-room`` uses all of them. The name ``sim`` is built in: a local
simulated lab started for the run.

Commands that talk to one running daemon (``virtualpy-lab screenshot``, ``live-url``,
``virtualpy monitor``) take ``--lab NAME`` or ``--lab HOST:PORT`` through
:func:`resolve_one`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab.tls import TlsFiles

SIM_LAB = "sim"
DEFAULT_TOKEN_ENV = "VIRTUALPY_LAB_TOKEN"
POOL_PREFIX = "pool:"  # --lab=pool:NAME is every lab of [pools.NAME]


@dataclass(frozen=True)
class LabSpec:
    """Where one lab daemon is and how to authenticate to it."""

    name: str
    address: str
    token_env: str = DEFAULT_TOKEN_ENV
    #: TLS files for this lab (``tls = { ca, cert, key }``), None for plain TCP
    tls: TlsFiles | None = field(default=None, repr=False)

    def token(self) -> str:
        token = os.environ.get(self.token_env, "").strip()
        if not token:
            raise ConfigError(
                f"lab {self.name!r} needs its token in ${self.token_env}: set "
                f"{self.token_env} to it (copy it from the lab host; the daemon prints where "
                "it keeps it)"
            )
        return token

    def connect(self, client_name: str, token: str | None = None, timeout: float = 10.0):
        """An authenticated :class:`~pytest_virtualpy.lab.client.LabClient` to this lab,
        over TLS when the lab has ``tls`` files (``token``: default from :meth:`token`)."""
        from pytest_virtualpy.lab.client import LabClient  # the client imports this module

        return LabClient.connect(
            self.address,
            token if token is not None else self.token(),
            client_name=client_name,
            timeout=timeout,
            tls=self.tls,
        )


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
        tls = entry.get("tls")
        specs[name] = LabSpec(
            name,
            str(entry["address"]),
            str(entry.get("token_env", DEFAULT_TOKEN_ENV)),
            TlsFiles.from_table(tls, path.parent, f"{path}: [labs.{name}]") if tls else None,
        )
    return specs


def load_pools(path: Path) -> dict[str, list[str]]:
    """The ``[pools.NAME] labs = [...]`` tables of labs.toml; a missing file has none.

    The lab names are checked when a pool is used (:func:`resolve_labs`).
    """
    if not path.exists():
        return {}
    try:
        pools = tomllib.loads(path.read_text()).get("pools", {})
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    if not isinstance(pools, dict):
        raise ConfigError(f"{path}: [pools] must be a table of [pools.NAME] tables")
    out = {}
    for name, entry in pools.items():
        labs = entry.get("labs") if isinstance(entry, dict) else None
        if not labs or not isinstance(labs, list) or not all(isinstance(n, str) for n in labs):
            raise ConfigError(
                f'{path}: [pools.{name}] needs labs = ["LAB", ...], a list of lab names '
                "from its [labs.NAME] tables"
            )
        out[name] = list(dict.fromkeys(labs))
    return out


def _expand_pools(
    names: list[str], inventory: dict[str, LabSpec], pools: dict[str, list[str]], source: Path
) -> list[str]:
    """``pool:NAME`` entries replaced by their labs (each lab once, in order)."""
    out: list[str] = []
    for name in names:
        if not name.startswith(POOL_PREFIX):
            out.append(name)
            continue
        pool = name[len(POOL_PREFIX) :]
        if pool not in pools:
            known = ", ".join(sorted(pools)) or "none"
            raise ConfigError(
                f"unknown pool {pool!r}. Pools in {source}: {known}. Define one there as "
                f'[pools.{pool or "NAME"}] labs = ["LAB", ...] (see --labs-file)'
            )
        unknown = [n for n in pools[pool] if n not in inventory]
        if unknown:
            known = ", ".join(sorted(inventory)) or "none"
            raise ConfigError(
                f"pool {pool!r} in {source} names unknown lab(s) "
                f"{', '.join(map(repr, unknown))}. Known labs: {known}; add [labs.NAME] "
                "tables for them or fix the pool's list"
            )
        out.extend(pools[pool])
    return list(dict.fromkeys(out))


def resolve_labs(
    value: str,
    inventory: dict[str, LabSpec],
    source: Path,
    pools: dict[str, list[str]] | None = None,
) -> list[LabSpec]:
    """Turn ``--lab`` (comma-separated names, ``pool:NAME``s or HOST:PORTs) into specs.

    A name is looked up in labs.toml first; an address that is no name there takes its
    token from ``$VIRTUALPY_LAB_TOKEN``; ``pool:NAME`` is every lab of that pool.
    Anything else is an error naming the known labs (or pools).

    >>> resolve_labs("127.0.0.1:18861", {}, Path("labs.toml"))[0].address
    '127.0.0.1:18861'
    >>> a, b = LabSpec("a", "h:1"), LabSpec("b", "h:2")
    >>> [s.name for s in resolve_labs("pool:p", {"a": a, "b": b}, Path("x"), {"p": ["b", "a"]})]
    ['b', 'a']
    """
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise ConfigError("--lab is empty; give a lab name from labs.toml, or 'sim'")
    names = _expand_pools(names, inventory, pools or {}, source)
    if SIM_LAB in names:
        if len(names) > 1:
            raise ConfigError("--lab=sim cannot be combined with other labs")
        return []
    unknown = [n for n in names if n not in inventory and not _address(n)]
    if unknown:
        known = ", ".join(sorted(inventory)) or f"none ({source} is missing or empty)"
        raise ConfigError(
            f"unknown lab {', '.join(map(repr, unknown))}. Known labs: {known}; plus 'sim', "
            f"the built-in simulated lab, a daemon's HOST:PORT, or pool:NAME. Labs and pools "
            f"are defined in {source} (--labs-file)."
        )
    return [inventory.get(n) or LabSpec(n, n, DEFAULT_TOKEN_ENV) for n in names]


def _address(value: str) -> str | None:
    """``value`` if it reads as HOST:PORT (port 1-65535), else None."""
    host, sep, port = value.rpartition(":")
    if not (sep and host.strip("[]") and port.isdigit() and 0 < int(port) < 65536):
        return None
    return value


def resolve_one(value: str, labs_file: Path) -> LabSpec:
    """One running daemon from ``--lab``: a name from ``labs_file`` or ``HOST:PORT``.

    A name brings its ``token_env`` from labs.toml; an address takes its token from
    ``$VIRTUALPY_LAB_TOKEN``. A name is looked up first, so a labs.toml entry wins.

    >>> resolve_one("127.0.0.1:18861", Path("no-such-labs.toml"))
    LabSpec(name='127.0.0.1:18861', address='127.0.0.1:18861', token_env='VIRTUALPY_LAB_TOKEN')
    """
    value = (value or "").strip()
    if not value:
        raise ConfigError("--lab is empty; give a lab name from labs.toml or HOST:PORT")
    if "," in value:
        raise ConfigError(f"--lab {value!r}: this command talks to one lab; give one name")
    if value == SIM_LAB:
        raise ConfigError(
            f"--lab {SIM_LAB}: {SIM_LAB!r} is not a daemon address but the simulated lab a "
            "pytest run starts for itself. Start one with `virtualpy-lab sim` and give its "
            "HOST:PORT, or a lab name from labs.toml"
        )
    inventory = load_inventory(labs_file)
    if value in inventory:
        return inventory[value]
    if _address(value):
        return LabSpec(value, value, DEFAULT_TOKEN_ENV)
    known = ", ".join(sorted(inventory)) or f"none ({labs_file} is missing or empty)"
    raise ConfigError(
        f"unknown lab {value!r}: not a name in {labs_file} (--labs-file) and not HOST:PORT. "
        f"Known labs: {known}"
    )

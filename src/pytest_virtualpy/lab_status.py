"""``virtualpy lab status``: every device of every lab, who holds it and who waits.

Asks each lab daemon (all of ``labs.toml``, or the ``--lab`` ones) for its devices and
their health, at once, and prints one row per device::

    virtualpy lab status --lab pool:living-room
    LAB    DEVICE  MODEL    HEALTH     HOLDER            SINCE               TEST            WAITING
    pi-01  stb-1   acme-4k  ok         ci-7:4121:gw0     04:10:05 (3m ago)   test_zap.py::a  2
    pi-02  -       -        unreachable: cannot reach the lab daemon at 10.0.0.24:18861 ...

``--json`` prints the same as JSON for scripts. A lab that cannot be reached is shown
as such; the exit code is 1 when no lab could be reached, 2 for a usage mistake.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab.inventory import LabSpec, load_inventory, load_pools, resolve_labs
from pytest_virtualpy.lab.requirements import capabilities_of

CONNECT_SECS = 5.0
COLUMNS = ("lab", "device", "model", "health", "holder", "since", "test", "waiting")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="virtualpy lab status",
        description="Every device of every lab: model, health, holder, since when, the test "
        "it runs and how many wait for it.",
    )
    p.add_argument(
        "--lab",
        action="append",
        default=[],
        metavar="NAME|pool:NAME|HOST:PORT",
        help="a lab to ask (repeatable, or comma-separated); default: every lab of labs.toml",
    )
    p.add_argument("--labs-file", type=Path, default=Path("labs.toml"), help="lab inventory")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def chosen_labs(values: list[str], labs_file: Path) -> list[LabSpec]:
    """The labs ``--lab`` names (each a name, ``pool:NAME`` or HOST:PORT), or all of them.

    >>> [s.name for s in chosen_labs(["127.0.0.1:1"], Path("no-such.toml"))]
    ['127.0.0.1:1']
    """
    inventory, pools = load_inventory(labs_file), load_pools(labs_file)
    if not values:
        if not inventory:
            raise ConfigError(
                f"no labs to ask: {labs_file} (--labs-file) has no [labs.NAME] tables; add "
                "them, or give --lab HOST:PORT"
            )
        for pool in pools:  # a pool naming a lab that is not there is a mistake to say
            resolve_labs(f"pool:{pool}", inventory, labs_file, pools)
        return list(inventory.values())
    specs: dict[str, LabSpec] = {}
    for value in values:
        resolved = resolve_labs(value, inventory, labs_file, pools)
        if not resolved:
            raise ConfigError(
                "--lab sim: the simulated lab exists only inside a pytest run; give a running "
                "daemon's name from labs.toml or HOST:PORT"
            )
        specs.update((s.name, s) for s in resolved)
    return list(specs.values())


def health_text(health: dict | None, incidents: dict | None) -> str:
    """``ok``, ``capture dead``, ``no signal``, or the open incidents (``frozen``...).

    >>> health_text({"capturing": True, "signal": False}, None)
    'no signal'
    """
    if not health:
        return "unknown"
    if not health.get("capturing", True):
        return "capture dead"
    if not health.get("signal", True):
        return "no signal"
    kinds = [k.replace("_", " ") for k in (incidents or {}).get("open", [])]
    return ", ".join(dict.fromkeys(kinds)) or "ok"


def ask(spec: LabSpec) -> dict:
    """One lab's status: ``{"lab", "address", "reachable", "error", "devices": [...]}``."""
    out: dict[str, Any] = {"lab": spec.name, "address": spec.address}
    try:
        with spec.connect("virtualpy-lab-status", timeout=CONNECT_SECS) as client:
            devices, health = client.list_devices(), client.health()
    except Exception as e:  # a lab down, a bad token, a missing token: all shown as such
        return dict(out, reachable=False, error=str(e) or type(e).__name__, devices=[])
    rows = []
    for d in devices:
        lease = d.get("lease") or {}
        rows.append(
            {
                "lab": spec.name,
                "device": d.get("name"),
                "model": d.get("model"),
                "capabilities": capabilities_of(d),
                "health": health_text(
                    health.get("devices", {}).get(d.get("name")),
                    health.get("incidents", {}).get(d.get("name")),
                ),
                "holder": lease.get("owner"),
                "since": lease.get("since"),
                "test": lease.get("test"),
                "expires_in": lease.get("expires_in"),
                "waiting": d.get("waiting", 0),
            }
        )
    return dict(out, reachable=True, error=None, devices=rows)


def _since(t: float | None, now: float) -> str:
    if not t:
        return "-"
    age = max(0, int(now - t))
    ago = f"{age}s" if age < 120 else f"{age // 60}m" if age < 7200 else f"{age // 3600}h"
    return f"{time.strftime('%H:%M:%S', time.localtime(t))} ({ago} ago)"


def table(labs: list[dict], now: float | None = None) -> str:
    """The rows as aligned text, a header first; an unreachable lab is one row saying why."""
    now = time.time() if now is None else now
    lines: list[list[str]] = [[c.upper() for c in COLUMNS]]
    tails: dict[int, str] = {}  # row -> text that runs past the columns
    for lab in labs:
        if not lab["reachable"]:
            tails[len(lines)] = f"unreachable: {lab['error']}"
            lines.append([lab["lab"], "-", "-"])
            continue
        for d in lab["devices"]:
            lines.append(
                [
                    d["lab"],
                    str(d["device"]),
                    str(d["model"]),
                    d["health"],
                    d["holder"] or "free",
                    _since(d["since"], now),
                    d["test"] or "-",
                    str(d["waiting"]),
                ]
            )
    widths = [max(len(row[i]) for row in lines if len(row) > i) for i in range(len(COLUMNS))]
    text = []
    for n, row in enumerate(lines):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        if n in tails:
            cells.append(tails[n])
        text.append(_printable("  ".join(cells).rstrip()))
    return "\n".join(text)


def _printable(line: str) -> str:
    """``line`` with control characters shown as ``?``: owners and test names come from
    any token holder, and must not move the cursor or forge rows on our terminal.

    >>> _printable("ci\\x1b[2Jx\\nfake")
    'ci?[2Jx?fake'
    """
    return "".join(c if c.isprintable() else "?" for c in line)


def main(argv: list[str] | None = None) -> int:
    """Print the status of the chosen labs; 0, 1 when none answered, 2 for a usage mistake.

    >>> main(["--lab", "pool:nope", "--labs-file", "no-such.toml"])  # doctest: +SKIP
    2
    """
    args = _parser().parse_args(argv)
    try:
        specs = chosen_labs(args.lab, args.labs_file)
    except ConfigError as e:
        print(f"virtualpy lab status: {e}", file=sys.stderr)
        return 2
    with ThreadPoolExecutor(max_workers=min(16, len(specs))) as pool:
        labs = list(pool.map(ask, specs))
    if args.json:
        print(json.dumps({"time": time.time(), "labs": labs}, indent=2))
    else:
        print(table(labs))
    if not any(lab["reachable"] for lab in labs):
        print("virtualpy lab status: no lab could be reached", file=sys.stderr)
        return 1
    return 0

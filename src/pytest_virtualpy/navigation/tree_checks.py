"""The navigation tree loader's small checks: one TOML file of the tree, and the checks of
its values (names, regions, numbers, unknown keys, reachability), each a ConfigError that
starts with ``file:line:`` and says how to fix it (see :mod:`.loader`)."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_virtualpy.errors import BadArgument, ConfigError
from pytest_virtualpy.navigation.model import ANYWHERE, Edge, Node
from pytest_virtualpy.navigation.toml_lines import TomlLines
from pytest_virtualpy.vision import Region

DEFAULT_RECOVERY_KEYS = ("KEY_BACK",)  # closes most dialogs, leaves most unknown pages


@dataclass
class TreeFile:
    """One TOML file of the tree: its text, where it is, and its names' prefix."""

    path: Path  # on disk
    shown: str  # in messages
    prefix: str  # "" for the root file, "settings/" for a subtree
    lines: TomlLines
    data: dict[str, Any]


def check_reachable(nodes: dict[str, Node], edges: list[Edge]) -> None:
    """A ConfigError naming every node no path of edges leads to from where a walk can be:
    the targets of ``"*"`` edges, the first node and the interrupt nodes."""
    starts = [e.target for e in edges if e.source == ANYWHERE]
    starts += [next(iter(nodes)), *(n.name for n in nodes.values() if n.interrupt)]
    starts = list(dict.fromkeys(starts))
    out: dict[str, list[str]] = {}
    for e in edges:
        out.setdefault(e.source, []).append(e.target)
    reached: set[str] = set()
    todo = list(starts)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(out.get(name, ()))
    problems = []
    for node in nodes.values():
        if node.name in reached:
            continue
        into = list(dict.fromkeys(e.source for e in edges if e.target == node.name))
        why = (
            f"edges lead to it only from {', '.join(map(repr, into))}, which "
            f"{'is' if len(into) == 1 else 'are'} unreachable too"
            if into
            else "no edge leads to it"
        )
        problems.append(
            f"{node.where}: node {node.name!r} is unreachable: no path of edges leads to it "
            'from the "*" edges\' targets, the first node or an interrupt node '
            f"({', '.join(map(repr, starts))}); {why}; add an [[edges]] to it "
            f'(to = "{node.name}") from a reachable node, remove the node, or mark it '
            "interrupt = true if it comes by itself (a popup)"
        )
    if problems:
        raise ConfigError("\n".join(problems))


def toml_error(shown: str, lines: TomlLines, e: tomllib.TOMLDecodeError) -> ConfigError:
    m = re.search(r"\(at line (\d+), column \d+\)", str(e))
    line = int(m.group(1)) if m else 1
    if m and re.match(r"Cannot (declare|overwrite)", str(e)):
        text = lines.lines[line - 1].strip() if line <= len(lines.lines) else ""
        name = re.sub(r"^\[+|\]+$|\s*=.*$", "", text)
        return ConfigError(
            f"{shown}:{line}: duplicate name {name!r}: it is defined twice; give each "
            "node, subtree and key one definition"
        )
    return ConfigError(f"{shown}:{line}: not valid TOML: {e}")


def parse_recovery(src: TreeFile, value: Any) -> tuple[str, ...]:
    """``[recovery] keys = [...]``: pressed on a screen no edge got the walk out of."""
    if value is None:
        return DEFAULT_RECOVERY_KEYS
    where = f"{src.shown}:{src.lines.section('recovery')}"
    keys = value.get("keys") if isinstance(value, dict) and set(value) == {"keys"} else None
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise ConfigError(
            f'{where}: [recovery] takes keys = ["KEY_BACK"] (pressed on an unrecognised '
            'screen the "*" edges did not leave; [] for none)'
        )
    return tuple(keys)


def parse_table(src: TreeFile, section: str, value: Any, line: int) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{src.shown}:{line}: {section} must be tables [{section}.NAME]")
    return value


def check_name(name: str, where: str, what: str) -> None:
    if not name or "/" in name or name == ANYWHERE or name.strip() != name:
        raise ConfigError(
            f"{where}: {what} name {name!r} is not allowed: no '/', no '*', no spaces at the ends"
        )


def parse_region(value: Any, src: TreeFile, line: int, what: str) -> Region:
    where = f"{src.shown}:{src.lines.key(line, 'region')}"
    if not isinstance(value, list) or len(value) != 4:
        raise ConfigError(f"{where}: {what}: region must be [x, y, width, height], got {value!r}")
    try:
        return Region(*value)
    except (BadArgument, TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {what}: bad region {value!r}: {e}") from None


def parse_number(value: Any, what: str, low: float, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int) and not isinstance(value, bool)  # ints are finite
    ok = ok or (isinstance(value, float) and math.isfinite(value))
    if not ok or not (value >= low if allow_zero else value > low):
        bound = f">= {low}" if allow_zero else f"> {low}"
        raise ConfigError(f"{what} must be a finite number {bound} (seconds), got {value!r}")
    return float(value)


def reject_unknown_keys(
    src: TreeFile, line: int, entry: dict, known: tuple[str, ...], what: str, kind: str
) -> None:
    """A ConfigError at the first key of ``entry`` not in ``known``, naming the known ones."""
    unknown = [k for k in entry if k not in known]
    if unknown:
        raise ConfigError(
            f"{src.shown}:{src.lines.key(line, unknown[0])}: {what}: unknown key "
            f"{unknown[0]!r}; {kind} has {', '.join(known)}"
        )

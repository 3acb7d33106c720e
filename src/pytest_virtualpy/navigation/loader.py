"""Read a navigation tree from TOML, checking every mistake and saying where it is.

The format (full description: docs/navigation.md)::

    [nodes.home]
    image = "images/home.png"             # a reference image ...
    region = [0, 0, 1280, 60]             # ... looked for in this region

    [nodes.settings]
    all = [{ image = "images/gear.png", region = [0, 0, 200, 60] },
           { text = "Settings", region = [0, 0, 1280, 60] }]

    [subtrees.settings]                   # its nodes are "settings/NAME"
    file = "settings.toml"

    [[edges]]
    from = "*"                            # from any screen
    to = "home"
    keys = ["KEY_HOME"]
    settle = { stable_secs = 0.5 }
    cost = 1.5                            # seconds, until the edge has been measured

tomllib gives no line numbers, so :class:`~.toml_lines.TomlLines` finds a table's line
by scanning the text; every ``ConfigError`` starts with ``file:line:``. Every node must be
reachable along edges from where a walk can be: the targets of ``"*"`` edges, the first
node, and the interrupt nodes (screens that come by themselves).

>>> load(Path("examples/navigation.toml")).nodes[0]     # doctest: +SKIP
'home'
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pytest_virtualpy.errors import BadArgument, ConfigError
from pytest_virtualpy.navigation.model import (
    ANYWHERE,
    AllOf,
    AnyOf,
    Edge,
    ImageCheck,
    NavigationTree,
    Node,
    Recogniser,
    Settle,
    TextCheck,
)
from pytest_virtualpy.navigation.toml_lines import TomlLines
from pytest_virtualpy.vision import Region

RECOGNISER_KEYS = ("image", "images", "text", "region", "all", "any")
EDGE_KEYS = ("from", "to", "keys", "timeout", "settle", "cost")
SETTLE_KEYS = ("stable_secs", "until", "region")
NODE_KEYS = (*RECOGNISER_KEYS, "interrupt")
DEFAULT_RECOVERY_KEYS = ("KEY_BACK",)  # closes most dialogs, leaves most unknown pages

#: called with a file's path relative to the tree's folder before it is read, so a
#: tree served by a lab daemon can be fetched file by file (see navigation.served)
Fetch = Callable[[str], None]


@dataclass
class _Source:
    """One TOML file of the tree: its text, where it is, and its names' prefix."""

    path: Path  # on disk
    shown: str  # in messages
    prefix: str  # "" for the root file, "settings/" for a subtree
    lines: TomlLines
    data: dict[str, Any]


@dataclass
class _Loader:
    root: Path  # the root file's folder: every file must be inside it
    fetch: Fetch | None
    shown_root: str
    nodes: dict[str, Node] = field(default_factory=dict)
    root_source: _Source | None = None
    raw_edges: list[tuple[_Source, int, dict]] = field(default_factory=list)

    # --- files --------------------------------------------------------------------

    def rel(self, path: Path) -> str:
        """``path`` relative to the tree's folder (``settings/tree.toml``)."""
        return path.relative_to(self.root).as_posix()

    def shown(self, path: Path) -> str:
        rel = self.rel(path)
        return f"{self.shown_root}/{rel}" if self.shown_root else rel

    def local(self, src: _Source | None, rel: str, where: str, what: str) -> Path:
        """``rel`` (relative to ``src``'s folder) as a path inside the tree's folder."""
        base = src.path.parent if src else self.root
        if not isinstance(rel, str) or not rel:
            raise ConfigError(f"{where}: {what} must be a file name (a string), got {rel!r}")
        # lexically, so that a symbolic link inside the folder may point anywhere locally
        # (a lab serving the tree refuses links out of its folder)
        full = Path(os.path.normpath(base / Path(PurePosixPath(rel))))
        if not full.is_relative_to(self.root):
            raise ConfigError(
                f"{where}: {what} {rel!r} is outside the tree's folder {self.shown_root or '.'}; "
                "keep the tree's files in its folder (so a lab can serve them)"
            )
        if self.fetch is not None:
            self.fetch(full.relative_to(self.root).as_posix())
        if not full.is_file():
            raise ConfigError(
                f"{where}: {what} {rel} does not exist (looked for {self.shown(full)})"
            )
        return full

    def read(self, path: Path, prefix: str, where: str) -> _Source:
        shown = self.shown(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = TomlLines(text)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise _toml_error(shown, lines, e) from None
        return _Source(path, shown, prefix, lines, data)

    # --- the tree -----------------------------------------------------------------

    def load_file(self, src: _Source, chain: tuple[Path, ...]) -> None:
        """Load ``src``, the last of ``chain`` (the files that include it, the root first)."""
        for section in src.data:
            if section not in ("nodes", "edges", "subtrees", "recovery") or (
                section == "recovery" and len(chain) > 1
            ):
                raise ConfigError(
                    f"{src.shown}:{src.lines.section(section)}: unknown section {section!r}; "
                    "a tree has [nodes.NAME], [[edges]], [subtrees.NAME] and (the root file "
                    "only) [recovery]"
                )
        nodes = _table(src, "nodes", src.data.get("nodes", {}), 1)
        for name, entry in nodes.items():
            line = src.lines.table("nodes", name)
            where = f"{src.shown}:{line}"
            _check_name(name, where, "node")
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: node {name!r} must be a table of its recogniser")
            entry = dict(entry)
            interrupt = entry.pop("interrupt", False)
            if not isinstance(interrupt, bool):
                at = src.lines.key(line, "interrupt")
                raise ConfigError(
                    f"{src.shown}:{at}: node {name!r}: interrupt must be true or false"
                )
            rec = self.recogniser(src, entry, line, f"node {name!r}", NODE_KEYS)
            self.nodes[src.prefix + name] = Node(src.prefix + name, rec, where, interrupt)
        edges = src.data.get("edges", [])
        if not isinstance(edges, list):
            raise ConfigError(f"{src.shown}:{src.lines.item('edges', 0)}: edges must be [[edges]]")
        self.raw_edges.extend((src, i, e) for i, e in enumerate(edges))
        subtrees = _table(src, "subtrees", src.data.get("subtrees", {}), 1)
        for name, entry in subtrees.items():
            line = src.lines.table("subtrees", name)
            where = f"{src.shown}:{line}"
            _check_name(name, where, "subtree")
            if not isinstance(entry, dict) or set(entry) != {"file"}:
                raise ConfigError(f'{where}: subtree {name!r} needs exactly file = "its_tree.toml"')
            at = f"{src.shown}:{src.lines.key(line, 'file')}"
            path = self.local(src, entry["file"], at, f"subtree {name!r}: file")
            looped = [p for p in chain if p.resolve() == path.resolve()]
            if looped:
                loop = [*chain[chain.index(looped[0]) :], path]
                raise ConfigError(
                    f"{where}: {self.rel(looped[0])} includes itself (through "
                    f"{' -> '.join(map(self.rel, loop))}); a subtree's file must not include "
                    "a file that includes it"
                )
            self.load_file(self.read(path, f"{src.prefix}{name}/", at), (*chain, path))

    def recogniser(
        self, src: _Source, entry: dict, line: int, what: str, known=RECOGNISER_KEYS
    ) -> Recogniser:
        """A node's (or ``all``/``any`` item's, or ``until``'s) table as a Recogniser."""
        where = f"{src.shown}:{line}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {what}: each check must be a table, got {entry!r}")
        kind = "a node" if known is NODE_KEYS else "a recogniser"
        _reject_unknown_keys(src, line, entry, known, what, kind)
        region = _region(entry["region"], src, line, what) if "region" in entry else Region.ALL
        parts: list[Recogniser] = []
        if "image" in entry:
            at = f"{src.shown}:{src.lines.key(line, 'image')}"
            parts.append(ImageCheck(self.local(src, entry["image"], at, f"{what}: image"), region))
        if "images" in entry:
            items = entry["images"]
            if not isinstance(items, list) or not items:
                raise ConfigError(f"{where}: {what}: images must be a non-empty list")
            parts.append(
                AllOf(
                    tuple(
                        ImageCheck(self.local(src, item, where, f"{what}: image"), region)
                        if isinstance(item, str)
                        else self.recogniser(src, item, line, what)
                        for item in items
                    )
                )
            )
        if "text" in entry:
            text = entry["text"]
            if isinstance(text, dict):
                if "text" not in text or set(text) - {"text", "region"}:
                    raise ConfigError(f"{where}: {what}: text = {{ text = ..., region = [...] }}")
                parts.append(self.recogniser(src, text, line, what))
            elif isinstance(text, str) and text.strip():
                parts.append(TextCheck(text, region))
            else:
                raise ConfigError(f"{where}: {what}: text must be a non-empty string")
        for key, kind in (("all", AllOf), ("any", AnyOf)):
            if key in entry:
                items = entry[key]
                if not isinstance(items, list) or not items:
                    raise ConfigError(f"{where}: {what}: {key} must be a non-empty list of checks")
                parts.append(kind(tuple(self.recogniser(src, c, line, what) for c in items)))
        if not parts:
            raise ConfigError(
                f"{where}: {what} has no recogniser: give image = 'ref.png', images = [...], "
                "text = '...', all = [...] or any = [...]"
            )
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def resolve(self, src: _Source, name: Any, where: str) -> str:
        if name == ANYWHERE:
            return ANYWHERE
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: a node name must be a string, got {name!r}")
        if name.startswith("/") and name[1:] in self.nodes:
            return name[1:]
        for candidate in (src.prefix + name, name):
            if candidate in self.nodes:
                return candidate
        raise ConfigError(
            f"{where}: edge names unknown node {name!r}; nodes: {', '.join(self.nodes)}"
        )

    def edge(self, src: _Source, index: int, entry: Any) -> Edge:
        line = src.lines.item("edges", index)
        where = f"{src.shown}:{line}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: each edge must be a table ([[edges]])")
        _reject_unknown_keys(src, line, entry, EDGE_KEYS, f"edges[{index}]", "an edge")
        for key in ("from", "to", "keys"):
            if key not in entry:
                raise ConfigError(f"{where}: edges[{index}] lacks {key!r}")
        source = self.resolve(src, entry["from"], f"{src.shown}:{src.lines.key(line, 'from')}")
        target = self.resolve(src, entry["to"], f"{src.shown}:{src.lines.key(line, 'to')}")
        keys = entry["keys"]
        keys = (keys,) if isinstance(keys, str) else keys
        if (
            target == ANYWHERE
            or not isinstance(keys, list | tuple)
            or not keys
            or not all(isinstance(k, str) and k for k in keys)
        ):
            raise ConfigError(
                f"{where}: edges[{index}] needs a real target and at least one key "
                '(keys = ["KEY_OK"])'
            )
        if source == target:
            raise ConfigError(f"{where}: edges[{index}] leads from {source!r} to itself")
        timeout = _number(entry.get("timeout", 5.0), f"{where}: edges[{index}] timeout", 0.0)
        cost = entry.get("cost")
        if cost is not None:
            cost = _number(cost, f"{where}: edges[{index}] cost", 0.0, allow_zero=True)
        settle = None
        if "settle" in entry:
            at = src.lines.key(line, "settle")
            settle = self.settle(src, entry["settle"], at, index)
            if settle.stable_secs >= timeout:
                raise ConfigError(
                    f"{src.shown}:{at}: edges[{index}] settle wants the screen still for "
                    f"{settle.stable_secs:g} s, but its timeout is {timeout:g} s: it could never "
                    "settle in time; make the stillness shorter than the timeout"
                )
        return Edge(source, target, tuple(keys), timeout, settle, cost, where)

    def settle(self, src: _Source, value: Any, line: int, index: int) -> Settle:
        where = f"{src.shown}:{line}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Settle(stable_secs=_number(value, f"{where}: settle", 0.0, allow_zero=True))
        if not isinstance(value, dict) or not value or set(value) - set(SETTLE_KEYS):
            raise ConfigError(
                f"{where}: edges[{index}] settle must be seconds of stillness or a table "
                "{ stable_secs = 0.5, until = { image = ..., region = [...] } }"
            )
        stable = _number(
            value.get("stable_secs", 0.0), f"{where}: settle.stable_secs", 0.0, allow_zero=True
        )
        until = None
        if "until" in value:
            until = self.recogniser(src, value["until"], line, f"edges[{index}] settle.until")
        region = _region(value["region"], src, line, "settle") if "region" in value else Region.ALL
        return Settle(stable, until, region)


def load(path: Path, *, fetch: Fetch | None = None, shown_as: str | None = None) -> NavigationTree:
    """Load the tree at ``path`` (and its subtrees); any mistake is a ConfigError.

    ``fetch`` is called with each file's path relative to the tree's folder before it
    is read; ``shown_as`` replaces that folder in messages (e.g. the lab host's path).

    >>> tree = load(Path("examples/navigation.toml"))   # doctest: +SKIP
    """
    path = Path(path)
    root = path.parent.resolve()
    shown_root = shown_as if shown_as is not None else str(path.parent)
    loader = _Loader(root, fetch, "" if shown_root == "." else shown_root)
    if fetch is not None:
        fetch(path.name)
    if not path.is_file():
        raise ConfigError(f"navigation tree {shown_as or path} does not exist")
    loader.root_source = loader.read(root / path.name, "", str(path))
    loader.load_file(loader.root_source, (loader.root_source.path,))
    if not loader.nodes:
        raise ConfigError(f"{loader.shown(root / path.name)} defines no [nodes.NAME]")
    edges = [loader.edge(src, i, e) for src, i, e in loader.raw_edges]
    _check_reachable(loader.nodes, edges)
    recovery = _recovery(loader.root_source, loader.root_source.data.get("recovery"))
    return NavigationTree(path, loader.nodes, edges, recovery)


# --- small checks ---------------------------------------------------------------------


def _check_reachable(nodes: dict[str, Node], edges: list[Edge]) -> None:
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


def _toml_error(shown: str, lines: TomlLines, e: tomllib.TOMLDecodeError) -> ConfigError:
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


def _recovery(src: _Source, value: Any) -> tuple[str, ...]:
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


def _table(src: _Source, section: str, value: Any, line: int) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{src.shown}:{line}: {section} must be tables [{section}.NAME]")
    return value


def _check_name(name: str, where: str, what: str) -> None:
    if not name or "/" in name or name == ANYWHERE or name.strip() != name:
        raise ConfigError(
            f"{where}: {what} name {name!r} is not allowed: no '/', no '*', no spaces at the ends"
        )


def _region(value: Any, src: _Source, line: int, what: str) -> Region:
    where = f"{src.shown}:{src.lines.key(line, 'region')}"
    if not isinstance(value, list) or len(value) != 4:
        raise ConfigError(f"{where}: {what}: region must be [x, y, width, height], got {value!r}")
    try:
        return Region(*value)
    except (BadArgument, TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {what}: bad region {value!r}: {e}") from None


def _number(value: Any, what: str, low: float, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int) and not isinstance(value, bool)  # ints are finite
    ok = ok or (isinstance(value, float) and math.isfinite(value))
    if not ok or not (value >= low if allow_zero else value > low):
        bound = f">= {low}" if allow_zero else f"> {low}"
        raise ConfigError(f"{what} must be a finite number {bound} (seconds), got {value!r}")
    return float(value)


def _reject_unknown_keys(
    src: _Source, line: int, entry: dict, known: tuple[str, ...], what: str, kind: str
) -> None:
    """A ConfigError at the first key of ``entry`` not in ``known``, naming the known ones."""
    unknown = [k for k in entry if k not in known]
    if unknown:
        raise ConfigError(
            f"{src.shown}:{src.lines.key(line, unknown[0])}: {what}: unknown key "
            f"{unknown[0]!r}; {kind} has {', '.join(known)}"
        )

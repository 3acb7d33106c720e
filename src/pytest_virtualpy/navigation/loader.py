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

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import cv2

from pytest_virtualpy.errors import ConfigError
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
from pytest_virtualpy.navigation.tree_checks import (
    TreeFile,
    check_name,
    check_reachable,
    parse_number,
    parse_recovery,
    parse_region,
    parse_table,
    reject_unknown_keys,
    toml_error,
)
from pytest_virtualpy.vision import Region

RECOGNISER_KEYS = ("image", "images", "text", "region", "all", "any")
EDGE_KEYS = ("from", "to", "keys", "timeout", "settle", "cost")
SETTLE_KEYS = ("stable_secs", "until", "region")
NODE_KEYS = (*RECOGNISER_KEYS, "interrupt")

#: called with a file's path relative to the tree's folder before it is read, so a
#: tree served by a lab daemon can be fetched file by file (see navigation.served)
Fetch = Callable[[str], None]


@dataclass
class _Loader:
    root: Path  # the root file's folder: every file must be inside it
    fetch: Fetch | None
    shown_root: str
    nodes: dict[str, Node] = field(default_factory=dict)
    root_source: TreeFile | None = None
    raw_edges: list[tuple[TreeFile, int, dict]] = field(default_factory=list)

    # --- files --------------------------------------------------------------------

    def rel(self, path: Path) -> str:
        """``path`` relative to the tree's folder (``settings/tree.toml``)."""
        return path.relative_to(self.root).as_posix()

    def shown(self, path: Path) -> str:
        rel = self.rel(path)
        return f"{self.shown_root}/{rel}" if self.shown_root else rel

    def local(self, src: TreeFile | None, rel: str, where: str, what: str) -> Path:
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

    def reference(self, src: TreeFile, rel: str, where: str, what: str) -> Path:
        """:meth:`local` for a reference image, whose header must be one OpenCV reads (a
        look at its first bytes: the pixels are decoded when the device localises)."""
        path = self.local(src, rel, where, what)
        if not cv2.haveImageReader(str(path)):
            with path.open("rb") as f:
                head = f.read(8)
            raise ConfigError(
                f"{where}: {what} {rel} cannot be read as an image (it starts {head!r}); "
                "give a PNG or JPEG file (a PNG keeps an alpha mask)"
            )
        return path

    def read(self, path: Path, prefix: str, where: str) -> TreeFile:
        shown = self.shown(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = TomlLines(text)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise toml_error(shown, lines, e) from None
        return TreeFile(path, shown, prefix, lines, data)

    # --- the tree -----------------------------------------------------------------

    def load_file(self, src: TreeFile, chain: tuple[Path, ...]) -> None:
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
        nodes = parse_table(src, "nodes", src.data.get("nodes", {}), 1)
        for name, entry in nodes.items():
            line = src.lines.table("nodes", name)
            where = f"{src.shown}:{line}"
            check_name(name, where, "node")
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
        subtrees = parse_table(src, "subtrees", src.data.get("subtrees", {}), 1)
        for name, entry in subtrees.items():
            line = src.lines.table("subtrees", name)
            where = f"{src.shown}:{line}"
            check_name(name, where, "subtree")
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
        self, src: TreeFile, entry: dict, line: int, what: str, known=RECOGNISER_KEYS
    ) -> Recogniser:
        """A node's (or ``all``/``any`` item's, or ``until``'s) table as a Recogniser."""
        where = f"{src.shown}:{line}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {what}: each check must be a table, got {entry!r}")
        kind = "a node" if known is NODE_KEYS else "a recogniser"
        reject_unknown_keys(src, line, entry, known, what, kind)
        region = parse_region(entry["region"], src, line, what) if "region" in entry else Region.ALL
        parts: list[Recogniser] = []
        if "image" in entry:
            at = f"{src.shown}:{src.lines.key(line, 'image')}"
            image = self.reference(src, entry["image"], at, f"{what}: image")
            parts.append(ImageCheck(image, region))
        if "images" in entry:
            items = entry["images"]
            if not isinstance(items, list) or not items:
                raise ConfigError(f"{where}: {what}: images must be a non-empty list")
            parts.append(
                AllOf(
                    tuple(
                        ImageCheck(self.reference(src, item, where, f"{what}: image"), region)
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

    def resolve(self, src: TreeFile, name: Any, where: str) -> str:
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

    def edge(self, src: TreeFile, index: int, entry: Any) -> Edge:
        line = src.lines.item("edges", index)
        where = f"{src.shown}:{line}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: each edge must be a table ([[edges]])")
        reject_unknown_keys(src, line, entry, EDGE_KEYS, f"edges[{index}]", "an edge")
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
        timeout = parse_number(entry.get("timeout", 5.0), f"{where}: edges[{index}] timeout", 0.0)
        cost = entry.get("cost")
        if cost is not None:
            cost = parse_number(cost, f"{where}: edges[{index}] cost", 0.0, allow_zero=True)
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

    def settle(self, src: TreeFile, value: Any, line: int, index: int) -> Settle:
        where = f"{src.shown}:{line}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Settle(stable_secs=parse_number(value, f"{where}: settle", 0.0, allow_zero=True))
        if not isinstance(value, dict) or not value or set(value) - set(SETTLE_KEYS):
            raise ConfigError(
                f"{where}: edges[{index}] settle must be seconds of stillness or a table "
                "{ stable_secs = 0.5, until = { image = ..., region = [...] } }"
            )
        stable = parse_number(
            value.get("stable_secs", 0.0), f"{where}: settle.stable_secs", 0.0, allow_zero=True
        )
        until = None
        if "until" in value:
            until = self.recogniser(src, value["until"], line, f"edges[{index}] settle.until")
        region = Region.ALL
        if "region" in value:
            region = parse_region(value["region"], src, line, "settle")
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
    check_reachable(loader.nodes, edges)
    recovery = parse_recovery(loader.root_source, loader.root_source.data.get("recovery"))
    return NavigationTree(path, loader.nodes, edges, recovery)

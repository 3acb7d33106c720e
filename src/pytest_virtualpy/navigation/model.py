"""Navigation trees: the screens of a device (nodes) and the keys between them (edges).

A node is recognised by a *recogniser*: a reference image in a region
(:class:`ImageCheck`), text in a region (:class:`TextCheck`), or a combination of
them (:class:`AllOf`, :class:`AnyOf`). An edge says which keys lead from one node to
another; its ``source`` may be :data:`ANYWHERE` ("from any screen, even an unknown
one"). Trees are loaded from TOML by :func:`load_tree` (format: docs/navigation.md)::

    >>> tree = load_tree("examples/navigation.toml")     # doctest: +SKIP
    >>> tree.nodes                                        # doctest: +SKIP
    ['home', 'live_tv', 'guide', 'settings', 'about', ...]
    >>> tree.edges_from("about")[0].keys                  # doctest: +SKIP
    ('KEY_HOME',)

Everything here is plain data: no device, no daemon.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import networkx as nx

from pytest_virtualpy.errors import UnknownNodeError
from pytest_virtualpy.vision import Region

#: an edge's ``source`` meaning "from any screen, even one the tree does not know"
ANYWHERE = "*"


@dataclass(frozen=True)
class ImageCheck:
    """True when reference ``image`` is found within ``region``.

    >>> ImageCheck(Path("images/home.png"), Region(0, 0, 1280, 60))   # doctest: +SKIP
    """

    image: Path
    region: Region = Region.ALL


@dataclass(frozen=True)
class TextCheck:
    """True when OCR of ``region`` contains ``text`` (case-insensitive, spaces collapsed).

    >>> TextCheck("Settings", Region(0, 0, 1280, 60))
    TextCheck(text='Settings', region=Region(x=0, y=0, width=1280, height=60))
    """

    text: str
    region: Region = Region.ALL


@dataclass(frozen=True)
class AllOf:
    """True when every one of ``checks`` is true.

    >>> AllOf((TextCheck("Settings"), TextCheck("Network")))   # doctest: +ELLIPSIS
    AllOf(checks=(TextCheck(text='Settings', ...), TextCheck(text='Network', ...)))
    """

    checks: tuple[Recogniser, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when at least one of ``checks`` is true.

    >>> bool(holds(AnyOf((TextCheck("a"), TextCheck("b"))), lambda c: c.text == "b"))
    True
    """

    checks: tuple[Recogniser, ...]


Recogniser = ImageCheck | TextCheck | AllOf | AnyOf


def leaf_checks(recogniser: Recogniser) -> Iterator[ImageCheck | TextCheck]:
    """Every image and text check inside ``recogniser``, depth first, in file order.

    >>> list(leaf_checks(AllOf((TextCheck("a"), AnyOf((TextCheck("b"),))))))
    ... # doctest: +ELLIPSIS
    [TextCheck(text='a', ...), TextCheck(text='b', ...)]
    """
    if isinstance(recogniser, ImageCheck | TextCheck):
        yield recogniser
    else:
        for check in recogniser.checks:
            yield from leaf_checks(check)


def holds(recogniser: Recogniser, leaf: Callable[[ImageCheck | TextCheck], bool]) -> bool:
    """Compose ``recogniser`` from the truth of its leaves, as told by ``leaf(check)``.

    ``all`` / ``any`` short-circuit, so ``leaf`` is asked only what decides the answer.

    >>> holds(AllOf((TextCheck("a"), TextCheck("b"))), lambda c: c.text == "a")
    False
    """
    if isinstance(recogniser, AllOf):
        return all(holds(c, leaf) for c in recogniser.checks)
    if isinstance(recogniser, AnyOf):
        return any(holds(c, leaf) for c in recogniser.checks)
    return bool(leaf(recogniser))


@dataclass(frozen=True)
class Settle:
    """What "arrived" means after an edge's keys, beyond the target being recognised.

    ``stable_secs``: ``region`` must then stay still this long (an animation ended);
    ``until``: this recogniser must also hold (e.g. a list finished loading).

    >>> Settle(stable_secs=0.5).until is None
    True
    """

    stable_secs: float = 0.0
    until: Recogniser | None = None
    region: Region = Region.ALL


@dataclass(frozen=True)
class Node:
    """A screen of the device; ``where`` is the ``file:line`` that defines it.

    An ``interrupt`` node is a screen that comes by itself (a dialog, a popup): no edge
    needs to lead to it, and ``"*"`` edges do not leave it (it swallows keys): only its
    own edges get the walk going again.

    >>> tree.node("settings/network").where    # doctest: +SKIP
    'examples/settings.toml:12'
    """

    name: str
    recogniser: Recogniser
    where: str = ""
    interrupt: bool = False


@dataclass(frozen=True)
class Edge:
    """Keys that lead from ``source`` (a node name or :data:`ANYWHERE`) to ``target``.

    ``timeout_secs`` bounds the wait for the target after the last key; ``cost`` is the
    declared expected duration in seconds, used only until the edge has been measured.

    >>> Edge("home", "settings", ("KEY_RIGHT", "KEY_OK")).kpi_name
    'nav:home->settings'
    """

    source: str
    target: str
    keys: tuple[str, ...]
    timeout_secs: float = 5.0
    settle: Settle | None = None
    cost: float | None = None
    where: str = ""

    @property
    def kpi_name(self) -> str:
        """The KPI its walks are recorded under: ``nav:SOURCE->TARGET``."""
        return f"nav:{self.source}->{self.target}"


@dataclass(frozen=True, eq=False)
class NavigationTree:
    """A loaded navigation tree (see :func:`load_tree`).

    ``nodes`` are the node names in file order (a subtree's as ``settings/network``);
    ``graph`` is a :class:`networkx.MultiDiGraph` of those names, plus the node ``"*"``
    when any edge starts anywhere, with each edge's data ``{"edge": Edge}``.

    >>> tree = load_tree("examples/navigation.toml")     # doctest: +SKIP
    >>> "about" in tree.nodes, tree.node("about").where   # doctest: +SKIP
    (True, 'examples/navigation.toml:28')
    """

    path: Path
    node_table: dict[str, Node] = field(repr=False)
    edges: list[Edge] = field(repr=False)
    #: keys pressed when a walk is stuck on a screen it does not recognise and the
    #: ``"*"`` edges did not get it out (a dialog that swallows them): ``[recovery]``
    recovery_keys: tuple[str, ...] = ("KEY_BACK",)

    @property
    def nodes(self) -> list[str]:
        """The node names, in file order."""
        return list(self.node_table)

    def node(self, name: str) -> Node:
        """The node called ``name``; an unknown name is :class:`UnknownNodeError`."""
        try:
            return self.node_table[name]
        except KeyError:
            raise UnknownNodeError(
                f"unknown navigation node {name!r}; {self.path} defines: "
                f"{', '.join(self.node_table)} (see docs/navigation.md to add one)"
            ) from None

    def edges_from(self, name: str | None) -> list[Edge]:
        """Edges usable from node ``name`` (None: an unrecognised screen), ``"*"`` ones too
        (but not from an interrupt node: a dialog swallows the keys, only its edges work)."""
        anywhere = name is None or not self.node(name).interrupt
        return [e for e in self.edges if e.source == name or (anywhere and e.source == ANYWHERE)]

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The tree as declared: one graph edge per tree edge, ``"*"`` as its own node."""
        g = nx.MultiDiGraph()
        g.add_nodes_from(self.node_table)
        for e in self.edges:
            g.add_edge(e.source, e.target, edge=e)
        return g

    def __contains__(self, name: object) -> bool:
        return name in self.node_table

    def __repr__(self) -> str:
        return (
            f"<NavigationTree {self.path}: {len(self.node_table)} nodes, {len(self.edges)} edges>"
        )


def load_tree(path: Path | str) -> NavigationTree:
    """Load and validate a navigation tree; every mistake is a ``ConfigError`` with file:line.

    >>> load_tree("examples/navigation.toml").nodes[:2]   # doctest: +SKIP
    ['home', 'live_tv']
    """
    from pytest_virtualpy.navigation.loader import load

    return load(Path(path))

"""``virtualpy nav draw TREE -o tree.svg``: a picture of a navigation tree.

Nodes are the tree's screens (``"*"`` is drawn as "any screen"); each edge is labelled
with its keys and, when the results database has walked it, its measured cost (mean
time from first key press to arrival) and success rate, from the KPIs the navigator
records (``nav:FROM->TO`` and ``nav-miss:FROM->TO``, read by
:func:`pytest_virtualpy.results.nav_history.edge_history`). The format follows the
output's suffix: ``.svg`` (text stays text, so names can be searched) or ``.png``.

    virtualpy nav draw examples/navigation.toml -o tree.svg
    virtualpy nav draw tree.toml -o tree.png --results-db postgresql://... --model VPY-STB-1

>>> draw(load_tree("examples/navigation.toml"), Path("tree.svg"))   # doctest: +SKIP
PosixPath('tree.svg')
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import networkx as nx

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.navigation.model import ANYWHERE, Edge, NavigationTree, load_tree

FORMATS = (".svg", ".png")
ANY_SCREEN = "any screen"

#: KPI name ("nav:FROM->TO") -> {"mean_ms", "count", "failures"}, as edge_history gives
EdgeHistory = Mapping[str, Mapping[str, float]]


def edge_label(edge: Edge, stats: Mapping[str, float] | None) -> str:
    """What an edge's arrow says: its keys, then measured cost and success, or declared cost.

    >>> measured = {"mean_ms": 812.0, "count": 19, "failures": 1}
    >>> edge_label(Edge("home", "guide", ("KEY_EPG",)), measured)
    'KEY_EPG\\n0.81 s, 95% ok (20)'
    >>> edge_label(Edge("home", "guide", ("KEY_LEFT",) * 5 + ("KEY_OK",), cost=2.0), None)
    '6 keys\\ndeclared 2 s'
    """
    keys = edge.keys[0] if len(edge.keys) == 1 else f"{len(edge.keys)} keys"
    walks = int(stats["count"] + stats["failures"]) if stats else 0
    if walks:
        ok = stats["count"] / walks
        cost = f"{stats['mean_ms'] / 1000:.2f} s, " if stats["count"] else ""
        return f"{keys}\n{cost}{ok:.0%} ok ({walks})"
    if edge.cost is not None:
        return f"{keys}\ndeclared {edge.cost:g} s"
    return keys


def pooled(history: Mapping[str, EdgeHistory], model: str | None = None) -> dict[str, dict]:
    """One model's edge history, or every model's pooled (means weighted by count).

    >>> pooled({"a": {"nav:x->y": {"mean_ms": 100, "count": 1, "failures": 0}},
    ...         "b": {"nav:x->y": {"mean_ms": 400, "count": 2, "failures": 1}}})
    {'nav:x->y': {'mean_ms': 300.0, 'count': 3, 'failures': 1}}
    """
    models = [history.get(model, {})] if model is not None else list(history.values())
    out: dict[str, dict] = {}
    for edges in models:
        for kpi, s in edges.items():
            o = out.setdefault(kpi, {"mean_ms": 0.0, "count": 0, "failures": 0})
            total = o["count"] + s["count"]
            if total:
                o["mean_ms"] = (o["mean_ms"] * o["count"] + s["mean_ms"] * s["count"]) / total
            o["count"], o["failures"] = int(total), int(o["failures"] + s["failures"])
    return out


def draw(tree: NavigationTree, output: Path, history: EdgeHistory | None = None) -> Path:
    """Draw ``tree`` to ``output`` (.svg or .png), edges labelled with ``history``."""
    output = Path(output)
    if output.suffix.lower() not in FORMATS:
        raise ConfigError(f"cannot draw to {output}: use a .svg or .png file name")
    if output.is_dir():
        raise ConfigError(
            f"cannot draw to {output}: it is a folder, not a file: give a file name "
            f"such as {output / ('tree' + output.suffix)}"
        )
    try:  # a missing folder is made, like most tools do; before the drawing, not after
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(
            f"cannot draw to {output}: cannot create the folder {output.parent} "
            f"({e.strerror or e}): choose another -o"
        ) from None
    import matplotlib as mpl
    from matplotlib.figure import Figure

    graph = nx.relabel_nodes(tree.graph, {ANYWHERE: ANY_SCREEN}, copy=True)
    # a force-directed layout, seeded so the same tree is drawn the same way every time
    pos = nx.spring_layout(nx.Graph(graph), seed=7, iterations=300)
    size = max(6.0, 2.2 * len(graph) ** 0.5 + 3)
    with mpl.rc_context({"svg.fonttype": "none"}):  # text stays <text> in the SVG
        fig = Figure(figsize=(size * 1.4, size))
        ax = fig.add_subplot()
        ax.set_axis_off()
        # parse_math=False: a "$" or "\\" in a name is that character, not matplotlib mathtext
        title = f"{tree.path.name}: {len(tree.nodes)} nodes, {len(tree.edges)} edges"
        ax.set_title(title, parse_math=False)
        colours = ["#f0d080" if n == ANY_SCREEN else "#a8c8f0" for n in graph]
        nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=colours, node_size=2200)
        for text in nx.draw_networkx_labels(graph, pos, ax=ax, font_size=9).values():
            text.set_parse_math(False)  # networkx does not pass parse_math on
        seen: dict[frozenset, int] = {}
        for u, v, data in graph.edges(data=True):
            edge: Edge = data["edge"]
            pair = frozenset((u, v))
            rad = 0.12 + 0.12 * seen.get(pair, 0)  # both directions and parallels apart
            seen[pair] = seen.get(pair, 0) + 1
            nx.draw_networkx_edges(
                graph,
                pos,
                edgelist=[(u, v)],
                ax=ax,
                node_size=2200,
                arrowsize=16,
                connectionstyle=f"arc3,rad={rad}",
            )
            label = edge_label(edge, (history or {}).get(edge.kpi_name))
            (x0, y0), (x1, y1) = pos[u], pos[v]
            # the middle of the arc: the chord's middle, pushed out by rad * chord
            mx, my = (x0 + x1) / 2 + rad * (y1 - y0) / 2, (y0 + y1) / 2 - rad * (x1 - x0) / 2
            ax.text(
                mx,
                my,
                label,
                fontsize=7,
                ha="center",
                va="center",
                parse_math=False,
                bbox={"boxstyle": "round", "fc": "white", "ec": "#999999", "alpha": 0.9},
            )
        fig.tight_layout()
        try:
            fig.savefig(output, format=output.suffix.lower()[1:])
        except OSError as e:
            raise ConfigError(
                f"cannot write {output} ({e.strerror or e}): choose another -o"
            ) from None
    return output


def main(argv: list[str]) -> int:
    """``virtualpy nav draw TREE -o OUT [--results-db URL] [--model MODEL]``."""
    parser = argparse.ArgumentParser(prog="virtualpy nav draw", description=__doc__.split("\n")[0])
    parser.add_argument("tree", type=Path, help="the navigation tree (TOML)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="tree.svg or tree.png")
    parser.add_argument(
        "--results-db",
        help="results database for measured costs (default $VIRTUALPY_RESULTS_DB or "
        ".virtualpy/results.db; no default database: no measurements drawn; a named one "
        "that cannot be read: an error; 'none': no measurements)",
    )
    parser.add_argument("--model", help="only this device model's measurements (default: all)")
    args = parser.parse_args(argv)
    from pytest_virtualpy.results.cli import CliError
    from pytest_virtualpy.results.db import ResultsDbError

    try:
        tree = load_tree(args.tree)
        history = pooled(_history(args.results_db), args.model)
        out = draw(tree, args.output, history)
    except (ConfigError, ResultsDbError, CliError) as e:
        print(f"virtualpy nav draw: {e}", file=sys.stderr)
        return 2
    measured = sum(1 for e in tree.edges if e.kpi_name in history)
    print(f"{out}: {len(tree.nodes)} nodes, {len(tree.edges)} edges ({measured} measured)")
    return 0


def _history(value: str | None) -> Mapping[str, EdgeHistory]:
    """The edge history of ``--results-db`` (else $VIRTUALPY_RESULTS_DB, else the default).

    Only the default database may be absent (nothing measured yet); one that was named
    but cannot be read is an error, reported as ``virtualpy results`` reports it.
    """
    from pytest_virtualpy.results.cli import _open_for_reading
    from pytest_virtualpy.results.db import parse_url
    from pytest_virtualpy.results.nav_history import read_edge_history
    from pytest_virtualpy.results.settings import DEFAULT_DB, find_upwards

    value = value or os.environ.get("VIRTUALPY_RESULTS_DB")
    url = parse_url(value or str(find_upwards(Path.cwd(), DEFAULT_DB)), Path.cwd())
    if url is None or (value is None and not Path(url.target).is_file()):
        return {}
    db = _open_for_reading(url)
    try:
        return read_edge_history(db)
    finally:
        db.close()

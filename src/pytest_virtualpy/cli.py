"""``virtualpy``: the command line for results, monitoring and the fleet's status.

virtualpy results {list,show,sync,export} ...
virtualpy monitor --lab pi-01 --lab pi-02
virtualpy lab status [--lab NAME|pool:NAME|HOST:PORT ...] [--json]
virtualpy nav draw TREE -o tree.svg [--results-db URL] [--model MODEL]
"""

from __future__ import annotations

import sys

USAGE = (
    "usage: virtualpy results {list,show,sync,export} ... | virtualpy monitor --lab ... | "
    "virtualpy lab status [--lab ...] | virtualpy nav draw TREE -o tree.svg"
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "monitor":
        from pytest_virtualpy.monitor import main as monitor_main

        return monitor_main(args[1:])
    if args[:2] == ["lab", "status"]:
        from pytest_virtualpy.lab_status import main as status_main

        return status_main(args[2:])
    if args[:2] == ["nav", "draw"]:
        from pytest_virtualpy.navigation.draw import main as draw_main

        return draw_main(args[2:])
    if not args or args[0] != "results":
        print(USAGE, file=sys.stderr)
        return 2
    from pytest_virtualpy.results.cli import main as results_main

    return results_main(args[1:])

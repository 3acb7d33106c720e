"""``virtualpy``: the command line for results (``virtualpy results ...``)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from pytest_virtualpy.results.cli import main as results_main

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "monitor":
        from pytest_virtualpy.monitor import main as monitor_main

        return monitor_main(args[1:])
    if not args or args[0] != "results":
        print(
            "usage: virtualpy results {list,show,sync,export} ... | virtualpy monitor --lab ...",
            file=sys.stderr,
        )
        return 2
    return results_main(args[1:])

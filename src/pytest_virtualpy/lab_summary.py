"""One line per lab fault at the end of a run, instead of a wall of tracebacks.

When a lab dies mid-run, every test that needed it errors as ``LAB ERROR``; the
terminal summary then says once what happened and to how many tests, so the reader
sees "the daemon at pi-03 went away, 14 tests could not run", not 14 puzzles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_virtualpy import blame

_MAX_NAMED = 3  # tests named per fault; the rest are counted


@dataclass(eq=False)  # a registered plugin must stay hashable
class LabFaults:
    """The lab errors of a run, one group per kind of fault (a plugin: it sees every report)."""

    tests: dict[str, list[str]] = field(default_factory=dict)  # fault -> node ids
    first: dict[str, str] = field(default_factory=dict)  # fault -> its first message

    def add(self, report: Any) -> None:
        """Take a phase report; lab errors are grouped by their exception type."""
        if blame.of(report) != blame.LAB:
            return
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        message = getattr(crash, "message", None) or str(getattr(report, "longrepr", "")) or "?"
        message = message.splitlines()[0][:300]
        fault = message.split(":", 1)[0].rsplit(".", 1)[-1]  # "...errors.LeaseLost: x"
        tests = self.tests.setdefault(fault, [])
        self.first.setdefault(fault, message)
        if report.nodeid not in tests:
            tests.append(report.nodeid)

    def lines(self) -> list[str]:
        """The summary lines (empty when the lab never failed)."""
        out = []
        for fault, tests in self.tests.items():
            named = ", ".join(tests[:_MAX_NAMED])
            more = f" and {len(tests) - _MAX_NAMED} more" if len(tests) > _MAX_NAMED else ""
            out.append(
                f"{len(tests)} test(s) errored because of the lab, not the product: "
                f"{self.first[fault]}"
            )
            out.append(f"    {named}{more}")
        return out

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.add(report)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = self.lines()
        if lines:
            terminalreporter.write_sep("=", "virtualpy lab errors", red=True)
            for line in lines:
                terminalreporter.write_line(line)

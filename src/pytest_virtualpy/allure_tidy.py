"""Allure results as QA reads them: readable fixture names, no status-less steps, and
a failed test's evidence first on its page.

allure-pytest names a fixture's teardown after the finalizer pytest registered
(``remote::<lambda>``, ``_virtualpy_device::1``), and it writes a fixture's container
while pytest's own last finalizer (the one that closes the container) still runs, so that
one shows with status "?". :class:`AllureTidy` is an allure-commons plugin that fixes both
as containers are reported, and orders attachments on a test's page: the clip, then the
annotated screenshot, the screenshot, the serial log, then the rest.

>>> _fixture_title("_virtualpy_device")
'virtualpy device'
>>> _teardown_title("remote::<lambda>")
'remote: teardown'
>>> _teardown_title("power_cycle::switch_back_on")
'power_cycle: teardown (switch_back_on)'
"""

from __future__ import annotations

from typing import Any

from allure_commons import hookimpl

#: where an artifact of this kind goes on a test's page: lower is nearer the top
EVIDENCE_ORDER = {"video": 0, "annotated": 1, "screenshot": 2, "serial_log": 3, "subtitles": 9}
_UNNAMED = ("<lambda>", "_teardown_yield_fixture", "finish", "")


def _fixture_title(name: str) -> str:
    return name.strip("_").replace("_virtualpy_", "virtualpy ").replace("virtualpy_", "virtualpy ")


def _teardown_title(name: str) -> str:
    fixture, _, finalizer = name.partition("::")
    title = f"{_fixture_title(fixture)}: teardown"
    if finalizer.isdigit() or finalizer in _UNNAMED:
        return title
    return f"{title} ({finalizer})"


class AllureTidy:
    """An allure-commons plugin: runs before the results writer sees a result or container."""

    def __init__(self) -> None:
        self._rank: dict[str, int] = {}  # attachment file name -> EVIDENCE_ORDER rank

    def rank(self, source: str, kind: str | None) -> None:
        """Remember where the attachment written as ``source`` goes on its test's page."""
        self._rank[source] = EVIDENCE_ORDER.get(kind or "", 5)

    def order(self, attachments: list) -> None:
        """Sort a test's attachments in place: evidence first, others keep their order."""
        attachments.sort(key=lambda a: self._rank.get(getattr(a, "source", ""), 5))

    @hookimpl(tryfirst=True)
    def report_container(self, container: Any) -> None:
        for before in container.befores:
            before.name = _fixture_title(before.name or "")
        # An after without a status is pytest's own closing finalizer, still running
        # while its container is written: it is not a teardown anybody wrote.
        container.afters = [a for a in container.afters if a.status is not None]
        for after in container.afters:
            after.name = _teardown_title(after.name or "")

    @hookimpl(tryfirst=True)
    def report_result(self, result: Any) -> None:
        self.order(result.attachments)
        for source in [a.source for a in result.attachments]:
            self._rank.pop(source, None)

"""JUnit XML that agrees with the terminal: lab and usage errors are ``<error>``.

pytest's ``--junitxml`` writes any failed *call* phase as ``<failure>``, so a lab fault
raised in a test's body would count as a product failure in Jenkins or GitLab. The
plugin tags such tests with the testcase property ``virtualpy_error`` (``lab error`` or
``usage error``); once pytest has written the file, :func:`rewrite` turns their
``<failure>`` into ``<error>`` and corrects the suite's ``failures``/``errors`` counts;
an error of a test's setup (a device that never came) gets the same ``type``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pytest_virtualpy.blame import PROPERTY


def logfile(config: Any) -> Path | None:
    """The file ``--junitxml`` writes in this process (None for xdist workers, or none)."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without the junitxml plugin
        return None
    xml = config.stash.get(xml_key, None)
    return Path(xml.logfile) if xml is not None else None


def rewrite(path: Path) -> int:
    """Rewrite the JUnit file at ``path`` in place; returns how many failures became errors."""
    tree = ET.parse(path)
    moved_total = tagged = 0
    for suite in tree.getroot().iter("testsuite"):
        moved = 0
        for case in suite.iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            bucket = props.get(PROPERTY)
            if not bucket:
                continue
            for failure in case.findall("failure"):
                failure.tag = "error"
                failure.set("message", f"{bucket}: {failure.get('message', '')}")
                failure.set("type", bucket)
                moved += 1
            for error in case.findall("error"):  # a lab fault in setup is already an error
                if error.get("type") != bucket:
                    error.set("message", f"{bucket}: {error.get('message', '')}")
                    error.set("type", bucket)
                    tagged += 1
        if moved:
            suite.set("failures", str(int(suite.get("failures", "0")) - moved))
            suite.set("errors", str(int(suite.get("errors", "0")) + moved))
        moved_total += moved
    if moved_total or tagged:
        tree.write(path, encoding="utf-8", xml_declaration=True)
    return moved_total

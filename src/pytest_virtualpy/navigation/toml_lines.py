"""Where a table or key is in a TOML text: tomllib parses but reports no line numbers.

The navigation loader names ``file:line`` in every error; these helpers find the line
of ``[section.name]`` (or ``name = ...`` under ``[section]``), of the n-th
``[[section]]``, and of a key inside a table, by scanning the text.
"""

from __future__ import annotations

import re


class TomlLines:
    r"""Line numbers of tables and keys in a TOML text (tomllib reports none).

    >>> lines = TomlLines('[nodes.home]\nimage = "h.png"\n[[edges]]\nfrom = "*"\n')
    >>> lines.table("nodes", "home"), lines.key(1, "image"), lines.item("edges", 0)
    (1, 2, 3)
    """

    def __init__(self, text: str):
        self.lines = text.splitlines()

    @staticmethod
    def _dotted(*keys: str) -> str:
        return r"\s*\.\s*".join(
            rf"(?:{re.escape(k)}|\"{re.escape(k)}\"|'{re.escape(k)}')" for k in keys
        )

    def _find(self, pattern: str, start: int = 0, nth: int = 0) -> int | None:
        rx = re.compile(pattern)
        seen = 0
        for i in range(start, len(self.lines)):
            if rx.match(self.lines[i]):
                if seen == nth:
                    return i + 1
                seen += 1
        return None

    def table(self, section: str, name: str) -> int:
        """The line of ``[section.name]``, of ``name = ...`` under ``[section]``, or 1."""
        line = self._find(rf"\s*\[\s*{self._dotted(section, name)}\s*\]")
        if line is None:
            line = self._find(rf"\s*{self._dotted(section, name)}\s*=")
        if line is None:
            start = self._find(rf"\s*\[\s*{self._dotted(section)}\s*\]") or 0
            line = self._find(rf"\s*{self._dotted(name)}\s*=", start)
        return line or 1

    def section(self, section: str) -> int:
        """The line of ``[section...``, ``[[section]]`` or ``section = ...``, or 1."""
        return (
            self._find(rf"\s*(\[\[?\s*{self._dotted(section)}\b|{self._dotted(section)}\s*=)") or 1
        )

    def item(self, section: str, index: int) -> int:
        """The line of the ``index``-th ``[[section]]`` (or of ``section = [``)."""
        line = self._find(rf"\s*\[\[\s*{self._dotted(section)}\s*\]\]", nth=index)
        return line or self._find(rf"\s*{self._dotted(section)}\s*=") or 1

    def key(self, start: int, key: str) -> int:
        """The line of ``key = ...`` in the table starting at line ``start``, or ``start``."""
        for i in range(start, len(self.lines)):
            text = self.lines[i].strip()
            if i >= start and text.startswith("["):
                break
            if re.match(rf"{self._dotted(key)}\s*=", text):
                return i + 1
        return start

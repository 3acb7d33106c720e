"""Key-name validation with helpful suggestions."""

from __future__ import annotations

import difflib

from pytest_virtualpy.errors import UnknownKeyError


def check_key(key: str, known: list[str]) -> None:
    """Raise :class:`UnknownKeyError` naming close matches if ``key`` is not known."""
    if key in known:
        return
    name = str(key).upper()
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if not close and not name.startswith("KEY_"):
        close = difflib.get_close_matches("KEY_" + name, known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownKeyError(
        f"unknown key {key!r}.{hint} remote.keys() lists the {len(known)} keys this device knows."
    )

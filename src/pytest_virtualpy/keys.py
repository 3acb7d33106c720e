"""Key-name validation with helpful suggestions."""

from __future__ import annotations

import difflib

from pytest_virtualpy.errors import UnknownKeyError


def check_key(key: str, known: list[str]) -> None:
    """Raise :class:`UnknownKeyError` naming close matches if ``key`` is not known."""
    if key in known:
        return
    close = difflib.get_close_matches(str(key).upper(), known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownKeyError(
        f"unknown key {key!r}.{hint} remote.keys() lists the {len(known)} keys this device knows."
    )

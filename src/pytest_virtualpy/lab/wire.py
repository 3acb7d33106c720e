"""The value format of the daemon's RPyC surface, shared by both ends.

RPyC passes only immutable builtins by value; lists and dicts would travel as
remote references. So every exposed method takes scalars, bytes and tuples, and
returns either a JSON text or a ``(json_text, bytes)`` pair for images. Errors
are returned as data and re-raised on the client from a fixed whitelist of
exception types, so no remote exception object or traceback is ever
instantiated from the wire.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_virtualpy import errors

_PLAIN = (str, bytes, int, float, bool, type(None))

#: the bounds of localisation's match_many (the daemon enforces them; clients keep inside)
MATCH_MANY_CHECKS = 256  # checks in one call
MATCH_MANY_CROPS = 32  # crops in one call
REFERENCE_STORE_BYTES = 128 << 20  # decoded references the daemon keeps (LRU)
PUT_MAX_BYTES = 16 << 20  # PNG bytes in one put_references call
PUT_MAX_PIXELS = REFERENCE_STORE_BYTES // 4  # decoded pixels in one put_references call

#: exception types the daemon may report, by name, and what the client re-raises for each
WIRE_ERRORS: dict[str, type[Exception]] = {
    **{
        cls.__name__: cls
        for cls in (
            errors.LabError,
            errors.LabConnectionError,
            errors.DeviceUnavailable,
            errors.LeaseLost,
            errors.UsageError,
            errors.UnknownKeyError,
            errors.ImageError,
            errors.ConfigError,
            errors.PatternError,
            errors.BadArgument,
        )
    },
    # a plain ValueError is how the daemon and vision refuse a bad argument: the test's
    # mistake. Only the exact class: a subclass (UnicodeDecodeError...) is a daemon bug.
    "ValueError": errors.BadArgument,
}


def is_plain(value: Any) -> bool:
    """True if ``value`` is a scalar, bytes, or a tuple of such (recursively)."""
    if type(value) in _PLAIN:
        return True
    if type(value) is tuple:
        return all(is_plain(v) for v in value)
    return False


def encode_ok(payload: Any) -> str:
    """Encode a successful result as JSON text."""
    return json.dumps({"ok": payload})


def encode_error(exc: BaseException) -> str:
    """Encode an exception as JSON text; unknown types are reported as LabError."""
    name = next(
        (
            c.__name__
            for c in type(exc).__mro__
            if c.__name__ in WIRE_ERRORS and (c is type(exc) or c.__module__ == errors.__name__)
        ),
        None,
    )
    if name is None:  # not one of ours: a bug in the daemon, reported as a lab fault
        name, message = "LabError", f"lab daemon internal error: {type(exc).__name__}: {exc}"
    else:
        message = str(exc)
    return json.dumps({"error": {"type": name, "message": message}})


def decode(text: str) -> Any:
    """Decode a daemon reply, raising the whitelisted exception it carries."""
    try:
        reply = json.loads(text)
    except (TypeError, ValueError) as e:
        raise errors.LabError(f"malformed reply from lab daemon: {e}") from None
    if "error" in reply:
        err = reply["error"]
        raise WIRE_ERRORS.get(err.get("type"), errors.LabError)(err.get("message", ""))
    return reply["ok"]

"""Remote-control key names understood by the simulated box.

The names are the usual Linux input / LIRC names so that tests written against the
simulator use the same vocabulary as tests against a real box behind an IR blaster.
"""

from __future__ import annotations

import difflib

try:  # the plugin's exception, so tests can catch one type for sim and real boxes
    from pytest_virtualpy.errors import UnknownKeyError
except ImportError:  # pragma: no cover - only when the plugin is not importable

    class UnknownKeyError(ValueError):  # type: ignore[no-redef]
        """A remote-control key name the device does not know."""


DIGIT_KEYS: tuple[str, ...] = tuple(f"KEY_{d}" for d in range(10))

KEYS: tuple[str, ...] = (
    "KEY_UP",
    "KEY_DOWN",
    "KEY_LEFT",
    "KEY_RIGHT",
    "KEY_OK",
    "KEY_BACK",
    "KEY_HOME",
    "KEY_MENU",
    "KEY_EPG",
    "KEY_GUIDE",
    "KEY_INFO",
    "KEY_CHANNELUP",
    "KEY_CHANNELDOWN",
    *DIGIT_KEYS,
    "KEY_VOLUMEUP",
    "KEY_VOLUMEDOWN",
    "KEY_MUTE",
    "KEY_POWER",
    "KEY_RED",
    "KEY_GREEN",
    "KEY_YELLOW",
    "KEY_BLUE",
    "KEY_PLAY",
    "KEY_PAUSE",
    "KEY_STOP",
    "KEY_FASTFORWARD",
    "KEY_REWIND",
)

_KEY_SET = frozenset(KEYS)


def validate_key(key: str) -> str:
    """Return ``key`` if the box knows it, else raise :class:`UnknownKeyError`.

    The message lists close matches (so a typo such as ``KEY_CHANELUP`` points at
    the right name) and says how to list every key.
    """
    if isinstance(key, str) and key in _KEY_SET:
        return key
    name = str(key)
    candidates = difflib.get_close_matches(name.upper(), KEYS, n=4, cutoff=0.6)
    if not candidates and not name.upper().startswith("KEY_"):
        candidates = difflib.get_close_matches("KEY_" + name.upper(), KEYS, n=4, cutoff=0.6)
    hint = f" Did you mean: {', '.join(candidates)}?" if candidates else ""
    raise UnknownKeyError(
        f"Unknown key {name!r} for the simulated box.{hint} "
        f"Call device.keys() (SimulatedBox.keys()) to list the {len(KEYS)} known keys."
    )

"""Remote-control key names understood by the simulated box.

The names are the usual Linux input / LIRC names so that tests written against the
simulator use the same vocabulary as tests against a real box behind an IR blaster.
"""

from __future__ import annotations

from pytest_virtualpy.keys import check_key

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
    """Return ``key`` if the box knows it, else raise ``UnknownKeyError`` naming close matches."""
    if not (isinstance(key, str) and key in _KEY_SET):
        check_key(str(key), list(KEYS))
    return key

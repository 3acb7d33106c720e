"""Checks of the arguments the frame, key, serial and simulator methods take.

Every value comes off the network: each is checked for its type, its size and its
range *before* the method touches a device, and a bad one is a ValueError that names
the argument, what it got and what it accepts (the client sees a BadArgument).

>>> noise_threshold(None), noise_threshold(12), min_size([20, 10])
(None, 12.0, (20, 10))
>>> black_threshold(float("nan"))
Traceback (most recent call last):
...
ValueError: threshold must be between 0 and 255, got nan
"""

from __future__ import annotations

import math
import time
from typing import Any

from lab_daemon.exposing import integer, json_object, number, optional_number, text
from pytest_virtualpy.vision._diff import check_min_size

MAX_KEY_CHARS = 64  # a key name (KEY_CHANNELUP...)
MAX_HOLD_SECS = 60.0  # holding a key longer is never a user's press
MAX_CONSECUTIVE = 1000  # frames in a row a wait may ask for
MAX_AFTER_AHEAD_SECS = 10.0  # how far in the lab host's future get_frame(after=) may ask
MAX_TIME = 1e11  # lab-host times (time.time()): anything later is a mistake
MAX_OFFSET = 1 << 62  # serial log offsets
MAX_SIM_PARAMS_CHARS = 4096
MAX_SIM_PARAM_VALUE = 600_000.0  # e.g. latency_ms: ten minutes


def key_name(value: Any) -> str:
    """A remote key name such as ``KEY_OK``."""
    key = text(value, "key", MAX_KEY_CHARS)
    if not key.strip() or not key.isprintable():
        raise ValueError(f"key must be a printable key name such as 'KEY_OK', got {value!r}")
    return key


def hold_secs(value: Any) -> float | None:
    """None or 0 (a plain press) up to :data:`MAX_HOLD_SECS`."""
    return optional_number(value, "hold_secs", 0.0, MAX_HOLD_SECS)


def noise_threshold(value: Any) -> float | None:
    """None (the default) or a colour distance from 0 to 255 (see ``vision/_diff.py``)."""
    return optional_number(value, "threshold", 0.0, 255.0)


def min_size(value: Any) -> tuple[int, int] | None:
    """None (the default) or a change's smallest ``(width, height)`` in whole pixels."""
    return None if value is None else check_min_size(value)


def black_threshold(value: Any) -> int:
    """The brightest gray level (0-255) still counted as black."""
    return round(number(value, "threshold", 0.0, 255.0))


def consecutive_matches(value: Any) -> int:
    """How many frames in a row must match: 1 to :data:`MAX_CONSECUTIVE`."""
    return integer(value, "consecutive", 1, MAX_CONSECUTIVE)


def consecutive_frames(value: Any) -> int | str:
    """A motion wait's ``consecutive``: an int N or ``"M/N"``, with N up to 1000."""
    if isinstance(value, str):
        m, sep, n = text(value, "consecutive", 16).partition("/")
        try:
            low, high = int(m), int(n if sep else m)
        except ValueError:
            raise ValueError(f"consecutive must be an int or 'M/N', got {value!r}") from None
        if not 1 <= low <= high <= MAX_CONSECUTIVE:
            raise ValueError(f"consecutive {value!r}: need 1 <= M <= N <= {MAX_CONSECUTIVE}")
        return value
    return consecutive_matches(value)


def lab_time(value: Any, what: str) -> float:
    """A lab-host time (seconds since the epoch)."""
    return number(value, what, 0.0, MAX_TIME)


def optional_lab_time(value: Any, what: str) -> float | None:
    return None if value is None else lab_time(value, what)


def frame_after(value: Any) -> float | None:
    """``get_frame(after=)``: a lab-host time at most :data:`MAX_AFTER_AHEAD_SECS` ahead."""
    after = optional_lab_time(value, "after")
    if after is not None and after > time.time() + MAX_AFTER_AHEAD_SECS:
        raise ValueError(
            f"after={value!r} is {after - time.time():.0f} s in the lab host's future; at "
            f"most {MAX_AFTER_AHEAD_SECS:g} s ahead (use a frame's time from this lab)"
        )
    return after


def image_format(fmt: Any, quality: Any) -> tuple[str, int]:
    """``("png" | "jpeg", quality 1-100)``."""
    name = text(fmt, "fmt", 8).lower()
    if name not in ("png", "jpeg", "jpg"):
        raise ValueError(f"fmt must be 'png' or 'jpeg', got {fmt!r}")
    return name, integer(quality, "quality", 1, 100)


def offset(value: Any, what: str) -> int:
    """A serial log offset (bytes since the console started)."""
    return integer(value, what, 0, MAX_OFFSET)


def serial_data(value: Any) -> bytes:
    """Bytes to write to a serial console."""
    if not isinstance(value, bytes):
        raise ValueError(f"data must be bytes, got {type(value).__name__}")
    return value


def sim_params(params_json: Any) -> dict[str, float]:
    """A simulator fault's parameters: a JSON object of names to finite numbers."""
    if params_json is None or params_json == "":
        return {}
    params = json_object(params_json, "params_json", MAX_SIM_PARAMS_CHARS)
    for name, v in params.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"fault parameter {name!r} must be a finite number, got {v!r}")
        if abs(v) > MAX_SIM_PARAM_VALUE:
            raise ValueError(f"fault parameter {name!r} is {v!r}; at most {MAX_SIM_PARAM_VALUE:g}")
    return params

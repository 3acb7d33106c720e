"""Serial console helpers for :class:`~pytest_virtualpy.stb.Serial`.

:func:`check_pattern` refuses a bad regular expression in the test process,
before anything goes to the lab. :func:`wait_for_prompt` gets a console to a
fresh prompt before a command is typed: a box still printing its boot log is
left to finish, a silent one is asked for a prompt with an Enter, and output
already pending is not mistaken for the command's.
"""

from __future__ import annotations

import math
import re
import time

from pytest_virtualpy.errors import PatternError, SerialTimeout
from pytest_virtualpy.lab.device import DeviceClient

PROMPT = r"stb# "  # the simulated box's shell prompt (a regex)
QUIET_SECS = 0.2  # silence after a prompt that means the console waits for input
NUDGE_SECS = 1.0  # least time between two Enters typed to get a prompt


def check_pattern(pattern: str, what: str) -> None:
    """Raise :class:`PatternError` unless ``pattern`` compiles as the daemon will compile it."""
    if not isinstance(pattern, str):
        raise PatternError(
            f"{what}: the pattern must be a str (a regular expression), "
            f"got {type(pattern).__name__}"
        )
    try:
        re.compile(pattern.encode())  # the daemon matches UTF-8 bytes
    except (re.error, OverflowError, RecursionError) as e:
        raise PatternError(
            f"{what}: {pattern!r} is not a valid regular expression: {e}. "
            f"To match the text literally, escape it: re.escape({pattern!r})"
        ) from None


def wait_for_prompt(device: DeviceClient, prompt: str, deadline: float, timeout: float) -> None:
    """Return once the console sits at a fresh ``prompt``: one printed after this call
    began, with nothing printed after it for :data:`QUIET_SECS`.

    Output already pending is dropped. While the console prints (a box booting),
    nothing is typed; once it has been silent for :data:`QUIET_SECS` without a
    prompt, an Enter asks for one (again at most every :data:`NUDGE_SECS`).
    Raises :class:`SerialTimeout` if no fresh prompt comes by ``deadline``
    (``time.monotonic()``; ``timeout`` is only for the message).
    """
    now = time.monotonic
    seen = device.serial_read(0.0).decode(errors="replace")
    last_output = now() if seen else -math.inf
    last_nudge = -math.inf
    unread = ""  # output since the last prompt, not consumed
    while (left := deadline - now()) > 0:
        if now() - last_output >= QUIET_SECS and now() - last_nudge >= NUDGE_SECS:
            device.serial_write(b"\r")
            last_nudge = now()
        d = device.serial_expect(prompt, min(QUIET_SECS, left))
        if not d["matched"]:
            if len(d["before"]) > len(unread):  # still printing: let it finish
                last_output = now()
            unread = d["before"]
            continue
        after = device.serial_read(min(QUIET_SECS, max(0.0, deadline - now())))
        if not after:
            return
        seen += d["before"] + d["match"] + after.decode(errors="replace")
        unread, last_output = "", now()  # it said more after the prompt: not idle yet
    raise SerialTimeout(
        f"no {prompt!r} prompt on the serial console within {timeout:g} s "
        f"(is the box on and at its shell?); last output:\n{(seen + unread)[-500:]}",
        output=seen + unread,
    )

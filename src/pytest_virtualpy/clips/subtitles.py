"""The test's steps as subtitles: WebVTT cues at each step's time in the clip.

Steps carry the test process's ``time.time()``; the clip's times are the lab host's.
``offset`` (lab minus client, see :func:`pytest_virtualpy.clips.clock.clock_offset`)
converts one into the other.

>>> from pytest_virtualpy.steps import Step
>>> cues = step_cues([Step("press", "KEY_OK", 101.0, duration_ms=50)], clip_start=100.0)
>>> print(to_webvtt(cues))
WEBVTT
<BLANKLINE>
1
00:00:01.000 --> 00:00:02.000
press KEY_OK
<BLANKLINE>
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

MIN_CUE_SECS = 1.0  # a step shows at least this long, so a viewer can read it


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` seconds into the clip."""

    start: float
    end: float
    text: str


def _text(step) -> str:
    name = step.name or ""
    if ("/" in name or "\\" in name) and "." in name.rsplit("/", 1)[-1]:
        name = name.replace("\\", "/").rsplit("/", 1)[-1]  # a reference image: its file name
    text = f"{step.kind} {name}".strip()
    if not step.ok:
        text += " (failed)"
    return "  " * step.depth + text


def step_cues(
    steps: Iterable, clip_start: float, clip_end: float | None = None, offset: float = 0.0
) -> list[Cue]:
    """A cue per step (``Step`` objects or their dicts) inside the clip, in time order.

    A step shows for its duration, and at least :data:`MIN_CUE_SECS` unless the next step
    at its depth (or shallower) starts earlier: nested steps (a navigation's presses)
    replace each other under their parent instead of piling up.
    """
    items = []
    for s in steps:
        if isinstance(s, dict):
            from pytest_virtualpy.steps import Step

            s = Step(**{k: s[k] for k in Step.__dataclass_fields__ if k in s})
        start = s.started + offset - clip_start
        items.append((start, start + (s.duration_ms or 0) / 1000, s))
    items.sort(key=lambda i: i[0])
    limit = None if clip_end is None else clip_end - clip_start
    cues = []
    for n, (start, own_end, s) in enumerate(items):
        nxt = next((i[0] for i in items[n + 1 :] if i[2].depth <= s.depth), None)
        shown = start + MIN_CUE_SECS if nxt is None else min(start + MIN_CUE_SECS, nxt)
        end = max(own_end, shown)
        if limit is not None:
            end = min(end, limit)
        if end <= max(0.0, start) or (limit is not None and start >= limit):
            continue
        cues.append(Cue(max(0.0, start), end, _text(s)))
    return cues


def flatten(cues: Iterable[Cue]) -> list[Cue]:
    """Non-overlapping cues: at each instant, the lines of every cue shown then.

    An MP4 subtitle track (mov_text) holds one sample at a time, unlike WebVTT.
    """
    cues = list(cues)
    edges = sorted({c.start for c in cues} | {c.end for c in cues})
    out = []
    for a, b in itertools.pairwise(edges):
        lines = [c.text for c in cues if c.start <= a and c.end >= b]
        if lines and b - a >= 0.001:
            out.append(Cue(a, b, "\n".join(lines)))
    return out


def _stamp(secs: float) -> str:
    ms = round(secs * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def to_webvtt(cues: Iterable[Cue]) -> str:
    """The cues as a WebVTT document."""
    lines = ["WEBVTT", ""]
    for i, c in enumerate(cues, 1):
        text = c.text.replace("-->", "->")
        lines += [str(i), f"{_stamp(c.start)} --> {_stamp(c.end)}", text, ""]
    return "\n".join(lines)

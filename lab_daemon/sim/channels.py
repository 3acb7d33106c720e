"""The channel line-up and the programme schedule.

Programme data is a deterministic function of (seed, channel, half-hour slot) so the
banner, the home screen and the guide always agree, and two boxes with the same seed
show the same schedule.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

SLOT_SECS = 1800.0  # the guide's time-slot width: half an hour


@dataclass(frozen=True)
class Channel:
    """One channel: its number, name, programme titles and look on screen."""

    number: int
    name: str
    titles: tuple[str, ...]
    hue: int  # OpenCV hue 0..179 of the channel's picture
    style: int  # which picture variant video.py draws


_LINEUP: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (101, "News 24", ("Morning Briefing", "World Report", "Business Today", "News at Nine")),
    (102, "Sports One", ("Match Day Live", "Goals Extra", "Tennis Highlights", "Cycling Tour")),
    (103, "Movie Max", ("The Long Road", "Night Train", "Silver Harbour", "Last Summer")),
    (104, "Kids Zone", ("Cartoon Club", "Puzzle Pals", "Space Rangers", "Story Time")),
    (105, "Discovery World", ("Wild Oceans", "Planet Earth", "Ancient Cities", "Deep Space")),
    (106, "Music Hits", ("Top 40 Countdown", "Rock Classics", "Live Sessions", "Chart Show")),
    (107, "Cooking Channel", ("Quick Dinners", "Bake Off", "Street Food", "Chef Masters")),
    (108, "History Plus", ("Lost Empires", "The Great War", "Castles", "Inventions")),
    (109, "Comedy Central", ("Stand Up Night", "Sitcom Classics", "Sketch Show", "Roast")),
    (110, "Weather Now", ("Forecast", "Storm Watch", "Weekend Outlook", "Travel Weather")),
    (111, "Nature HD", ("Rainforest", "Arctic Life", "Bird Song", "Mountains")),
    (112, "Travel Plus", ("City Breaks", "Island Hopping", "Rail Journeys", "Road Trips")),
)

CHANNELS: tuple[Channel, ...] = tuple(
    Channel(number=n, name=name, titles=titles, hue=(i * 15) % 180, style=i % 4)
    for i, (n, name, titles) in enumerate(_LINEUP)
)


class Schedule:
    """Programme titles per channel and half-hour slot, shuffled by ``seed``."""

    def __init__(self, seed: int = 0) -> None:
        rng = random.Random(f"schedule-{seed}")
        self._offsets = [rng.randrange(len(c.titles)) for c in CHANNELS]

    @staticmethod
    def slot_of(t: float) -> int:
        """The half-hour slot index (since the epoch of the box clock) containing ``t``."""
        return int(t // SLOT_SECS)

    def title(self, index: int, slot: int) -> str:
        """The programme title on channel ``CHANNELS[index]`` during ``slot``."""
        ch = CHANNELS[index]
        return ch.titles[(slot + self._offsets[index]) % len(ch.titles)]

    @staticmethod
    def slot_label(slot: int) -> str:
        """The slot's start time as ``HH:MM`` (local time of the box clock)."""
        return time.strftime("%H:%M", time.localtime(slot * SLOT_SECS))


def channel_index(number: int) -> int | None:
    """Index into :data:`CHANNELS` of channel ``number``, or None if not in the line-up."""
    for i, ch in enumerate(CHANNELS):
        if ch.number == number:
            return i
    return None

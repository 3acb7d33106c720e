"""What the simulated box sounds like: a tone per channel on live TV, silence otherwise.

Live TV plays a pure sine whose frequency names the channel (``400 + 100 * i`` Hz for
``CHANNELS[i]``: channel 101 plays 400 Hz, 102 500 Hz ... 112 1500 Hz), at a level set by
the volume (volume 100 is a sine of half full scale, -9 dBFS RMS; the default volume 30 is
-19.5 dBFS; volume 0 is silence). Overlays drawn over live TV (the channel banner, digits,
the volume bar) do not interrupt it. Everything else is digital silence: a zap (the black
between channels), mute (``KEY_MUTE``), the ``"mute"`` fault, every full-screen menu
(home, guide, settings...), standby, boot and power off.

The state machine changes at known times, so the box notes each change of sound with
its time in a :class:`SoundTrack`; a chunk of samples is then a pure function of those
notes and the sample times, whenever it is rendered (deterministic, like the frames).
Sample ``k`` is the sound at time ``k / rate`` on the box clock (``time.time()``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: samples per second: 16 kHz carries the tones (up to 1.5 kHz) with room to spare, and
#: costs a third of 48 kHz to generate, store and transport
RATE = 16000
BASE_HZ = 400
STEP_HZ = 100
#: the sine's peak at volume 100, as a fraction of full scale
FULL_PEAK = 0.5
#: notes kept: enough for any burst of key presses between two audio chunks
MAX_NOTES = 4096


def tone_hz(index: int) -> int:
    """The frequency live TV plays on ``CHANNELS[index]``.

    >>> tone_hz(0), tone_hz(1)
    (400, 500)
    """
    return BASE_HZ + STEP_HZ * int(index)


@dataclass(frozen=True)
class Sound:
    """What the box plays from some time on: a tone (``hz`` > 0) or silence."""

    hz: int = 0
    peak: float = 0.0  # fraction of full scale
    silent_until: float = -math.inf  # a zap in progress: silent before this time


SILENCE = Sound()


def sound_of(
    *, powered: bool, screen: str, channel: int, volume: int, muted: bool, zap_until: float
) -> Sound:
    """The sound of a box in this state (see the module docstring)."""
    if not powered or screen != "live_tv" or muted or volume <= 0:
        return SILENCE
    return Sound(tone_hz(channel), FULL_PEAK * min(100, volume) / 100.0, zap_until)


class SoundTrack:
    """The box's sound over time, as notes ``(time, Sound)``; rendered to samples on demand."""

    def __init__(self, rate: int = RATE) -> None:
        self.rate = int(rate)
        self._notes: list[tuple[float, Sound]] = [(-math.inf, SILENCE)]

    def note(self, t: float, sound: Sound) -> None:
        """From time ``t`` on (not before the last note), the box plays ``sound``."""
        last_t, last = self._notes[-1]
        if sound == last:
            return
        self._notes.append((max(t, last_t), sound))
        if len(self._notes) > MAX_NOTES:
            del self._notes[: len(self._notes) - MAX_NOTES]

    def render(self, first: int, count: int) -> np.ndarray:
        """Samples ``first`` .. ``first + count - 1`` (int16 mono).

        Notes ending before the chunk are dropped: chunks are rendered in time order.
        """
        out = np.zeros(count, np.int16)
        end = first + count
        notes = self._notes
        while len(notes) > 1 and notes[1][0] * self.rate <= first:
            del notes[0]
        for i, (t, sound) in enumerate(notes):
            if sound.hz <= 0:
                continue
            a = max(first, _index(max(t, sound.silent_until), self.rate))
            b = end if i + 1 == len(notes) else min(end, _index(notes[i + 1][0], self.rate))
            if a < b:
                out[a - first : b - first] = _sine(a, b - a, sound, self.rate)
        return out


def _index(t: float, rate: int) -> int:
    """The first sample index at or after time ``t``."""
    if t == -math.inf:
        return -(1 << 62)
    return math.ceil(t * rate - 1e-6)


def _sine(first: int, count: int, sound: Sound, rate: int) -> np.ndarray:
    # phase in exact integers: (hz * k) mod rate, so a tone never drifts or clicks
    k = np.arange(first, first + count, dtype=np.int64)
    phase = (k * sound.hz) % rate
    wave = np.sin(phase * (2 * np.pi / rate))
    return np.round(wave * (sound.peak * 32767)).astype(np.int16)

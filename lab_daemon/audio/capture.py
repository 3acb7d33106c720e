"""The worker that reads a device's :class:`AudioSource` into its :class:`AudioRing`."""

from __future__ import annotations

from lab_daemon.audio.ring import AudioRing
from lab_daemon.capture import SourceThread
from lab_daemon.devices.base import AudioSource


class AudioThread(SourceThread):
    """Reads ``source`` into ``ring`` until stopped; a failing read is logged and retried
    (readers then see "audio capture stalled"), never the end of the thread."""

    WHAT = "audio"

    def __init__(self, name: str, source: AudioSource, ring: AudioRing):
        super().__init__(name, source, ring)
        self.chunks = 0

    def keep(self, samples, t: float) -> None:
        if len(samples):
            self.ring.append(samples, t)
            self.chunks += 1


def ring_seconds(recording: dict) -> float:
    """How much sound a device keeps: the recording's length plus 10 s (clips reach back
    a second before a test's start)."""
    return float(recording.get("seconds", 120.0)) + 10.0

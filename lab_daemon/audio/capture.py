"""The worker that reads a device's :class:`AudioSource` into its :class:`AudioRing`."""

from __future__ import annotations

import logging
import threading

from lab_daemon.audio.ring import AudioRing
from lab_daemon.devices.base import AudioSource

log = logging.getLogger(__name__)


class AudioThread(threading.Thread):
    """Reads ``source`` into ``ring`` until stopped; a failing read is logged and retried
    (readers then see "audio capture stalled"), never the end of the thread."""

    def __init__(self, name: str, source: AudioSource, ring: AudioRing):
        super().__init__(name=f"audio-{name}", daemon=True)
        self.source = source
        self.ring = ring
        self.chunks = 0
        self.errors = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                samples, t = self.source.read()
            except Exception:  # keep the thread alive; readers see a stall
                self.errors += 1
                if self.errors == 1 or self.errors % 100 == 0:
                    log.exception("audio from %s failed (%d times)", self.name, self.errors)
                self._stop_event.wait(0.5)
                continue
            if len(samples):
                self.ring.append(samples, t)
                self.chunks += 1
        self.ring.close()

    def stop(self) -> None:
        self._stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        if self.ident is not None:  # never started: nothing to wait for
            super().join(timeout)


def ring_seconds(recording: dict) -> float:
    """How much sound a device keeps: the recording's length plus 10 s (clips reach back
    a second before a test's start)."""
    return float(recording.get("seconds", 120.0)) + 10.0

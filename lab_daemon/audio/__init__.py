"""Device sound in the daemon: the ring that holds it, the thread that fills it, the
exposed methods that measure it.

>>> from lab_daemon.audio import AudioRing, AudioThread
"""

from lab_daemon.audio.capture import AudioThread, ring_seconds
from lab_daemon.audio.ring import FLOOR_DB, STALL_SECS, AudioRing, rms_db

__all__ = ["FLOOR_DB", "STALL_SECS", "AudioRing", "AudioThread", "ring_seconds", "rms_db"]

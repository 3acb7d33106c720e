"""The audio methods of the RPyC service: levels, waits, and raw samples for clips."""

from __future__ import annotations

from lab_daemon.audio.ring import FLOOR_DB, AudioRing
from lab_daemon.audio.waits import WINDOW_SECS, wait_level
from lab_daemon.exposing import ServiceBase, image_reply, number, plain_args, timeout
from pytest_virtualpy.errors import DeviceUnavailable

#: the longest stretch one ``audio_samples`` call returns (a clip asks for its length + 2 s)
MAX_SAMPLES_SECS = 130.0
MAX_LEVEL_SECS = 60.0
#: times are ``time.time()`` on the lab host: anything outside this is a mistake
_TIME_RANGE = (0.0, 1e11)


class AudioMethods(ServiceBase):
    """``audio_level``, ``wait_for_audio``, ``wait_for_silence``, ``audio_samples``."""

    def _audio(self, lease_id: str) -> AudioRing:
        rt = self._rt(lease_id)
        if rt.audio is None:
            raise DeviceUnavailable(
                f'device {rt.device.name!r} has no audio: add audio = {{ kind = "stream" }} '
                '(the sound of its video stream) or audio = { kind = "alsa", device = '
                '"hw:1,0" } to its lab.toml entry, or skip the test on this device'
            )
        return rt.audio

    @plain_args
    def exposed_audio_level(self, lease_id, secs) -> dict:
        """``{"level_db", "time"}``: the RMS level (dBFS) of the last ``secs`` seconds."""
        ring = self._audio(lease_id)
        secs = number(secs, "secs", 0.01, MAX_LEVEL_SECS)
        level = ring.level_db(secs)
        return {"level_db": round(level, 2), "time": ring.latest_time()}

    @plain_args
    def exposed_wait_for_audio(self, lease_id, threshold_db, timeout_secs, window_secs=None):
        """Wait until the level over the last ``window_secs`` (0.1) reaches ``threshold_db``."""
        return self._wait(lease_id, threshold_db, timeout_secs, window_secs, loud=True)

    @plain_args
    def exposed_wait_for_silence(self, lease_id, threshold_db, timeout_secs, window_secs=None):
        """Wait until the level over the last ``window_secs`` (0.1) falls below ``threshold_db``."""
        return self._wait(lease_id, threshold_db, timeout_secs, window_secs, loud=False)

    def _wait(self, lease_id, threshold_db, timeout_secs, window_secs, *, loud: bool) -> dict:
        ring = self._audio(lease_id)
        threshold = number(threshold_db, "threshold_db", FLOOR_DB, 0.0)
        wait = timeout(timeout_secs)
        window = (
            WINDOW_SECS if window_secs is None else number(window_secs, "window_secs", 0.01, 10)
        )
        return wait_level(ring, threshold, wait, loud=loud, window=window)

    @image_reply
    def exposed_audio_samples(self, lease_id, start, end):
        """``({"rate", "start", "samples"}, int16 little-endian mono bytes)`` heard from
        ``start`` to ``end`` (lab-host times), at most 130 s, as far as the ring holds it."""
        ring = self._audio(lease_id)
        start = number(start, "start", *_TIME_RANGE)
        end = number(end, "end", *_TIME_RANGE)
        if not 0 <= end - start <= MAX_SAMPLES_SECS:
            raise ValueError(
                f"audio_samples: end must come after start and at most {MAX_SAMPLES_SECS:g} s "
                f"later (got {end - start:g} s); ask for a long stretch in pieces"
            )
        first, samples = ring.samples(start, end)
        meta = {"rate": ring.rate, "start": first, "samples": len(samples)}
        return meta, samples.astype("<i2").tobytes()

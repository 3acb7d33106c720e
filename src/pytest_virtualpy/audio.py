"""``stb.audio``: listen to the device under test.

The daemon captures the device's sound beside its video, on the same lab-host clock,
and measures it there; only levels and times cross the network. Levels are RMS in dBFS
(0 is a full-scale square wave, a full-scale sine is -3, digital silence -120).

>>> stb.audio.level()                                  # doctest: +SKIP
-19.5
>>> assert stb.audio.wait_for_audio(timeout=5)         # doctest: +SKIP
>>> remote.press("KEY_MUTE")                           # doctest: +SKIP
>>> assert stb.audio.wait_for_silence(timeout=2)       # doctest: +SKIP
>>> assert stb.audio.is_silent()                       # doctest: +SKIP

``stb.audio`` is None when the device has no audio capture: skip such tests with
``if stb.audio is None: pytest.skip("no audio on this bench")``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_virtualpy.errors import AudioTimeout
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.steps import StepLog

#: below this level (dBFS) is silence, unless a call says otherwise
SILENCE_DB = -50.0
#: the waits (and is_silent) judge the sound over this last stretch, in seconds
WINDOW_SECS = 0.1


@dataclass(frozen=True)
class AudioResult:
    """What an audio check found; true when the sound was as asked.

    ``level_db`` is the level measured (dBFS); ``time`` (lab-host clock, like frame
    times and key presses) is when the sound began or stopped for a wait, or the end
    of the measured window for :meth:`Audio.is_silent`.

    >>> r = stb.audio.wait_for_audio(timeout=5)        # doctest: +SKIP
    >>> r.time - press.time                            # doctest: +SKIP
    0.54
    """

    ok: bool
    level_db: float
    time: float | None

    def __bool__(self) -> bool:
        return self.ok


class Audio:
    """The device's sound (``stb.audio``); see the module docstring.

    >>> assert stb.audio.wait_for_audio(timeout=5)        # doctest: +SKIP
    >>> stb.audio.level()                                 # doctest: +SKIP
    -19.5
    """

    def __init__(self, device: DeviceClient, log: StepLog):
        self._device = device
        self._log = log

    def level(self, secs: float = 1.0) -> float:
        """The RMS level (dBFS) of the last ``secs`` seconds (default one second).

        >>> assert stb.audio.level() > -30                 # doctest: +SKIP
        """
        return float(self._device.audio_level(float(secs))["level_db"])

    def is_silent(self, threshold_db: float = SILENCE_DB, secs: float = WINDOW_SECS) -> AudioResult:
        """Whether the last ``secs`` seconds were quieter than ``threshold_db``.

        The window is the waits' (0.1 s), so ``is_silent()`` agrees with a
        :meth:`wait_for_silence` that has just returned; pass ``secs=1`` to ask about
        the last second, as :meth:`level` does.

        >>> assert stb.audio.is_silent(), "the box should be muted"   # doctest: +SKIP
        """
        d = self._device.audio_level(float(secs))
        return AudioResult(d["level_db"] < threshold_db, d["level_db"], d["time"])

    def wait_for_audio(
        self,
        timeout: float = 10.0,
        threshold_db: float = SILENCE_DB,
        window_secs: float = WINDOW_SECS,
    ) -> AudioResult:
        """Wait until the level over the last ``window_secs`` reaches ``threshold_db``.

        Only sound from the call on counts. Returns a true :class:`AudioResult` whose
        ``time`` is when the sound began (to 10 ms); raises :class:`AudioTimeout` (a
        product failure) if it never does within ``timeout`` seconds.

        >>> press = remote.press("KEY_CHANNELUP")          # doctest: +SKIP
        >>> back = stb.audio.wait_for_audio(timeout=5)     # doctest: +SKIP
        """
        return self._wait("wait_for_audio", float(timeout), float(threshold_db), window_secs)

    def wait_for_silence(
        self,
        timeout: float = 10.0,
        threshold_db: float = SILENCE_DB,
        window_secs: float = WINDOW_SECS,
    ) -> AudioResult:
        """Wait until the level over the last ``window_secs`` falls below ``threshold_db``.

        Returns a true :class:`AudioResult` whose ``time`` is when the sound stopped;
        raises :class:`AudioTimeout` if it never does within ``timeout`` seconds.

        >>> remote.press("KEY_MUTE")                       # doctest: +SKIP
        >>> assert stb.audio.wait_for_silence(timeout=2)   # doctest: +SKIP
        """
        return self._wait("wait_for_silence", float(timeout), float(threshold_db), window_secs)

    def _wait(self, what: str, timeout: float, threshold: float, window: float) -> AudioResult:
        with self._log.step("audio", what, threshold_db=threshold) as step:
            call = getattr(self._device, what)
            d = call(threshold, timeout, float(window))
            step.detail["level_db"] = d["level_db"]
            if not d["ok"]:
                wanted = "reached" if what == "wait_for_audio" else "fell below"
                raise AudioTimeout(
                    f"the sound never {wanted} {threshold:g} dBFS within {timeout:g} s "
                    f"(last level {d['level_db']:.1f} dBFS over {window:g} s)",
                    level_db=d["level_db"],
                    threshold_db=threshold,
                    timeout_secs=timeout,
                )
            step.detail["time"] = d["time"]
        return AudioResult(True, d["level_db"], d["time"])

    def __repr__(self) -> str:
        return f"<Audio of {self._device.name}>"

"""Sound from an ALSA capture device (an HDMI capture card's audio), read with PyAV.

``lab.toml``::

    audio = { kind = "alsa", device = "hw:1,0" }                 # see `arecord -l`
    audio = { device = "hw:CARD=MS2109,DEV=0", channels = 2, capture_rate = 48000 }

USB HDMI grabbers expose the HDMI sound as a second USB function, an ALSA capture
device beside the V4L2 video device. It is read with FFmpeg's ``alsa`` input through
PyAV (the PyAV wheel ships it: ``"alsa" in av.formats_available``), mixed to mono and
resampled to ``rate``. The ``alsa`` input stamps each packet with the wall clock
(``time.time()``) when ALSA delivered it, smoothed by a time filter and corrected for the
device's buffer: the same clock as the V4L2 frames' timestamps, so sound and picture
line up to a few milliseconds. Sample times are counted from that stamp and re-anchored
when they fall behind it by more than :data:`DRIFT_SECS` (samples lost) or run ahead.

The PyAV wheel's own ``libasound`` looks for its configuration where it was built
(``/tmp/vendor/share/alsa``); the driver points ``ALSA_CONFIG_PATH`` at the system's
``/usr/share/alsa/alsa.conf`` when that is unset, without which only ``hw:`` names work.

The device is opened once when the daemon starts (a wrong name is a config error naming
the fix); later failures (the grabber unplugged) give silence while the driver reopens it
with back-off, like the video driver.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, ClassVar

import av

from lab_daemon.devices.options import Option
from lab_daemon.devices.stream_audio import QueuedAudio, check_rate
from pytest_virtualpy.errors import ConfigError

log = logging.getLogger(__name__)

SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"
#: the sample count and the device's stamps may part by this much before re-anchoring
DRIFT_SECS = 0.2
#: the reader never runs further ahead of real time than this (a device that delivers
#: faster than real time is held back instead of flooding the queue)
AHEAD_SECS = 0.5


def alsa_available() -> bool:
    """Whether this PyAV build can read ALSA devices."""
    return "alsa" in av.formats_available


class AlsaAudio(QueuedAudio):
    """Sound from an ALSA capture device; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "device": Option(str, required=True, help='the ALSA capture device, e.g. "hw:1,0"'),
        "rate": Option(int, default=48000, help="samples per second kept (8000-48000)"),
        "capture_rate": Option(int, default=48000, help="the rate the device is opened at"),
        "channels": Option(int, default=2, help="channels the device delivers (mixed to mono)"),
        "open_timeout_secs": Option(float, default=5.0, help="longest wait to open it"),
        "reconnect_max_secs": Option(float, default=5.0, help="longest reopen back-off"),
    }

    def __init__(self, device: str, *, name: str = "", **options: Any):
        opts = {k: o.default for k, o in self.OPTIONS.items()} | options | {"device": device}
        super().__init__(int(opts["rate"]), name=name or device)
        self.device = device
        self._opts = opts
        self.reconnects = 0
        self._stop = threading.Event()
        self._first: Any = self._open()  # a wrong device fails here, in the config check
        self._thread = threading.Thread(target=self._run, name=f"alsa-{self.name}", daemon=True)
        self._thread.start()

    @classmethod
    def from_options(cls, opts: dict, device: str) -> AlsaAudio:
        where = f"device {device!r}: audio"
        if not alsa_available():
            raise ConfigError(
                f"{where}: this PyAV build has no ALSA input ('alsa' is not in "
                "av.formats_available); install a PyAV wheel built with ALSA (the PyPI "
                'wheels for Linux are), or take the sound from the video: kind = "stream"'
            )
        check_rate(opts["rate"], where)
        if not 1 <= opts["channels"] <= 8:
            raise ConfigError(f"{where}: 'channels' must be 1 to 8, not {opts['channels']!r}")
        if not 8000 <= opts["capture_rate"] <= 192000:
            raise ConfigError(f"{where}: 'capture_rate' must be 8000 to 192000 Hz")
        os.environ.setdefault("ALSA_CONFIG_PATH", SYSTEM_ALSA_CONF)
        kwargs = {k: v for k, v in opts.items() if k != "device"}
        try:
            return cls(opts["device"], name=device, **kwargs)
        except av.error.FFmpegError as e:
            raise ConfigError(
                f"{where}: cannot open ALSA device {opts['device']!r}: {e}. List the capture "
                'devices with `arecord -l` (card N, device M is "hw:N,M"); the daemon\'s '
                "user must be in the audio group"
            ) from None

    def _open(self):
        o = self._opts
        options = {"sample_rate": str(o["capture_rate"]), "channels": str(o["channels"])}
        return av.open(self.device, format="alsa", options=options, timeout=o["open_timeout_secs"])

    def close(self) -> None:
        self._stop.set()
        super().close()
        if self._thread is not threading.current_thread():
            self._thread.join(self._opts["open_timeout_secs"] + 1.0)

    def _run(self) -> None:
        delay = 0.5
        container = self._first
        while not self._stop.is_set():
            try:
                if container is None:
                    container = self._open()
                self._capture(container)
                reason = "the device stopped delivering sound"
            except Exception as e:  # unplugged, busy, an xrun it cannot recover from
                reason = f"{type(e).__name__}: {e}"
            finally:
                if container is not None:
                    container.close()
                container = None
            if self._stop.is_set():
                break
            self.lost(reason)
            self._stop.wait(delay)
            delay = min(delay * 2, self._opts["reconnect_max_secs"])
            self.reconnects += 1

    def _capture(self, container) -> None:
        stream = container.streams.audio[0]
        anchor: float | None = None  # the time of sample 0 of this session
        count = 0  # samples (at the device's rate) since the anchor
        for packet in container.demux(stream):
            if self._stop.is_set():
                return
            for frame in packet.decode():
                stamp = frame.time
                now = time.time()
                if stamp is None or abs(stamp - now) > 10:  # not a wall-clock stamp
                    stamp = now - frame.samples / frame.sample_rate
                t = None if anchor is None else anchor + count / frame.sample_rate
                # behind the stamps: samples were lost (an overrun); further ahead than
                # holding back explains: the device's clock runs fast. Either way, re-anchor
                if t is None or not stamp - DRIFT_SECS <= t <= stamp + AHEAD_SECS + DRIFT_SECS:
                    anchor, count, t = stamp, 0, stamp
                count += frame.samples
                self.feed(frame, t)
                ahead = t - time.time()
                if ahead > AHEAD_SECS and self._stop.wait(ahead - AHEAD_SECS):
                    return

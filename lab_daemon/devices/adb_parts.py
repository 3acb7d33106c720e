"""Key events and screencap video for an Android device, riding on its ADB link.

``lab.toml``::

    [[devices]]
    name = "android-tv-1"
    adb = { serial = "192.168.1.60:5555" }          # the link: lab_daemon.devices.adb_link
    video = { source = "adb", fps = 5 }               # screencap; or an HDMI capture
    remote = { kind = "adb", keymap = { KEY_NETFLIX = 191 } }
    # video = { source = "adb", format = "png" }      # "raw" (default) is faster

Keys (:class:`AdbKeys`): ``press(key)`` runs ``input keyevent CODE``; the code comes from
``keymap`` (an Android keycode number or a ``KEYCODE_...`` name), over :data:`KEYCODES`.
``input`` starts a Java process on the device: a press takes 0.2-1 s on a real box; the
returned time is when the command was sent. ``press(key, hold_secs=...)`` cannot hold a
key for a given time through ``input``: with ``hold = "longpress"`` (default) it sends
``input keyevent --longpress CODE`` (down, a long-press repeat, up: a long press however
long ``hold_secs`` is); ``hold = "duration"`` sends ``--duration MS`` (Android 13+).

Video (:class:`AdbScreencap`): a thread grabs ``screencap`` (raw RGBA, decoded with numpy
and OpenCV) or ``screencap -p`` (PNG, slower on the device) at most ``fps`` times a second.
A frame's timestamp is ``time.time()`` when its command was sent: the device grabs the
screen after that, so a frame never claims to show anything earlier than it could; the
grab itself lands between that time and the first byte back (``status()["latency"]``).
``width``/``height`` follow the frames. When a grab fails (device gone, timeout, bad
data) ``signal`` goes False, :meth:`AdbScreencap.read` yields black frames at ``fps``
and grabs are retried with back-off (0.5 s doubling to 5 s); each grab is bounded by
``timeout_secs``, so nothing blocks the daemon for longer.
"""

from __future__ import annotations

import collections
import logging
import re
import struct
import threading
import time
from typing import Any, ClassVar

import cv2
import numpy as np

from lab_daemon.devices.adb_link import AdbLink
from lab_daemon.devices.base import KeySender, VideoSource
from lab_daemon.devices.options import Option
from lab_daemon.devices.remote_args import check_hold
from pytest_virtualpy.errors import ConfigError, LabError
from pytest_virtualpy.keys import check_key

log = logging.getLogger(__name__)

MAX_FRAME = 64 << 20  # a screencap's output (4K raw RGBA is 33 MB)

#: our key names -> Android KeyEvent codes
KEYCODES: dict[str, int] = {
    "KEY_UP": 19, "KEY_DOWN": 20, "KEY_LEFT": 21, "KEY_RIGHT": 22, "KEY_OK": 23,
    "KEY_SELECT": 23, "KEY_ENTER": 66, "KEY_BACK": 4, "KEY_EXIT": 111, "KEY_HOME": 3,
    "KEY_MENU": 82, "KEY_SETTINGS": 176, "KEY_INFO": 165, "KEY_GUIDE": 172, "KEY_EPG": 172,
    "KEY_TV": 170, "KEY_SEARCH": 84, "KEY_VOLUMEUP": 24, "KEY_VOLUMEDOWN": 25,
    "KEY_MUTE": 164, "KEY_POWER": 26, "KEY_SLEEP": 223, "KEY_WAKEUP": 224,
    "KEY_CHANNELUP": 166, "KEY_CHANNELDOWN": 167, "KEY_PLAY": 126, "KEY_PAUSE": 127,
    "KEY_PLAYPAUSE": 85, "KEY_STOP": 86, "KEY_FASTFORWARD": 90, "KEY_REWIND": 89,
    "KEY_NEXT": 87, "KEY_PREVIOUS": 88, "KEY_RECORD": 130, "KEY_RED": 183, "KEY_GREEN": 184,
    "KEY_YELLOW": 185, "KEY_BLUE": 186, "KEY_SUBTITLE": 175,
    **{f"KEY_{n}": 7 + n for n in range(10)},
}  # fmt: skip


class AdbKeys(KeySender):
    """Presses keys with ``input keyevent``; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "keymap": Option(dict, default=None, help="our key names -> Android keycodes"),
        "hold": Option(str, default="longpress", help='"longpress" or "duration" (Android 13+)'),
        "timeout_secs": Option(float, default=10.0, help="longest a press may take"),
    }

    def __init__(
        self,
        link: AdbLink,
        keymap: dict[str, int | str] | None = None,
        hold: str = "longpress",
        timeout: float = 10.0,
    ):
        self.link, self.hold, self.timeout = link, hold, timeout
        self.keymap: dict[str, int | str] = {**KEYCODES, **(keymap or {})}

    @classmethod
    def from_options(cls, opts: dict, device: str, adb: AdbLink) -> AdbKeys:
        where = f"device {device!r}: remote"
        for ours, code in (opts["keymap"] or {}).items():
            ok = (isinstance(code, int) and not isinstance(code, bool) and 0 <= code < 1000) or (
                isinstance(code, str) and re.fullmatch(r"KEYCODE_[A-Z0-9_]+", code)
            )
            if not ok:
                raise ConfigError(
                    f"{where}: keymap: {ours!r} must be an Android keycode (a number such as "
                    f'23, or a name such as "KEYCODE_DPAD_CENTER"), not {code!r}'
                )
        if opts["hold"] not in ("longpress", "duration"):
            raise ConfigError(f'{where}: \'hold\' must be "longpress" or "duration"')
        return cls(adb, opts["keymap"], opts["hold"], opts["timeout_secs"])

    def keys(self) -> list[str]:
        return sorted(self.keymap)

    def press(self, key: str, hold_secs: float | None = None) -> float:
        check_hold(hold_secs, max_secs=600)
        check_key(key, self.keys())
        code = self.keymap[key]
        if not hold_secs:
            command = f"input keyevent {code}"
        elif self.hold == "duration":
            command = f"input keyevent --duration {round(hold_secs * 1000)} {code}"
        else:
            command = f"input keyevent --longpress {code}"
        sent = time.time()
        status, out = self.link.shell(command, self.timeout + (hold_secs or 0))
        if status != 0:
            said = out.decode("utf-8", "replace").strip()[-300:]
            raise LabError(
                f"remote of {self.link.device!r}: `{command}` failed with status {status}"
                + (f": {said}" if said else "")
            )
        return sent


class AdbScreencap(VideoSource):
    """Frames from ``screencap`` on the device; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "source": Option(str, default="adb", help='"adb": the device\'s own screen'),
        "fps": Option(float, default=5.0, help="nominal rate: at most this many grabs a second"),
        "format": Option(str, default="raw", help='"raw" (fast) or "png"'),
        "timeout_secs": Option(float, default=10.0, help="longest one grab may take"),
    }

    def __init__(
        self,
        link: AdbLink,
        fps: float = 5.0,
        fmt: str = "raw",
        timeout: float = 10.0,
        backoff: tuple[float, float] = (0.5, 5.0),
    ):
        self.link, self.fps, self.format, self.timeout = link, fps, fmt, timeout
        self.width, self.height = 1920, 1080  # until the first frame
        self.signal = False
        self.last_error: str | None = None
        self.frames, self.failures, self.latency = 0, 0, None
        self._backoff = backoff
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[np.ndarray, float]] = collections.deque(maxlen=2)
        self._black_due = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"adb-{link.device}", daemon=True)
        self._thread.start()

    @classmethod
    def from_options(cls, opts: dict, device: str, adb: AdbLink) -> AdbScreencap:
        where = f"device {device!r}: video"
        if opts["source"] != "adb":
            raise ConfigError(f'{where}: kind adb takes source = "adb", not {opts["source"]!r}')
        if opts["format"] not in ("raw", "png"):
            raise ConfigError(f'{where}: \'format\' must be "raw" or "png"')
        if not 0 < opts["fps"] <= 60 or opts["timeout_secs"] <= 0:
            raise ConfigError(f"{where}: 'fps' must be in (0, 60] and 'timeout_secs' positive")
        return cls(adb, opts["fps"], opts["format"], opts["timeout_secs"])

    def read(self) -> tuple[np.ndarray, float]:
        with self._cond:
            while True:
                if self._queue:
                    return self._queue.popleft()
                now = time.time()
                if not self.signal:
                    if now >= self._black_due:
                        self._black_due = max(self._black_due + 1.0 / self.fps, now)
                        return np.zeros((self.height, self.width, 3), np.uint8), now
                    self._cond.wait(self._black_due - now)
                else:
                    self._cond.wait(0.25)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(self.timeout + 1.0)
        with self._cond:
            self.signal = False
            self._cond.notify_all()

    def status(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames": self.frames,
            "failures": self.failures,
            "latency": self.latency,
            "last_error": self.last_error,
        }

    def grab(self) -> tuple[np.ndarray, float]:
        """One screenshot, BGR, and the time its command was sent."""
        t = time.time()
        command = "screencap -p" if self.format == "png" else "screencap"
        status, data, err, total = self.link.run(command, self.timeout, MAX_FRAME)
        if status != 0 or total > len(data):
            said = err.decode("utf-8", "replace").strip()[-200:]
            raise ValueError(f"`{command}` failed (status {status}, {total} bytes) {said}")
        return (decode_png(data) if self.format == "png" else decode_raw(data)), t

    def _run(self) -> None:
        delay, due = self._backoff[0], time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due = time.monotonic() + 1.0 / self.fps
            try:
                image, t = self.grab()
            except Exception as e:  # any failure is a lost signal, never a dead thread
                self._lost(f"{type(e).__name__}: {e}")
                due = time.monotonic() + delay
                delay = min(delay * 2, self._backoff[1])
                continue
            delay = self._backoff[0]
            with self._cond:
                if not self.signal:
                    log.info("video %s: signal (%dx%d)", self.link.device, *image.shape[1::-1])
                self.signal, self.last_error = True, None
                self.height, self.width = image.shape[:2]
                self.latency = round(time.time() - t, 3)
                self._queue.append((image, t))
                self.frames += 1
                self._cond.notify_all()

    def _lost(self, reason: str) -> None:
        self.failures += 1
        with self._cond:
            was, self.signal, self.last_error = self.signal, False, reason
            if was:
                self._black_due = time.time()
            self._cond.notify_all()
        (log.warning if was else log.debug)("video %s: no signal: %s", self.link.device, reason)


_BPP = {1: 4, 2: 4, 3: 3, 5: 4}  # RGBA_8888, RGBX_8888, RGB_888, BGRA_8888
_TO_BGR = {
    1: cv2.COLOR_RGBA2BGR,
    2: cv2.COLOR_RGBA2BGR,
    3: cv2.COLOR_RGB2BGR,
    5: cv2.COLOR_BGRA2BGR,
}


def decode_raw(data: bytes | bytearray) -> np.ndarray:
    """A raw ``screencap``: width, height, format (and, Android 9+, colour space), pixels."""
    if len(data) < 12:
        raise ValueError(f"raw screencap too short ({len(data)} bytes)")
    width, height, fmt = struct.unpack_from("<3I", data)
    if fmt not in _BPP:
        raise ValueError(f"raw screencap pixel format {fmt} is not supported; use format = png")
    size = width * height * _BPP[fmt]
    header = len(data) - size
    if header not in (12, 16) or not width or not height:
        raise ValueError(f"raw screencap of {width}x{height} has {len(data)} bytes")
    pixels = np.frombuffer(data, np.uint8, size, header).reshape(height, width, _BPP[fmt])
    return cv2.cvtColor(pixels, _TO_BGR[fmt])


def decode_png(data: bytes | bytearray) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"screencap -p gave {len(data)} bytes that are not a PNG")
    return image

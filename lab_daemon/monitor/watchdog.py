"""The watchdog of one device: every ``interval_secs``, is anything wrong with it?

A look costs a small fraction of a millisecond at 720p (``bench/monitor.py`` prints it): the
newest frame from the ring, shrunk to 160x90, checked with the pure
:mod:`pytest_virtualpy.vision` functions; the capture's frame counter; the source's
``signal`` flag; the sound level over the last second. Nothing waits on the capture.

What each look can find, in order of precedence (see :data:`KINDS`):

``capture_stalled``
    the daemon's own capture got no new frame for ``stall_secs``, or its thread died;
``no_signal``
    the video source reports no signal (a box switched off, an unplugged cable);
``black``
    the picture has been black for ``black_secs``;
``frozen``
    the picture has not changed beyond noise (the rule of ``vision.is_frozen``) for
    ``freeze_secs``;
``silence``
    the sound stayed below ``silence_db`` dBFS for ``silence_secs`` (devices with audio).

One cause gives one incident: a device has at most one open incident. A stall or no
signal leaves nothing else to judge (the picture and the sound of a box with no signal
are black, unchanging and silent), and a black picture is not also reported as
frozen. When a graver kind becomes due while another is open, the open one ends
("superseded by ...") and the graver one opens: a silent box that then also freezes.
When the graver one ends and the lesser condition still holds, its new incident starts
at that end, not when the condition began: the time before is already recorded (by the
superseded incident and the graver one), and no period is reported twice.
A threshold of 0 turns its kind off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2

from lab_daemon.monitor.incidents import Incident, IncidentLog
from pytest_virtualpy.errors import LabError
from pytest_virtualpy.vision import is_black
from pytest_virtualpy.vision._diff import Differ

log = logging.getLogger(__name__)

#: the incident kinds, most fundamental cause first
KINDS = ("capture_stalled", "no_signal", "black", "frozen", "silence")
#: each kind's threshold key in [lab.monitor]
THRESHOLDS = {
    "capture_stalled": "stall_secs",
    "no_signal": "nosignal_secs",
    "black": "black_secs",
    "frozen": "freeze_secs",
    "silence": "silence_secs",
}
SMALL = (160, 90)  # the size a frame is looked at: enough to tell black and change


class Watchdog(threading.Thread):
    """Looks at one device every ``interval_secs`` and records what it finds in ``log``.

    ``rt`` is the device's :class:`~lab_daemon.host.DeviceRuntime` (its ``audio``, if
    it has one, offers ``level_db(secs)``); ``test_of()`` names the test running on the
    device now, or None.

    >>> dog = Watchdog(rt, incidents, lab_options.defaults("monitor"))
    >>> dog.start(); ...; dog.stop(); dog.join(2)
    """

    def __init__(
        self,
        rt: Any,
        log: IncidentLog,
        options: dict,
        test_of: Callable[[], str | None] = lambda: None,
    ):
        super().__init__(name=f"monitor-{rt.device.name}", daemon=True)
        self.rt = rt
        self.log = log
        self.options = options
        self.test_of = test_of
        self.looks = 0
        self.busy_secs = 0.0  # wall time spent looking
        self.cpu_secs = 0.0  # this thread's CPU time spent looking (for bench/monitor.py)
        self._stop_event = threading.Event()
        self._differ = Differ()
        self._ref: Any = None  # the 160x90 thumbnail of the first frame of the unchanged period
        self._ref_at: tuple[float, float] | None = None  # (wall, monotonic) of _ref
        self._frames = -1
        self._progress = (time.time(), time.monotonic())  # when the last new frame came
        self._since: dict[str, tuple[float, float]] = {}
        self.current: Incident | None = None
        self._last: Incident | None = None  # the last incident ended

    def _threshold(self, kind: str) -> float:
        return float(self.options.get(THRESHOLDS[kind], 0.0) or 0.0)

    # --- the thread --------------------------------------------------------------------

    def run(self) -> None:
        interval = float(self.options["interval_secs"])
        self._progress = (time.time(), time.monotonic())
        while not self._stop_event.wait(interval):
            try:
                self.look()
            except Exception:  # a bug here must not end the watching
                log.exception("monitor of %s failed", self.rt.device.name)

    def stop(self) -> None:
        self._stop_event.set()

    # --- one look ----------------------------------------------------------------------

    def look(self, wall: float | None = None, mono: float | None = None) -> list[str]:
        """Look once; open or end incidents. Returns the conditions holding now."""
        t0, c0 = time.perf_counter(), time.thread_time()
        wall = time.time() if wall is None else wall
        mono = time.monotonic() if mono is None else mono
        holding = self._conditions(wall, mono)
        for kind in KINDS:  # a condition's start is kept while it holds, forgotten after
            if kind in holding:
                self._since.setdefault(kind, holding[kind] or (wall, mono))
            else:
                self._since.pop(kind, None)
        self._update(holding, wall, mono)
        self.looks += 1
        self.busy_secs += time.perf_counter() - t0
        self.cpu_secs += time.thread_time() - c0
        return list(holding)

    def _conditions(self, wall: float, mono: float) -> dict[str, Any]:
        """The conditions holding now, each with when it began if known (else None).

        A stall or no signal leaves nothing to judge the picture or the sound by: they
        are the only condition then. A black picture is also an unchanging one: black
        alone is reported.
        """
        rt = self.rt
        frames = rt.capture.frames_captured
        if frames != self._frames:
            self._frames, self._progress = frames, (wall, mono)
        if self._threshold("capture_stalled"):
            if not rt.capture.is_alive():
                return {"capture_stalled": None}
            if mono - self._progress[1] >= self._threshold("capture_stalled"):
                return {"capture_stalled": self._progress}
        if self._threshold("no_signal") and not getattr(rt.device.video, "signal", True):
            self._ref = None
            return {"no_signal": None}
        holding = self._picture(wall, mono)
        audio = getattr(rt, "audio", None)
        if audio is not None and self._threshold("silence"):
            try:
                level = audio.level_db(1.0)
            except LabError:  # no sound arrives at all (or not yet): silent too
                level = float("-inf")
            if level < float(self.options["silence_db"]):
                holding["silence"] = None
        return holding

    def _picture(self, wall: float, mono: float) -> dict[str, Any]:
        try:
            frame = self.rt.ring.latest(timeout=0)
        except Exception:  # no frame yet: the stall check covers a capture that never starts
            return {}
        # INTER_LINEAR reads 2x2 pixels per output pixel: 1/16 of a 720p frame, ~0.03 ms;
        # INTER_AREA would read them all and cost 0.8 ms for the same verdicts
        small = cv2.resize(frame, SMALL, interpolation=cv2.INTER_LINEAR)
        if self._threshold("black") and is_black(small):
            self._ref = None
            return {"black": None}
        if not self._threshold("frozen"):
            return {}
        gray = self._differ.prepare(small)
        if self._ref is None or self._ref.shape != gray.shape:
            self._ref, self._ref_at = gray, (wall, mono)
            return {}
        if self._differ.compare(self._ref, gray).changed:
            self._ref, self._ref_at = gray, (wall, mono)
            return {}
        return {"frozen": self._ref_at}

    def _due(self, kind: str, mono: float) -> bool:
        """Whether ``kind`` has held for its threshold."""
        # the picture is only known up to the last new frame: a capture that stalls on a
        # black or still picture is a stall, not a black screen or a freeze
        seen = self._progress[1] if kind in ("black", "frozen") else mono
        return seen - self._since[kind][1] >= self._threshold(kind)

    def _update(self, holding: dict[str, Any], wall: float, mono: float) -> None:
        """End the open incident if its condition is gone or a graver one is due; open
        the gravest due one if none is open."""
        due = [k for k in KINDS if k in holding and self._due(k, mono)]
        current = self.current
        if current is not None:
            graver = [k for k in due if KINDS.index(k) < KINDS.index(current.kind)]
            if current.kind in holding and not graver:
                return
            self.log.close(current, wall, f"superseded by {graver[0]}" if graver else None)
            self.current, self._last = None, current
        if due:
            kind = due[0]
            start = self._since[kind][0]
            last = self._last
            if last is not None and last.end is not None and not self._graver(kind, last.kind):
                # a condition that held under a graver incident (or the one it superseded)
                # starts anew when that ends: the time before is recorded already
                start = max(start, last.end)
            self.current = self.log.open(
                self.rt.device.name, kind, start, self._message(kind), self._test()
            )

    @staticmethod
    def _graver(kind: str, than: str) -> bool:
        return KINDS.index(kind) < KINDS.index(than)

    def _test(self) -> str | None:
        try:
            return self.test_of()
        except Exception:
            return None

    def _message(self, kind: str) -> str:
        o = self.options
        if kind == "capture_stalled":
            if not self.rt.capture.is_alive():
                return "the daemon's capture thread is not running"
            return f"no new frame captured for {o['stall_secs']:g} s: the capture is stalled"
        return {
            "no_signal": "the video source reports no signal",
            "black": f"black screen for {o['black_secs']:g} s",
            "frozen": f"picture unchanged for {o['freeze_secs']:g} s",
            "silence": f"sound below {o['silence_db']:g} dBFS for {o['silence_secs']:g} s",
        }[kind]

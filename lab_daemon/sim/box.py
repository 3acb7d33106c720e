"""SimulatedBox: the public face of the simulated set-top box.

The lab daemon's capture thread calls :meth:`SimulatedBox.render` at the box's frame
rate; RPyC threads call :meth:`press_key`, the power methods and :meth:`inject`. One
lock serialises them. Key presses are queued with the time their effect is due
(receive time + input latency) and applied, in time order, the next time anything
advances the box to that time -- so behaviour depends only on the times given, never
on thread scheduling, which makes runs reproducible.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import faults as _faults
from .channels import CHANNELS, Schedule
from .console import SerialConsole, boot_log
from .groundtruth import GroundTruth
from .keys import KEYS, validate_key
from .layout import Layout
from .render import Renderer
from .screens import Screens
from .sound import RATE, SoundTrack, sound_of
from .state import UIState
from .video import VideoSource


class SimulatedBox:
    """A simulated set-top box with HDMI-like frames and sound, an IR-like key input, a
    serial console on a pty, a smart-plug power switch, injectable faults and a ground-truth
    log of what every key press did and when it became visible."""

    def __init__(
        self,
        name: str = "sim-0",
        *,
        width: int = 1280,
        height: int = 720,
        fps: float = 60.0,
        seed: int = 0,
        input_latency_ms: float = 40.0,
        zap_ms: float = 500.0,
        boot_secs: float = 3.0,
        firmware_version: str = "4.2.1",
        model: str = "VPY-STB-1",
        powered: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if width < 320 or height < 180:
            raise ValueError(f"frame size {width}x{height} is too small (min 320x180)")
        if not 1 <= fps <= 240:
            raise ValueError(f"fps must be 1..240, got {fps}")
        self.name = name
        self.model = model
        self.firmware_version = firmware_version
        self.width = int(width)
        self.height = int(height)
        self.fps = float(fps)
        self.seed = seed
        self.input_latency_ms = float(input_latency_ms)
        self.zap_ms = float(zap_ms)
        self.boot_secs = float(boot_secs)
        self._clock = clock
        self._lock = threading.RLock()
        self._rng = random.Random(f"keys-{seed}")
        self._popup_rng = random.Random(f"popup-{seed}")
        serial_rng = random.Random(f"serial-{seed}")
        self.serial_number = "VPY" + "".join(
            serial_rng.choice("0123456789ABCDEF") for _ in range(9)
        )
        self._schedule = Schedule(seed)
        self._layout = Layout(self.width, self.height)
        self._screens = Screens(
            self._layout,
            self._schedule,
            firmware_version=firmware_version,
            model=model,
            serial_number=self.serial_number,
            name=name,
        )
        self._video = VideoSource(seed)
        self._renderer = Renderer(
            self._layout, self._screens, self._video, self._schedule, self.fps
        )
        self._state = UIState(
            self._layout,
            self._schedule,
            zap_secs=self.zap_ms / 1000.0,
            boot_secs=self.boot_secs,
            on_boot=self._on_boot,
        )
        self._console = SerialConsole(self._command, boot_log(firmware_version, model, name))
        self._faults = _faults.FaultSet()
        self._truth = GroundTruth()
        self._pending: list[tuple[float, int, str, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._t = -math.inf  # state processed up to this time
        self._last_out: np.ndarray | None = None
        self._want_power = bool(powered)
        self._started = False
        #: samples per second of :meth:`sound`
        self.audio_rate = RATE
        self._sound = SoundTrack(RATE)
        self._warm: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Open the serial console and, if powered, begin booting (straight to home
        when ``boot_secs`` is 0). Also pre-builds channel pictures in the background."""
        with self._lock:
            if self._started:
                return
            self._started = True
            self._console.start()
            if self._want_power:
                now = self._clock()
                self._advance(now)
                self._state.power_on(now)
                self._sound_changed(self._t)
        self._warm = threading.Thread(target=self._prewarm, name="sim-prewarm", daemon=True)
        self._warm.start()

    def stop(self) -> None:
        """Stop the console thread and close the pty."""
        self._console.stop()
        with self._lock:
            self._started = False

    def __enter__(self) -> SimulatedBox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _prewarm(self) -> None:
        p = self._layout.home_preview
        for i in range(len(CHANNELS)):
            if not self._started:
                return
            self._video.picture(i, self.width, self.height)
            self._video.picture(i, p[2] - p[0], p[3] - p[1])

    # --- time ---------------------------------------------------------------------------

    def _advance(self, t: float) -> None:
        """Apply queued key effects and timers due at or before ``t``, in time order."""
        if t < self._t:
            t = self._t
        while self._pending and self._pending[0][0] <= t:
            effect, _, key, ev = heapq.heappop(self._pending)
            effect = max(effect, self._t)
            self._timers(effect)
            self._t = effect
            modal = self._state.popup  # a key a dialog swallows (or BACK) opens no other
            settle = self._state.handle_key(key, effect)
            if not modal and self._popup_due():
                settle = effect if settle is None else settle
            self._sound_changed(effect)
            self._truth.applied(ev, effect, settle, self._state.screen)
        self._timers(t)
        self._t = t

    def _popup_due(self) -> bool:
        """Whether the standing "popup" fault opens a dialog after this key (and it did)."""
        p = self._faults.param("popup", "probability")
        if p <= 0 or self._popup_rng.random() >= p:
            return False
        return self._state.open_popup()

    def _timers(self, t: float) -> None:
        """Fire the state's timers due by ``t`` one at a time, noting the sound at each."""
        st = self._state
        while (due := min(st.boot_end, st.digit_deadline)) <= t:
            st.advance(due)
            self._sound_changed(due)
        st.advance(t)

    def _sound_changed(self, t: float) -> None:
        """Note what the box plays from ``t`` on (called after every change of state)."""
        st = self._state
        self._sound.note(
            t,
            sound_of(
                powered=st.powered,
                screen=st.screen,
                channel=st.channel,
                volume=st.volume,
                muted=st.muted or self._faults.active("mute"),
                zap_until=st.zap_until,
            ),
        )

    def _on_boot(self, t: float) -> None:
        self._console.booting(self.boot_secs)

    # --- video ----------------------------------------------------------------------------

    def render(self, t: float) -> np.ndarray:
        """The frame (H x W x 3 BGR uint8, read-only) visible at capture time ``t``.

        Returns the very same array as last time when nothing visible changed.
        """
        with self._lock:
            self._advance(t)
            if self._faults.active("black"):
                out, true_state = self._screens.black, False
            elif self._faults.active("freeze") and self._last_out is not None:
                out, true_state = self._last_out, False
            else:
                out, true_state = self._renderer.frame(self._state, t), True
            last = self._last_out
            changed = last is not None and out is not last
            if changed and self._truth.waiting_first_change(t):
                changed = not np.array_equal(out, last)
            self._truth.on_frame(t, changed, true_state)
            self._last_out = out
            return out

    # --- sound ----------------------------------------------------------------------------

    def sound(self, first: int, count: int) -> np.ndarray:
        """Samples ``first`` .. ``first + count - 1`` of the box's sound (int16 mono at
        :attr:`audio_rate`; sample ``k`` is heard at time ``k / audio_rate``). Ask in time
        order, for samples that have already happened (see :mod:`lab_daemon.sim.sound`)."""
        with self._lock:
            self._advance((first + count) / self.audio_rate)
            return self._sound.render(first, count)

    # --- keys -----------------------------------------------------------------------------

    def press_key(self, key: str, t: float | None = None, lease: str | None = None) -> None:
        """Receive ``key`` at time ``t`` (default: now); it takes effect after the input
        latency (plus the "slow" fault's). Raises UnknownKeyError for unknown names.
        ``lease`` (the daemon's lease the press came under) goes into its ground truth."""
        validate_key(key)
        with self._lock:
            received = self._clock() if t is None else float(t)
            dropped = False
            if self._faults.active("drop_keys"):
                dropped = self._rng.random() < self._faults.param("drop_keys", "probability")
            ev = self._truth.record(key, received, dropped, self._screen_at(received), lease)
            if dropped:
                return
            latency = self.input_latency_ms + self._faults.param("slow", "latency_ms")
            effect = received + latency / 1000.0
            heapq.heappush(self._pending, (effect, next(self._seq), key, ev))

    def _screen_at(self, t: float) -> str:
        if t >= self._t:
            self._advance(t)
        return self._state.screen

    def keys(self) -> list[str]:
        """Every key name the box accepts."""
        return list(KEYS)

    # --- power ----------------------------------------------------------------------------

    def power_on(self) -> None:
        """Mains power on (smart plug): the box boots."""
        with self._lock:
            self._want_power = True
            now = self._clock()
            self._advance(now)
            self._state.power_on(now)
            self._sound_changed(self._t)

    def power_off(self) -> None:
        """Mains power off: no HDMI signal, console silent, queued keys lost."""
        with self._lock:
            self._want_power = False
            now = self._clock()
            self._advance(now)
            for _, _, _, ev in self._pending:
                ev["screen_after"] = "off"
            self._pending.clear()
            self._state.power_off(now)
            self._sound_changed(self._t)
            self._console.powered_off()

    def power_cycle(self) -> None:
        """Power off then on again: a full boot."""
        with self._lock:
            self.power_off()
            self.power_on()

    @property
    def powered(self) -> bool:
        """Whether mains power is on."""
        with self._lock:
            return self._state.powered

    @property
    def screen(self) -> str:
        """The current UI screen name (state as of ``clock()``)."""
        with self._lock:
            self._advance(self._clock())
            return self._state.screen

    @property
    def popup(self) -> bool:
        """Whether a popup dialog (the "popup" fault) covers the screen now."""
        with self._lock:
            self._advance(self._clock())
            return self._state.popup

    @property
    def serial_path(self) -> str:
        """Path of the pty slave the daemon opens with pyserial ("" before start())."""
        return self._console.path

    # --- faults ---------------------------------------------------------------------------

    def inject(self, fault: str, **params: Any) -> None:
        """Inject ``fault`` ("freeze", "black", "drop_keys", "slow", "mute", "popup", or the
        one-shot "reboot"); ValueError for an unknown fault or bad parameters.

        ``popup`` with ``probability=0`` opens one dialog now (a ValueError if the box is
        not on a UI screen); with ``probability=p`` it stands: each key press may open one.
        """
        values = _faults.validate(fault, params)
        with self._lock:
            if fault == "popup" and values["probability"] == 0:
                self._advance(self._clock())
                if not self._state.open_popup():
                    raise ValueError(
                        f"a popup opens over a UI screen; the box shows {self._state.screen!r} "
                        "(power it on and let it boot first)"
                    )
                return
            if fault in _faults.ONE_SHOT:
                now = self._clock()
                self._advance(now)
                self._state.boot(now)
                self._sound_changed(self._t)
                return
            self._advance(self._clock())
            self._faults.set(fault, values)
            self._sound_changed(self._t)

    def clear(self) -> None:
        """Remove all standing faults and close an open popup dialog."""
        with self._lock:
            self._advance(self._clock())
            self._faults.clear()
            self._state.popup = False
            self._sound_changed(self._t)

    def faults(self) -> dict[str, dict]:
        """The active standing faults and their parameters."""
        with self._lock:
            return self._faults.snapshot()

    # --- ground truth -----------------------------------------------------------------------

    def events(self) -> list[dict]:
        """Ground truth for every key press, oldest first (copies, JSON-able)."""
        with self._lock:
            return self._truth.events()

    # --- extras ----------------------------------------------------------------------------

    @property
    def channel(self) -> int:
        """The number of the channel currently tuned (e.g. 101)."""
        with self._lock:
            return CHANNELS[self._state.channel].number

    @property
    def muted(self) -> bool:
        """Whether the box is muted (``KEY_MUTE``; the "mute" fault is not counted)."""
        with self._lock:
            return self._state.muted

    @property
    def volume(self) -> int:
        """The volume level 0..100."""
        with self._lock:
            return self._state.volume

    def about_lines(self) -> list[str]:
        """The text lines the about page shows, top to bottom."""
        return self._screens.about_lines()

    def channel_list(self) -> list[tuple[int, str]]:
        """The channel line-up as (number, name)."""
        return [(c.number, c.name) for c in CHANNELS]

    def _command(self, line: str) -> str | None:
        """Run one serial-console command line; return its output."""
        if not line:
            return None
        cmd = line.split()[0]
        if cmd == "help":
            return "commands: help, version, uptime, status, reboot"
        if cmd == "version":
            return f"virtualpy STB firmware {self.firmware_version} (model {self.model})"
        with self._lock:
            now = self._clock()
            self._advance(now)
            if cmd == "uptime":
                return f"up {self._state.uptime(now):.1f} s"
            if cmd == "status":
                ch = CHANNELS[self._state.channel]
                return (
                    f"screen={self._state.screen} channel={ch.number} "
                    f"volume={self._state.volume}{' muted' if self._state.muted else ''}"
                )
            if cmd == "reboot":
                self._state.boot(now)
                self._sound_changed(self._t)
                return "Rebooting..."
        return f"sh: {cmd}: not found"

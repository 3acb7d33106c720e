"""Composes the frame visible at time t from the UI state.

Each call computes a small hashable key describing everything visible; if it equals
the previous key the previous (read-only) array is returned as is, so static screens
cost next to nothing. Otherwise a cached layer is copied and only the moving parts
(video, preview, focus highlight, boot bar) and cached overlay patches are drawn.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .channels import Schedule
from .drawing import ACCENT_BGR
from .layout import Layout
from .screens import Screens, clock_text, paste
from .state import BOOT_BLACK_FRACTION, PAGE_TITLES, UIState
from .video import VideoSource

_STATIC = frozenset({"settings", "about", "guide", *PAGE_TITLES})
POPUP_DIM = 0.35  # the screen behind a modal dialog, dimmed to this brightness


class Renderer:
    """Turns (state, t) into frames, reusing the last frame when nothing changed."""

    def __init__(
        self, layout: Layout, screens: Screens, video: VideoSource, schedule: Schedule, fps: float
    ) -> None:
        self.L = layout
        self.screens = screens
        self.video = video
        self.schedule = schedule
        self.fps = fps
        self._last_key: tuple | None = None
        self._last: np.ndarray | None = None

    def _overlays(self, st: UIState, t: float) -> tuple[tuple, ...]:
        out: list[tuple] = []
        if st.screen == "live_tv":
            if st.zap_until <= t < st.banner_until:
                out.append(("banner", st.channel, self.schedule.slot_of(t)))
            if st.digits:
                out.append(("digits", st.digits))
            if t < st.message_until:
                out.append(("message", st.message))
        if t < st.volume_until:
            out.append(("volume", st.volume, st.muted))
        return tuple(out)

    def _patch(self, spec: tuple) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        kind = spec[0]
        s = self.screens
        if kind == "banner":
            return s.banner(spec[1], spec[2]), self.L.banner
        if kind == "digits":
            return s.digits(spec[1]), self.L.digits
        if kind == "message":
            return s.message(spec[1]), self.L.message
        return s.volume(spec[1], spec[2]), self.L.volume

    def frame(self, st: UIState, t: float) -> np.ndarray:
        """The read-only frame for state ``st`` at time ``t``."""
        key, build = self._plan(st, t)
        if st.popup:
            key, build = ("popup", key), self._under_popup(build)
        if key == self._last_key and self._last is not None:
            return self._last
        out = build()
        out.flags.writeable = False
        self._last_key, self._last = key, out
        return out

    def _plan(self, st: UIState, t: float):
        s = st.screen
        tick = math.floor(t * self.fps + 1e-6)
        tq = tick / self.fps
        if s == "off":
            return ("off",), self.screens.no_signal
        if s == "standby":
            return ("black",), lambda: self.screens.black
        if s == "boot":
            span = max(1e-9, st.boot_end - st.boot_t0)
            p = (t - st.boot_t0) / span
            if p < BOOT_BLACK_FRACTION:
                return ("black",), lambda: self.screens.black
            x0, y0, x1, y1 = self.L.boot_bar
            fill = x0 + round(
                (x1 - x0) * min(1.0, (p - BOOT_BLACK_FRACTION) / (1 - BOOT_BLACK_FRACTION))
            )

            def boot() -> np.ndarray:
                out = self.screens.boot_logo().copy()
                if fill > x0:
                    out[y0:y1, x0:fill] = ACCENT_BGR
                return out

            return ("boot", fill), boot
        overlays = self._overlays(st, t)
        if s == "live_tv":
            if t < st.zap_until:
                key = ("zap", overlays)
                if not overlays:
                    return key, lambda: self.screens.black
                return key, lambda: self._with(self.screens.black.copy(), None, overlays)

            def live() -> np.ndarray:
                out = np.empty((self.L.height, self.L.width, 3), np.uint8)
                self.video.picture(st.channel, self.L.width, self.L.height).draw(out, tq)
                return self._with(out, None, overlays)

            return ("live", st.channel, tick, overlays), live
        clock = clock_text(t)
        rect, _moving = st.focus_at(t)
        if s == "home":
            slot = self.schedule.slot_of(t)

            def home() -> np.ndarray:
                out = self.screens.home(st.channel, slot, clock).copy()
                p0, p1, p2, p3 = self.L.home_preview
                pic = self.video.picture(st.channel, p2 - p0, p3 - p1)
                buf = np.empty((p3 - p1, p2 - p0, 3), np.uint8)
                pic.draw(buf, tq)
                out[p1:p3, p0:p2] = buf
                return self._with(out, rect, overlays)

            return ("home", st.channel, slot, clock, tick, rect, overlays), home
        if s in _STATIC:
            if s == "guide":
                layer = ("guide", st.guide_top, st.guide_slot0)
            elif s == "about":
                layer = ("about",)
            elif s == "settings":
                layer = ("settings",)
            else:
                layer = ("page", PAGE_TITLES[s])

            def static() -> np.ndarray:
                if layer[0] == "guide":
                    base = self.screens.guide(layer[1], layer[2], clock)
                elif layer[0] == "about":
                    base = self.screens.about(clock)
                elif layer[0] == "settings":
                    base = self.screens.settings(clock)
                else:
                    base = self.screens.page(layer[1], clock)
                if rect is None and not overlays:
                    return base
                return self._with(base.copy(), rect, overlays)

            return (layer, clock, rect, overlays), static
        return ("black",), lambda: self.screens.black  # unknown screen: fail safe

    def _under_popup(self, build):
        """``build``'s frame dimmed, with the modal dialog on top."""

        def popup() -> np.ndarray:
            out = cv2.convertScaleAbs(build(), alpha=POPUP_DIM)
            paste(out, self.screens.popup(), self.L.popup)
            return out

        return popup

    def _with(
        self, out: np.ndarray, rect: tuple[int, int, int, int] | None, overlays: tuple[tuple, ...]
    ) -> np.ndarray:
        if rect is not None:
            th = self.L.focus_thickness
            x0, y0, x1, y1 = rect
            cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), ACCENT_BGR, th, cv2.LINE_8)
        for spec in overlays:
            patch, r = self._patch(spec)
            paste(out, patch, r)
        return out

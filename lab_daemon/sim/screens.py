"""Static layers and overlay patches, each drawn once with Pillow and cached.

Everything returned here is a read-only BGR array. The renderer copies a layer and
pastes patches and the moving parts on top; nothing here runs per frame unless its
cache key changes (e.g. the clock minute, the channel, the guide's scroll position).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from .channels import CHANNELS, Schedule
from .drawing import ACCENT, BG, GREY, PANEL, TILE, WHITE, Canvas, fit_size
from .layout import GUIDE_COLS, GUIDE_ROWS, HOME_TILES, SETTINGS_ITEMS, Layout


def clock_text(t: float) -> str:
    """The title-bar clock for box time ``t``."""
    return time.strftime("%H:%M", time.localtime(t))


class Screens:
    """Builds and caches the layers for one frame size."""

    def __init__(
        self,
        layout: Layout,
        schedule: Schedule,
        *,
        firmware_version: str,
        model: str,
        serial_number: str,
        name: str,
    ) -> None:
        self.L = layout
        self.w, self.h = layout.width, layout.height
        self.k = layout.height / 720  # font scale
        self.schedule = schedule
        self.firmware_version = firmware_version
        self.model = model
        self.serial_number = serial_number
        self.name = name
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        black = np.zeros((self.h, self.w, 3), np.uint8)
        black.flags.writeable = False
        self.black = black

    def _cached(self, key: tuple, build: Callable[[], np.ndarray], limit: int = 24) -> np.ndarray:
        arr = self._cache.get(key)
        if arr is None:
            arr = build()
            self._cache[key] = arr
            while len(self._cache) > limit:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return arr

    def fs(self, px: float) -> int:
        """Font size for ``px`` pixels at 720p, scaled to this frame size."""
        return max(10, round(px * self.k))

    # --- full-screen layers ------------------------------------------------------------

    def _base(self, title: str, clock: str) -> Canvas:
        c = Canvas(self.w, self.h, BG)
        c.rect(self.L.title_bar, PANEL)
        _, y0, x1, y1 = self.L.title_bar
        c.text_in((round(0.03 * self.w), y0, x1, y1), "virtualpy", self.fs(26), ACCENT)
        c.text_in((0, y0, self.w, y1), title, self.fs(30), WHITE, align="center")
        c.text_in(self.L.clock, clock, self.fs(28), WHITE, align="center")
        return c

    def no_signal(self) -> np.ndarray:
        """Dark grey with "No signal" centred: what a TV shows with the box unplugged."""

        def build() -> np.ndarray:
            c = Canvas(self.w, self.h, (40, 40, 40))
            c.text((self.w / 2, self.h / 2), "No signal", self.fs(56), (220, 220, 220), "mm")
            return c.to_bgr()

        return self._cached(("no_signal",), build)

    def boot_logo(self) -> np.ndarray:
        """The boot splash without its progress bar fill."""

        def build() -> np.ndarray:
            c = Canvas(self.w, self.h, (0, 0, 0))
            c.text((self.w / 2, 0.42 * self.h), "virtualpy", self.fs(96), ACCENT, "mm")
            c.text((self.w / 2, 0.54 * self.h), "Starting up...", self.fs(30), GREY, "mm")
            c.rect(self.L.boot_bar, (50, 50, 50))
            return c.to_bgr()

        return self._cached(("boot",), build)

    def home(self, channel: int, slot: int, clock: str) -> np.ndarray:
        """Home: title bar, "Now on" text, preview frame border and the tile row."""

        def build() -> np.ndarray:
            c = self._base("Home", clock)
            ch = CHANNELS[channel]
            x0, y0, x1, _ = self.L.home_now
            lh = round(0.08 * self.h)
            c.text((x0, y0 + 0.2 * lh), "Now on", self.fs(28), GREY)
            c.text((x0, y0 + 1.1 * lh), f"{ch.number} {ch.name}", self.fs(40), WHITE)
            title = self.schedule.title(channel, slot)
            c.text((x0, y0 + 2.3 * lh), title, self.fs(fit_size(title, 34, x1 - x0)), WHITE)
            p0, p1, p2, p3 = self.L.home_preview
            b = max(2, round(3 * self.k))
            c.rect((p0 - b, p1 - b, p2 + b, p3 + b), (90, 90, 110))
            for rect, name in zip(self.L.home_tiles, HOME_TILES, strict=True):
                c.rect(rect, TILE)
                size = fit_size(name, self.fs(30), rect[2] - rect[0] - 8)
                c.text_in(rect, name, size, WHITE, align="center")
            return c.to_bgr()

        return self._cached(("home", channel, slot, clock), build)

    def settings(self, clock: str) -> np.ndarray:
        """Settings: the vertical list of items."""

        def build() -> np.ndarray:
            c = self._base("Settings", clock)
            for rect, name in zip(self.L.settings_items, SETTINGS_ITEMS, strict=True):
                c.rect(rect, TILE)
                c.text_in(rect, name, self.fs(34), WHITE, pad=round(24 * self.k))
            return c.to_bgr()

        return self._cached(("settings", clock), build)

    def about_lines(self) -> list[str]:
        """The text lines of the about page, top to bottom."""
        return [
            f"Firmware version {self.firmware_version}",
            f"Model {self.model}",
            f"Serial number {self.serial_number}",
            f"Device name {self.name}",
            "IP address 192.168.1.57",
        ]

    def about(self, clock: str) -> np.ndarray:
        """About: large, high-contrast lines for OCR."""

        def build() -> np.ndarray:
            c = self._base("About", clock)
            for rect, line in zip(self.L.about_lines, self.about_lines(), strict=True):
                size = fit_size(line, self.fs(44), rect[2] - rect[0])
                c.text_in(rect, line, size, WHITE)
            return c.to_bgr()

        return self._cached(("about", clock), build)

    def page(self, title: str, clock: str) -> np.ndarray:
        """A placeholder page: its title, "Coming soon" and how to leave."""

        def build() -> np.ndarray:
            c = self._base(title, clock)
            c.text((self.w / 2, 0.38 * self.h), title, self.fs(64), WHITE, "mm")
            c.text((self.w / 2, 0.52 * self.h), "Coming soon", self.fs(44), ACCENT, "mm")
            c.text((self.w / 2, 0.66 * self.h), "Press BACK to return", self.fs(28), GREY, "mm")
            return c.to_bgr()

        return self._cached(("page", title, clock), build)

    def guide(self, top: int, slot0: int, clock: str) -> np.ndarray:
        """The guide grid with channel rows ``top``.. and slots ``slot0``.."""

        def build() -> np.ndarray:
            c = self._base("Guide", clock)
            _, hy0, _, hy1 = self.L.guide_header
            c.rect(self.L.guide_header, PANEL)
            nx0, _, nx1, _ = self.L.guide_name_col
            c.text_in((nx0, hy0, nx1, hy1), "Channel", self.fs(26), GREY, pad=round(10 * self.k))
            for col in range(GUIDE_COLS):
                cx0, _, cx1, _ = self.L.guide_cell(0, col)
                label = self.schedule.slot_label(slot0 + col)
                c.text_in((cx0, hy0, cx1, hy1), label, self.fs(26), GREY, pad=round(10 * self.k))
            pad = round(10 * self.k)
            gap = max(1, round(2 * self.k))
            for row in range(GUIDE_ROWS):
                idx = top + row
                if idx >= len(CHANNELS):
                    break
                ch = CHANNELS[idx]
                r = self.L.guide_name_cell(row)
                c.rect((r[0], r[1] + gap, r[2] - gap, r[3] - gap), PANEL)
                c.text_in(
                    r,
                    f"{ch.number} {ch.name}",
                    fit_size(f"{ch.number} {ch.name}", self.fs(26), r[2] - r[0] - 2 * pad),
                    WHITE,
                    pad=pad,
                )
                for col in range(GUIDE_COLS):
                    cr = self.L.guide_cell(row, col)
                    c.rect((cr[0] + gap, cr[1] + gap, cr[2] - gap, cr[3] - gap), TILE)
                    title = self.schedule.title(idx, slot0 + col)
                    size = fit_size(title, self.fs(24), cr[2] - cr[0] - 2 * pad)
                    c.text_in(cr, title, size, WHITE, pad=pad)
            return c.to_bgr()

        return self._cached(("guide", top, slot0, clock), build)

    # --- overlay patches -----------------------------------------------------------

    def _patch(
        self, rect: tuple[int, int, int, int], key: tuple, draw: Callable[[Canvas, int, int], None]
    ) -> np.ndarray:
        def build() -> np.ndarray:
            w, h = rect[2] - rect[0], rect[3] - rect[1]
            c = Canvas(w, h, PANEL)
            c.rect((0, 0, w, h), PANEL, outline=(90, 100, 140), width=max(1, round(2 * self.k)))
            draw(c, w, h)
            return c.to_bgr()

        return self._cached(key, build, limit=96)

    def banner(self, channel: int, slot: int) -> np.ndarray:
        """The channel banner: number, name, programme time and title."""
        ch = CHANNELS[channel]

        def draw(c: Canvas, w: int, h: int) -> None:
            pad = round(24 * self.k)
            c.text((pad, 0.3 * h), str(ch.number), self.fs(56), ACCENT, "lm")
            nx = pad + round(150 * self.k)
            c.text((nx, 0.3 * h), ch.name, self.fs(44), WHITE, "lm")
            span = f"{self.schedule.slot_label(slot)} - {self.schedule.slot_label(slot + 1)}"
            c.text((pad, 0.72 * h), span, self.fs(30), GREY, "lm")
            title = self.schedule.title(channel, slot)
            c.text((nx + round(120 * self.k), 0.72 * h), title, self.fs(34), WHITE, "lm")

        return self._patch(self.L.banner, ("banner", channel, slot), draw)

    def volume(self, level: int, muted: bool) -> np.ndarray:
        """The volume overlay: a label, a bar and the level number (or "Muted")."""

        def draw(c: Canvas, w: int, h: int) -> None:
            pad = round(16 * self.k)
            c.text((pad, h / 2), "Volume", self.fs(28), WHITE, "lm")
            bx0, bx1 = round(0.26 * w), round(0.78 * w)
            by0, by1 = round(0.38 * h), round(0.62 * h)
            c.rect((bx0, by0, bx1, by1), (60, 60, 70))
            fill = bx0 + round((bx1 - bx0) * level / 100)
            if fill > bx0:
                c.rect((bx0, by0, fill, by1), (110, 110, 110) if muted else ACCENT)
            label = "Muted" if muted else str(level)
            c.text(((bx1 + w) / 2, h / 2), label, self.fs(30 if muted else 34), WHITE, "mm")

        return self._patch(self.L.volume, ("volume", level, muted), draw)

    def digits(self, text: str) -> np.ndarray:
        """The channel-number entry overlay showing the digits typed so far."""

        def draw(c: Canvas, w: int, h: int) -> None:
            c.text((w / 2, h / 2), text + "-" * (3 - len(text)), self.fs(54), WHITE, "mm")

        return self._patch(self.L.digits, ("digits", text), draw)

    def message(self, text: str) -> np.ndarray:
        """A small centred message box (e.g. "Channel not available")."""

        def draw(c: Canvas, w: int, h: int) -> None:
            c.text((w / 2, h / 2), text, fit_size(text, self.fs(32), w - 20), WHITE, "mm")

        return self._patch(self.L.message, ("message", text), draw)

    def popup(self) -> np.ndarray:
        """The modal dialog of the "popup" fault: a notice that only BACK dismisses."""

        def draw(c: Canvas, w: int, h: int) -> None:
            c.text((w / 2, 0.22 * h), "Notification", self.fs(40), ACCENT, "mm")
            c.text((w / 2, 0.48 * h), "A new message is waiting", self.fs(30), WHITE, "mm")
            c.text((w / 2, 0.76 * h), "Press BACK to close", self.fs(28), GREY, "mm")

        return self._patch(self.L.popup, ("popup",), draw)


def paste(out: np.ndarray, patch: np.ndarray, rect: tuple[int, int, int, int]) -> None:
    """Copy ``patch`` into ``out`` at ``rect``'s top-left corner."""
    x0, y0 = rect[0], rect[1]
    h, w = patch.shape[:2]
    out[y0 : y0 + h, x0 : x0 + w] = patch

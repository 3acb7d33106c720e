"""Where everything is drawn, as pixel rectangles relative to the frame size.

One place for geometry so the drawing code, the state machine (focus rectangles for
animations) and test writers agree. Rectangles are ``(x0, y0, x1, y1)`` with x1/y1
exclusive. Numbers in comments are for 1280x720.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Rect = tuple[int, int, int, int]

HOME_TILES: tuple[str, ...] = ("Live TV", "Guide", "Recordings", "Apps", "Settings", "Search")
SETTINGS_ITEMS: tuple[str, ...] = ("Picture", "Sound", "Network", "Parental control", "About")
GUIDE_ROWS = 6  # channel rows visible at once
GUIDE_COLS = 4  # half-hour slots visible at once


def _r(w: int, h: int, x0: float, y0: float, x1: float, y1: float) -> Rect:
    return (round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h))


@dataclass(frozen=True)
class Layout:
    """Geometry for one frame size."""

    width: int
    height: int
    title_bar: Rect = field(init=False)  # 0,0,1280,60
    clock: Rect = field(init=False)  # clock text, top right of the title bar
    home_tiles: tuple[Rect, ...] = field(init=False)
    home_preview: Rect = field(init=False)  # live preview window on home
    home_now: Rect = field(init=False)  # "Now playing" text left of the preview
    settings_items: tuple[Rect, ...] = field(init=False)
    about_lines: tuple[Rect, ...] = field(init=False)
    guide_header: Rect = field(init=False)
    guide_name_col: Rect = field(init=False)
    banner: Rect = field(init=False)
    volume: Rect = field(init=False)
    digits: Rect = field(init=False)
    message: Rect = field(init=False)
    popup: Rect = field(init=False)  # the modal dialog of the "popup" fault
    boot_bar: Rect = field(init=False)
    focus_thickness: int = field(init=False)

    def __post_init__(self) -> None:
        w, h = self.width, self.height
        s = object.__setattr__
        s(self, "title_bar", _r(w, h, 0, 0, 1, 60 / 720))
        s(self, "clock", _r(w, h, 0.85, 0.0, 0.98, 60 / 720))
        # 6 tiles across 5%..95% of the width, 16 px gaps at 720p
        x0, x1, gap = 0.05 * w, 0.95 * w, 0.0125 * w
        tw = (x1 - x0 - gap * (len(HOME_TILES) - 1)) / len(HOME_TILES)
        ty0, ty1 = round(0.62 * h), round(0.82 * h)  # 446..590
        s(
            self,
            "home_tiles",
            tuple(
                (round(x0 + i * (tw + gap)), ty0, round(x0 + i * (tw + gap) + tw), ty1)
                for i in range(len(HOME_TILES))
            ),
        )
        s(self, "home_preview", _r(w, h, 0.6, 0.14, 0.95, 0.49))  # 768,101,1216,353
        s(self, "home_now", _r(w, h, 0.05, 0.14, 0.57, 0.49))
        s(
            self,
            "settings_items",
            tuple(
                _r(w, h, 0.1, 0.18 + i * 0.12, 0.55, 0.18 + i * 0.12 + 0.1)
                for i in range(len(SETTINGS_ITEMS))
            ),
        )  # 128,130,704,202 then +86 px per item
        s(
            self,
            "about_lines",
            tuple(_r(w, h, 0.1, 0.22 + i * 0.11, 0.9, 0.22 + i * 0.11 + 0.09) for i in range(5)),
        )
        s(self, "guide_header", _r(w, h, 0.03, 0.11, 0.97, 0.18))
        s(self, "guide_name_col", _r(w, h, 0.03, 0.18, 0.25, 0.18 + GUIDE_ROWS * 0.12))
        s(self, "banner", _r(w, h, 0.05, 0.75, 0.95, 0.93))  # 64,540,1216,670
        s(self, "volume", _r(w, h, 0.3, 0.1, 0.7, 0.2))  # 384,72,896,144
        s(self, "digits", _r(w, h, 0.8, 0.06, 0.95, 0.17))  # 1024,43,1216,122
        s(self, "message", _r(w, h, 0.3, 0.45, 0.7, 0.55))  # 384,324,896,396
        s(self, "popup", _r(w, h, 0.25, 0.3, 0.75, 0.7))  # 320,216,960,504
        s(self, "boot_bar", _r(w, h, 0.3, 0.62, 0.7, 0.65))
        s(self, "focus_thickness", max(3, round(5 * h / 720)))

    def guide_cell(self, row: int, col: int) -> Rect:
        """The cell of visible row ``row`` (0..GUIDE_ROWS-1) and slot column ``col``."""
        x0 = 0.25 * self.width
        cw = (0.97 * self.width - x0) / GUIDE_COLS
        y0 = 0.18 * self.height + row * 0.12 * self.height
        return (
            round(x0 + col * cw),
            round(y0),
            round(x0 + (col + 1) * cw),
            round(y0 + 0.12 * self.height),
        )

    def guide_name_cell(self, row: int) -> Rect:
        """The channel number/name cell of visible row ``row``."""
        x0, _, x1, _ = self.guide_name_col
        y0 = 0.18 * self.height + row * 0.12 * self.height
        return (x0, round(y0), x1, round(y0 + 0.12 * self.height))

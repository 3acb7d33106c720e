"""The UI state machine: which screen is shown, focus, channel, overlays.

Pure logic, no drawing and no threads. Every transition takes the box time at which it
happens, so the same inputs at the same times always give the same states. Timed
things that only change what is drawn (animations, zap black, banner and volume
timeouts) are stored as times and interpreted by the renderer; timed things that
change the screen (end of boot, the channel-entry timeout) fire in :meth:`advance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .channels import CHANNELS, Schedule, channel_index
from .layout import GUIDE_COLS, GUIDE_ROWS, HOME_TILES, SETTINGS_ITEMS, Layout, Rect

ANIM_SECS = 0.15  # focus highlight animation
BANNER_SECS = 3.0  # channel banner
VOLUME_SECS = 2.0  # volume overlay
DIGIT_TIMEOUT_SECS = 1.5  # channel-number entry commits after this long without a digit
MESSAGE_SECS = 2.5  # "Channel not available"
BOOT_BLACK_FRACTION = 0.2  # first part of the boot is a black screen

#: home tile -> screen it opens
TILE_SCREENS: dict[str, str] = {
    "Live TV": "live_tv",
    "Guide": "guide",
    "Recordings": "recordings",
    "Apps": "apps",
    "Settings": "settings",
    "Search": "search",
}
#: settings item -> screen it opens
SETTINGS_SCREENS: dict[str, str] = {
    "Picture": "picture",
    "Sound": "sound",
    "Network": "network",
    "Parental control": "parental_control",
    "About": "about",
}
#: placeholder ("Coming soon") screens and their titles
PAGE_TITLES: dict[str, str] = {
    "recordings": "Recordings",
    "apps": "Apps",
    "search": "Search",
    "picture": "Picture",
    "sound": "Sound",
    "network": "Network",
    "parental_control": "Parental control",
}
UI_SCREENS = frozenset(
    {"home", "live_tv", "guide", "settings", "about", *PAGE_TITLES}
)  # powered, booted, not standby


@dataclass
class Highlight:
    """The focus rectangle of the current screen, animating from ``src`` to ``dst``."""

    src: Rect
    dst: Rect
    t0: float = -math.inf

    def at(self, t: float) -> tuple[Rect, bool]:
        """The rectangle at time ``t`` and whether it is still moving."""
        if self.src == self.dst or t >= self.t0 + ANIM_SECS:
            return self.dst, False
        u = max(0.0, (t - self.t0) / ANIM_SECS)
        u = u * u * (3 - 2 * u)  # smoothstep easing
        r = tuple(round(a + (b - a) * u) for a, b in zip(self.src, self.dst, strict=True))
        return r, True  # type: ignore[return-value]


class UIState:
    """The box's UI. Call :meth:`advance` with non-decreasing times before reading it."""

    def __init__(
        self,
        layout: Layout,
        schedule: Schedule,
        *,
        zap_secs: float,
        boot_secs: float,
        on_boot: Callable[[float], None] | None = None,
    ) -> None:
        self.layout = layout
        self.schedule = schedule
        self.zap_secs = zap_secs
        self.boot_secs = boot_secs
        self.on_boot = on_boot
        self.powered = False
        self.screen = "off"
        self.boot_t0 = -math.inf
        self.boot_end = math.inf
        self.channel = 0  # index into CHANNELS
        self.home_focus = 0
        self.settings_focus = 0
        self.guide_row = 0
        self.guide_col = 0
        self.guide_top = 0
        self.guide_slot0 = 0
        self.highlight: Highlight | None = None
        self.back_of: dict[str, str] = {}
        self.zap_until = -math.inf
        self.banner_until = -math.inf
        self.digits = ""
        self.digit_deadline = math.inf
        self.message = ""
        self.message_until = -math.inf
        self.volume = 30
        self.muted = False
        self.volume_until = -math.inf
        self.popup = False  # a modal dialog (the "popup" fault) is open

    # --- power ------------------------------------------------------------------

    def power_on(self, t: float) -> None:
        """Mains on: start booting (no-op when already powered)."""
        if not self.powered:
            self.powered = True
            self.boot(t)

    def power_off(self, t: float) -> None:
        """Mains off: no signal, everything transient is lost."""
        self.powered = False
        self.screen = "off"
        self.boot_end = math.inf
        self._clear_transients()

    def boot(self, t: float) -> None:
        """(Re)boot: the boot screen for ``boot_secs``, then home."""
        if not self.powered:
            return
        self._clear_transients()
        self.boot_t0 = t
        self.boot_end = t + self.boot_secs
        self.screen = "boot"
        if self.on_boot is not None:
            self.on_boot(t)
        if self.boot_secs <= 0:
            self._finish_boot(t)

    def _finish_boot(self, t: float) -> None:
        self.boot_end = math.inf
        self.home_focus = 0
        self.settings_focus = 0
        self.back_of.clear()
        self._enter("home", t, back=None)

    def _clear_transients(self) -> None:
        self.popup = False
        self.digits = ""
        self.digit_deadline = math.inf
        self.zap_until = self.banner_until = -math.inf
        self.message_until = self.volume_until = -math.inf

    # --- time -------------------------------------------------------------------

    def advance(self, t: float) -> None:
        """Fire the timed transitions due at or before ``t``, in time order."""
        while True:
            due = min(self.boot_end, self.digit_deadline)
            if due > t:
                return
            if self.boot_end <= self.digit_deadline:
                self._finish_boot(self.boot_end)
            else:
                self._commit_digits(self.digit_deadline)

    # --- helpers ----------------------------------------------------------------

    def _focus_rect(self, screen: str) -> Rect | None:
        L = self.layout
        if screen == "home":
            return L.home_tiles[self.home_focus]
        if screen == "settings":
            return L.settings_items[self.settings_focus]
        if screen == "guide":
            return L.guide_cell(self.guide_row - self.guide_top, self.guide_col)
        return None

    def _enter(self, screen: str, t: float, back: str | None) -> None:
        if back is not None and back != screen:
            self.back_of[screen] = back
        self.screen = screen
        rect = self._focus_rect(screen)
        self.highlight = Highlight(rect, rect) if rect is not None else None
        if screen != "live_tv":
            self.digits = ""
            self.digit_deadline = math.inf

    def _move_focus(self, t: float) -> float:
        """Animate the highlight to the current focus; return the settle time."""
        dst = self._focus_rect(self.screen)
        if dst is None:
            return t
        cur = self.highlight.at(t)[0] if self.highlight is not None else dst
        self.highlight = Highlight(cur, dst, t)
        return t + ANIM_SECS if cur != dst else t

    def focus_at(self, t: float) -> tuple[Rect | None, bool]:
        """The focus rectangle to draw at ``t`` (None if the screen has none), and
        whether it is still animating."""
        if self.highlight is None:
            return None, False
        return self.highlight.at(t)

    def tune(self, index: int, t: float) -> float:
        """Switch to channel ``index`` (a zap through black if it differs); settle time."""
        if index != self.channel:
            self.channel = index
            self.zap_until = t + self.zap_secs
            self.banner_until = self.zap_until + BANNER_SECS
            return self.zap_until
        self.banner_until = t + BANNER_SECS
        return t

    def _commit_digits(self, t: float) -> float:
        number = int(self.digits) if self.digits else -1
        self.digits = ""
        self.digit_deadline = math.inf
        index = channel_index(number)
        if index is None:
            self.message = "Channel not available"
            self.message_until = t + MESSAGE_SECS
            return t
        return self.tune(index, t)

    def open_popup(self) -> bool:
        """Open the modal dialog over a UI screen; False (nothing opened) on any other."""
        if self.screen not in UI_SCREENS:
            return False
        self.popup = True
        return True

    def uptime(self, t: float) -> float:
        """Seconds since the last boot started (0 when off)."""
        return max(0.0, t - self.boot_t0) if self.powered else 0.0

    # --- keys -------------------------------------------------------------------

    def handle_key(self, key: str, t: float) -> float | None:
        """Apply ``key`` at time ``t``.

        Returns the time the resulting visible change settles (after animations or
        the zap black), or None when the key had no effect on this screen.
        """
        s = self.screen
        if not self.powered or s in ("off", "boot"):
            return None
        if self.popup:  # modal: BACK closes it, every other key is swallowed
            if key != "KEY_BACK":
                return None
            self.popup = False
            return t
        if key == "KEY_POWER":
            if s == "standby":
                self._enter("home", t, back=None)
            else:
                self._clear_transients()
                self._enter("standby", t, back=None)
            return t
        if s == "standby":
            return None
        if key in ("KEY_VOLUMEUP", "KEY_VOLUMEDOWN", "KEY_MUTE"):
            return self._volume(key, t)
        if key == "KEY_HOME":
            if s == "home":
                return None
            self._enter("home", t, back=None)
            return t
        if key in ("KEY_EPG", "KEY_GUIDE"):
            if s == "guide":
                return None
            self._open_guide(t, back=s)
            return t
        if key == "KEY_MENU":
            if s == "settings":
                return None
            self._enter("settings", t, back=s)
            return t
        handler = getattr(self, f"_key_{s}", None)
        if handler is None:  # placeholder pages and about
            if key == "KEY_BACK":
                self._enter(self.back_of.get(s, "home"), t, back=None)
                return t
            return None
        return handler(key, t)

    def _volume(self, key: str, t: float) -> float | None:
        before = (self.volume, self.muted, t < self.volume_until)
        if key == "KEY_MUTE":
            self.muted = not self.muted
        else:
            step = 5 if key == "KEY_VOLUMEUP" else -5
            self.volume = min(100, max(0, self.volume + step))
            self.muted = False
        self.volume_until = t + VOLUME_SECS
        return t if before != (self.volume, self.muted, True) else None

    def _key_home(self, key: str, t: float) -> float | None:
        if key in ("KEY_LEFT", "KEY_RIGHT"):
            new = self.home_focus + (1 if key == "KEY_RIGHT" else -1)
            if not 0 <= new < len(HOME_TILES):
                return None
            self.home_focus = new
            return self._move_focus(t)
        if key == "KEY_OK":
            target = TILE_SCREENS[HOME_TILES[self.home_focus]]
            if target == "guide":
                self._open_guide(t, back="home")
            else:
                self._enter(target, t, back="home")
                if target == "live_tv":
                    self.banner_until = t + BANNER_SECS
            return t
        return None

    def _key_live_tv(self, key: str, t: float) -> float | None:
        if key in ("KEY_CHANNELUP", "KEY_CHANNELDOWN"):
            self.digits, self.digit_deadline = "", math.inf
            step = 1 if key == "KEY_CHANNELUP" else -1
            return self.tune((self.channel + step) % len(CHANNELS), t)
        if key.startswith("KEY_") and key[4:].isdigit():
            self.digits += key[4:]
            self.digit_deadline = t + DIGIT_TIMEOUT_SECS
            if len(self.digits) >= 3:
                return self._commit_digits(t)
            return t
        if key in ("KEY_OK", "KEY_INFO"):
            if self.digits:
                return self._commit_digits(t)
            self.banner_until = max(self.banner_until, t + BANNER_SECS)
            return t
        if key == "KEY_BACK":
            self._enter(self.back_of.get("live_tv", "home"), t, back=None)
            return t
        return None

    def _open_guide(self, t: float, back: str) -> None:
        self.guide_row = self.channel
        self.guide_col = 0
        self.guide_top = min(max(0, self.channel - 1), max(0, len(CHANNELS) - GUIDE_ROWS))
        self.guide_slot0 = self.schedule.slot_of(t)
        self._enter("guide", t, back=back)

    def _key_guide(self, key: str, t: float) -> float | None:
        if key in ("KEY_UP", "KEY_DOWN"):
            new = self.guide_row + (1 if key == "KEY_DOWN" else -1)
            if not 0 <= new < len(CHANNELS):
                return None
            self.guide_row = new
            if new < self.guide_top:
                self.guide_top = new
            elif new >= self.guide_top + GUIDE_ROWS:
                self.guide_top = new - GUIDE_ROWS + 1
            return self._move_focus(t)
        if key in ("KEY_LEFT", "KEY_RIGHT"):
            new = self.guide_col + (1 if key == "KEY_RIGHT" else -1)
            if not 0 <= new < GUIDE_COLS:
                return None
            self.guide_col = new
            return self._move_focus(t)
        if key == "KEY_OK":
            self._enter("live_tv", t, back="home")
            return self.tune(self.guide_row, t)
        if key == "KEY_BACK":
            self._enter(self.back_of.get("guide", "home"), t, back=None)
            return t
        return None

    def _key_settings(self, key: str, t: float) -> float | None:
        if key in ("KEY_UP", "KEY_DOWN"):
            new = self.settings_focus + (1 if key == "KEY_DOWN" else -1)
            if not 0 <= new < len(SETTINGS_ITEMS):
                return None
            self.settings_focus = new
            return self._move_focus(t)
        if key == "KEY_OK":
            self._enter(SETTINGS_SCREENS[SETTINGS_ITEMS[self.settings_focus]], t, back="settings")
            return t
        if key == "KEY_BACK":
            self._enter(self.back_of.get("settings", "home"), t, back=None)
            return t
        return None

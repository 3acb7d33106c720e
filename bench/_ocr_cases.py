"""The labelled crops bench/ocr_accuracy.py reads: the simulator's, real screenshots, stbt's.

Each ``Case`` is a frame, a region and the text in it: ``sim_cases`` drives a
``SimulatedBox`` on a fake clock through its screens and takes the text it drew as the
truth; ``real_cases`` and ``stbt_cases`` read the hand-labelled lists in ``ocr_truth/``.
``SimDriver`` presses keys on the box and renders the settled frame.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lab_daemon.sim import SimulatedBox
from lab_daemon.sim.channels import CHANNELS, Schedule
from lab_daemon.sim.layout import HOME_TILES, SETTINGS_ITEMS, Layout
from lab_daemon.sim.screens import clock_text
from pytest_virtualpy.vision import Region

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "ocr_truth" / "real.json"
STBT_TRUTH = HERE / "ocr_truth" / "stbt.json"
STBT_IMAGES = HERE.parent / "tests" / "vision" / "data" / "stbt_ocr"
T0 = 1_764_230_400.0  # a fixed box clock so slot labels and titles are reproducible


@dataclass
class Case:
    name: str
    group: str  # "sim" or "real"
    frame: np.ndarray
    region: Region
    text: str  # truth; lines separated by "\n"
    text_px: int  # approximate height of the text in frame pixels


def _rect(x0: float, y0: float, x1: float, y1: float) -> Region:
    return Region.from_extents(round(x0), round(y0), round(x1), round(y1))


def _inset(rect: tuple[int, int, int, int], d: int) -> Region:
    x0, y0, x1, y1 = rect
    return Region.from_extents(x0 + d, y0 + d, x1 - d, y1 - d)


class SimDriver:
    """Presses keys on a SimulatedBox on a fake clock and renders the settled frame."""

    def __init__(self, width: int, height: int) -> None:
        self.t = T0
        self.box = SimulatedBox(
            boot_secs=0, width=width, height=height, clock=lambda: self.t, input_latency_ms=10
        )
        self.box.start()

    def press(self, *keys: str, gap: float = 0.5) -> None:
        for key in keys:
            self.box.press_key(key, self.t)
            self.t += gap
            self.box.render(self.t)

    def frame(self, screen: str, settle: float = 0.6) -> np.ndarray:
        self.t += settle
        out = np.array(self.box.render(self.t))
        if self.box.screen != screen:
            raise SystemExit(f"simulator navigation failed: on {self.box.screen!r}, not {screen!r}")
        return out

    def close(self) -> None:
        self.box.stop()


def sim_cases(sizes: tuple[tuple[int, int], ...]) -> Iterator[Case]:
    """Crops with known text from every screen of the simulated box, at each frame size."""
    for w, h in sizes:
        yield from _sim_size(w, h)


def _sim_size(w: int, h: int) -> Iterator[Case]:
    schedule = Schedule(0)
    k = h / 720
    tag = f"{h}p"
    L = Layout(w, h)
    d = SimDriver(w, h)

    def case(name: str, frame: np.ndarray, region: Region, text: str, size: float) -> Case:
        cap_px = max(10, round(size * k)) * 0.72  # cap height of the simulator's font
        return Case(f"sim/{tag}/{name}", "sim", frame, region, text, round(cap_px))

    # home: tiles, "Now on" block, title bar
    home = d.frame("home")
    for rect, name in zip(L.home_tiles, HOME_TILES, strict=True):
        yield case(f"home-tile-{name}", home, _inset(rect, L.focus_thickness + 1), name, 30)
    ch = CHANNELS[0]
    slot = Schedule.slot_of(d.t)
    now = f"Now on\n{ch.number} {ch.name}\n{schedule.title(0, slot)}"
    yield case("home-now", home, _inset(L.home_now, 0), now, 34)
    yield case("title-Home", home, _rect(0.35 * w, 0, 0.65 * w, L.title_bar[3]), "Home", 30)
    yield case("clock", home, Region.from_extents(*L.clock), clock_text(d.t), 28)
    yield case("logo", home, _rect(0.02 * w, 0, 0.2 * w, L.title_bar[3]), "virtualpy", 26)

    # settings and about
    d.press("KEY_MENU")
    settings = d.frame("settings")
    for rect, name in zip(L.settings_items, SETTINGS_ITEMS, strict=True):
        yield case(f"settings-{name}", settings, _inset(rect, L.focus_thickness + 1), name, 34)
    d.press(*["KEY_DOWN"] * 4, "KEY_OK")
    about = d.frame("about")
    for i, (rect, line) in enumerate(zip(L.about_lines, d.box.about_lines(), strict=True)):
        yield case(f"about-{i}", about, Region.from_extents(*rect), line, 40)
    yield case(
        "about-block",
        about,
        _rect(L.about_lines[0][0], L.about_lines[0][1], L.about_lines[2][2], L.about_lines[2][3]),
        "\n".join(d.box.about_lines()[:3]),
        40,
    )

    # placeholder page
    d.press("KEY_HOME", "KEY_RIGHT", "KEY_RIGHT", "KEY_OK")
    page = d.frame("recordings")
    yield case("page-title", page, _rect(0.2 * w, 0.31 * h, 0.8 * w, 0.45 * h), "Recordings", 64)
    yield case("page-soon", page, _rect(0.2 * w, 0.47 * h, 0.8 * w, 0.57 * h), "Coming soon", 44)
    yield case(
        "page-back",
        page,
        _rect(0.2 * w, 0.62 * h, 0.8 * w, 0.70 * h),
        "Press BACK to return",
        28,
    )

    # guide: channel names, programme titles, slot labels
    d.press("KEY_HOME", "KEY_GUIDE")
    d.press(*["KEY_DOWN"] * 3)  # focus moves; the rows stay
    guide = d.frame("guide")
    top = d.box._state.guide_top
    slot0 = d.box._state.guide_slot0
    hy0, hy1 = L.guide_header[1], L.guide_header[3]
    for row in range(6):
        c = CHANNELS[top + row]
        r = L.guide_name_cell(row)
        yield case(f"guide-name-{row}", guide, _inset(r, 3), f"{c.number} {c.name}", 26)
    for col in range(4):
        cx0, _, cx1, _ = L.guide_cell(0, col)
        label = schedule.slot_label(slot0 + col)
        yield case(f"guide-slot-{col}", guide, _rect(cx0, hy0, cx1, hy1), label, 26)
    for col in range(4):
        r = L.guide_cell(4, col)
        title = schedule.title(top + 4, slot0 + col)
        yield case(f"guide-title-{col}", guide, _inset(r, L.focus_thickness + 1), title, 24)

    # live TV: banner after zapping (channel number + name, then time span + title)
    d.press("KEY_OK")  # tune the focused guide row
    for step in range(3 if h >= 720 else 2):
        d.press("KEY_CHANNELUP", gap=0.2)
        live = d.frame("live_tv", settle=1.0)
        idx = CHANNELS.index(next(c for c in CHANNELS if c.number == d.box.channel))
        c, slot = CHANNELS[idx], Schedule.slot_of(d.t)
        x0, y0, x1, y1 = L.banner
        bh, m = y1 - y0, max(3, round(4 * k))
        span = f"{schedule.slot_label(slot)} - {schedule.slot_label(slot + 1)}"
        top_r = _rect(x0 + m, y0 + m, x1 - m, y0 + 0.52 * bh)
        bottom_r = _rect(x0 + m, y0 + 0.52 * bh, x1 - m, y1 - m)
        yield case(f"banner-{step}-top", live, top_r, f"{c.number} {c.name}", 44)
        yield case(
            f"banner-{step}-bottom", live, bottom_r, f"{span} {schedule.title(idx, slot)}", 30
        )

    # volume overlay and the "Channel not available" message
    d.press("KEY_VOLUMEUP", gap=0.2)
    live = d.frame("live_tv", settle=0.3)
    vx0, vy0, vx1, vy1 = L.volume
    vw = vx1 - vx0
    yield case(
        "volume-label", live, _rect(vx0 + 4, vy0 + 4, vx0 + 0.26 * vw, vy1 - 4), "Volume", 28
    )
    level = str(d.box.volume)
    yield case("volume-level", live, _rect(vx0 + 0.8 * vw, vy0 + 4, vx1 - 4, vy1 - 4), level, 34)
    d.press("KEY_9", "KEY_9", "KEY_9", gap=0.1)
    live = d.frame("live_tv", settle=0.3)
    yield case("message", live, _inset(L.message, 4), "Channel not available", 30)
    d.close()


# --- the real-screenshot set ----------------------------------------------------------


def real_cases(corpus: Path) -> Iterator[Case]:
    for i, item in enumerate(json.loads(TRUTH.read_text())):
        frame = cv2.imread(str(corpus / item["image"]), cv2.IMREAD_COLOR)
        if frame is None:
            raise SystemExit(f"cannot read {corpus / item['image']}")
        x, y, w, h = item["region"]
        lines = item["text"].count("\n") + 1
        name = f"real/{i:02d}-{Path(item['image']).stem}"
        yield Case(name, "real", frame, Region(x, y, w, h), item["text"], round(0.6 * h / lines))


def stbt_cases() -> Iterator[Case]:
    """stb-tester's OCR images with the text its tests expect (``ocr_truth/stbt.json``)."""
    for i, item in enumerate(json.loads(STBT_TRUTH.read_text())):
        frame = cv2.imread(str(STBT_IMAGES / item["image"]), cv2.IMREAD_COLOR)
        if frame is None:
            raise SystemExit(f"cannot read {STBT_IMAGES / item['image']}")
        region = Region(*item["region"]) if item.get("region") else Region.ALL
        h = min(region.height, frame.shape[0])
        lines = item["text"].count("\n") + 1
        name = f"stbt/{i:02d}-{Path(item['image']).stem}"
        yield Case(name, "stbt", frame, region, item["text"], round(0.6 * h / lines))

"""Synthetic TV screens for bench/match_vs_stbt.py: photo-like video, a menu, capture noise.

``menu`` draws a home screen (a dimmed video background, five poster tiles with titles,
channel numbers and badge icons, a focus highlight) and says where its tiles, icons and
numbers are; ``capture`` adds an HDMI grabber's light noise; ``crop`` cuts a reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont


def photo(w: int, h: int, seed: int) -> np.ndarray:
    """Photo-like content: smooth multi-scale noise with colour, edges and texture."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((h, w, 3), np.float32)
    for cells, weight in ((4, 0.5), (16, 0.3), (64, 0.15), (256, 0.05)):
        small = rng.random((max(2, cells * h // w), cells, 3)).astype(np.float32)
        acc += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(acc * 255, 0, 255).astype(np.uint8)
    # A few hard-edged shapes, like objects in a scene.
    for _ in range(6):
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(img, (cx, cy), int(rng.integers(h // 20, h // 5)), c, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def font(size: int):
    return ImageFont.load_default(size=size)


HIGHLIGHT = (0, 150, 255)  # BGR orange
OTHER_HIGHLIGHT = (255, 120, 0)  # BGR blue, similar brightness


@dataclass
class Screen:
    frame: np.ndarray
    tiles: list[tuple[int, int, int, int]]
    icons: list[tuple[int, int, int, int]]
    numbers: list[tuple[int, int, int, int]]


def menu(
    w: int,
    h: int,
    focus: int | None = 1,
    colour=HIGHLIGHT,
    titles=("Movies", "Series", "Sport 1", "Kids", "News 24"),
    channels=("101", "102", "103", "104", "105"),
    seed: int = 1,
) -> Screen:
    """A home screen: video background, 5 poster tiles with titles and channel numbers."""
    s = w / 1280
    frame = photo(w, h, seed)
    frame = (frame * 0.55).astype(np.uint8)  # dimmed behind the menu
    tiles, icons, numbers = [], [], []
    tw, th = int(220 * s), int(300 * s)
    y = int(300 * s)
    for i in range(len(titles)):
        x = int((60 + i * 240) * s)
        tiles.append((x - int(6 * s), y - int(6 * s), tw + int(12 * s), th + int(12 * s)))
        frame[y : y + th, x : x + tw] = (40, 30, 25)
        poster = photo(tw - int(20 * s), int(200 * s), 100 + i)
        frame[y + int(10 * s) : y + int(10 * s) + poster.shape[0], x + int(10 * s) :][
            :, : poster.shape[1]
        ] = poster
        # An icon: a coloured badge with a glyph.
        ix, iy, isz = x + int(14 * s), y + int(222 * s), int(28 * s)
        cv2.circle(
            frame, (ix + isz // 2, iy + isz // 2), isz // 2, (60, 180, 60) if i % 2 else
            (200, 80, 200), -1, cv2.LINE_AA,
        )  # fmt: skip
        cv2.putText(
            frame, ("HD", "4K", "SD", "UHD", "AD")[i], (ix + 3, iy + isz * 2 // 3),
            cv2.FONT_HERSHEY_PLAIN,
            0.8 * s, (255, 255, 255), 1, cv2.LINE_AA,
        )  # fmt: skip
        icons.append((ix, iy, isz, isz))
        numbers.append((x + int(150 * s), y + int(222 * s), int(56 * s), int(30 * s)))
    pil = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    draw = ImageDraw.Draw(pil)
    for i, (title, ch) in enumerate(zip(titles, channels, strict=True)):
        x = int((60 + i * 240) * s)
        draw.text((x + int(50 * s), y + int(222 * s)), title, font=font(int(22 * s)))
        draw.text((x + int(155 * s), y + int(224 * s)), ch, font=font(int(20 * s)))
        draw.text(
            (x + int(14 * s), y + int(260 * s)), "Tonight 20:00", font=font(int(16 * s)),
            fill=(190, 190, 190),
        )  # fmt: skip
    draw.text((int(60 * s), int(40 * s)), "Home", font=font(int(48 * s)))
    draw.text((int(1050 * s), int(45 * s)), "21:37", font=font(int(36 * s)))
    frame = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    if focus is not None:
        x, y0, ww, hh = tiles[focus]
        cv2.rectangle(frame, (x, y0), (x + ww - 1, y0 + hh - 1), colour, max(3, int(5 * s)))
    return Screen(frame, tiles, icons, numbers)


def capture(frame: np.ndarray, seed: int) -> np.ndarray:
    """Light capture noise (sigma 2), as an HDMI grabber adds."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 2.0, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def crop(frame: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return frame[y : y + h, x : x + w].copy()

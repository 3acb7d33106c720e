"""Synthetic frames for the vision tests: a TV-style menu, noise, limited range."""

from __future__ import annotations

import cv2
import numpy as np

LABELS = ["Home", "TV Guide", "Movies", "Series", "Sport", "Kids", "Music", "Settings"]


def menu(
    width: int = 1280,
    height: int = 720,
    selected: int | None = 2,
    highlight: tuple[int, int, int] = (0, 140, 255),
    labels: list[str] | None = None,
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A menu of 8 tiles with text and a highlighted one; returns (frame, tile boxes)."""
    labels = labels or LABELS
    s = width / 1280
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:] = np.linspace(30, 60, width)[None, :, None].astype(np.uint8)
    tiles = []
    for i, label in enumerate(labels):
        x, y = int((60 + i % 4 * 290) * s), int((150 + i // 4 * 220) * s)
        w, h = int(260 * s), int(180 * s)
        cv2.rectangle(frame, (x, y), (x + w, y + h), (90, 60, 40), -1)
        cv2.putText(
            frame, label, (x + int(20 * s), y + int(100 * s)), cv2.FONT_HERSHEY_SIMPLEX,
            1.2 * s, (255, 255, 255), max(1, int(2 * s)), cv2.LINE_AA,
        )  # fmt: skip
        tiles.append((x, y, w, h))
    if selected is not None:
        x, y, w, h = tiles[selected]
        draw_highlight(frame, x, y, w, h, highlight, s)
    return frame, tiles


def draw_highlight(frame, x, y, w, h, colour=(0, 140, 255), s=1.0) -> None:
    t = max(2, int(4 * s))
    cv2.rectangle(frame, (x - 4, y - 4), (x + w + 4, y + h + 4), colour, t)


def crop(frame: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    return frame[y : y + h, x : x + w].copy()


_NOISE: dict[tuple, np.ndarray] = {}


def noisy(frame: np.ndarray, sigma: float = 4.0, seed: int = 1) -> np.ndarray:
    """Add Gaussian capture noise (a few cached patterns, so long sequences stay fast)."""
    key = (frame.shape, sigma, seed % 4)
    if key not in _NOISE:
        rng = np.random.default_rng(seed % 4)
        _NOISE[key] = rng.normal(0, sigma, frame.shape).round().astype(np.int16)
    return np.clip(frame.astype(np.int16) + _NOISE[key], 0, 255).astype(np.uint8)


def limited_range(frame: np.ndarray) -> np.ndarray:
    """Full range (0-255) squeezed into 16-235, as a limited-range capture shows it."""
    return (frame.astype(np.float32) * 219 / 255 + 16).round().astype(np.uint8)


def video_frame(seed: int, w: int = 1280, h: int = 720) -> np.ndarray:
    """A video-like picture: coloured noise from w/4 to 2 px detail, and a few objects."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((h, w, 3), np.float32)
    for cells, weight in ((4, 0.3), (16, 0.2), (64, 0.2), (256, 0.15), (640, 0.15)):
        small = rng.random((max(2, cells * h // w), cells, 3)).astype(np.float32)
        acc += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(acc * 255, 0, 255).astype(np.uint8)
    for _ in range(8):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, centre, int(rng.integers(h // 20, h // 5)), colour, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 0.8)


def panned(frame: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """The next frame of a video whose camera moved by ``shift`` (dx, dy) px."""
    m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    return cv2.warpAffine(frame, m, (frame.shape[1], frame.shape[0]), borderMode=cv2.BORDER_REFLECT)

"""Moving channel pictures, cheap enough to draw at 60 fps.

Each channel gets a pre-computed texture (a colour gradient with diagonal stripes,
a little wider than the frame and periodic in x). A frame is a slice of that texture
at a time-dependent offset (so the stripes scroll) plus two bouncing shapes drawn
with OpenCV and the channel's logo patch: one strided copy and a few small fills.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

from .channels import CHANNELS, Channel
from .drawing import Canvas


def _hsv_bgr(h: int, s: int, v: int) -> tuple[int, int, int]:
    px = cv2.cvtColor(np.array([[[h % 180, s, v]]], dtype=np.uint8), cv2.COLOR_HSV2BGR)
    return tuple(int(c) for c in px[0, 0])  # type: ignore[return-value]


class ChannelPicture:
    """The moving picture of one channel at one size."""

    def __init__(
        self, channel: Channel, width: int, height: int, seed: int, logo: bool = True
    ) -> None:
        self.width, self.height = width, height
        rng = random.Random(f"video-{seed}-{channel.number}")
        style = channel.style
        scale = height / 720
        self.period = max(8, round((64 + 32 * style) * scale))
        slope = (0.0, 0.6, -0.6, 1.2)[style]
        self.speed = (80 + 40 * rng.random()) * scale * (1 if style % 2 == 0 else -1)
        top = np.array(_hsv_bgr(channel.hue, 200, 200), np.float32)
        bottom = np.array(_hsv_bgr(channel.hue + 25, 230, 70), np.float32)
        ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        bright = (top[None, :] * (1 - ys) + bottom[None, :] * ys).astype(np.uint8)  # H x 3
        dark = (bright * np.float32(0.72)).astype(np.uint8)
        xs = np.arange(width + self.period, dtype=np.int32)[None, :]
        shift = np.round(slope * np.arange(height)).astype(np.int32)[:, None]
        stripe = ((xs + shift) % self.period) < (self.period // 2)  # H x W'
        self.texture = np.where(stripe[:, :, None], bright[:, None, :], dark[:, None, :])
        self.shape_color = _hsv_bgr(channel.hue + 90, 160, 250)
        self.shape2_color = _hsv_bgr(channel.hue + 60, 60, 245)
        self.radius = max(4, round((50 + 10 * style) * scale))
        self.box = max(4, round(70 * scale))
        self.vx = (180 + 120 * rng.random()) * scale
        self.vy = (120 + 100 * rng.random()) * scale
        self.phase = rng.random() * 10.0
        self.logo: np.ndarray | None = None
        if logo:
            size = max(12, round(26 * scale))
            lw, lh = round(300 * scale), round(44 * scale)
            c = Canvas(lw, lh, (10, 10, 10))
            c.text_in(
                (0, 0, lw, lh), f"{channel.number} {channel.name}", size, pad=round(10 * scale)
            )
            self.logo = c.to_bgr()
            self.logo_xy = (round(40 * scale), round(30 * scale))

    @staticmethod
    def _bounce(pos: float, span: int) -> int:
        if span <= 0:
            return 0
        p = pos % (2 * span)
        return int(p if p < span else 2 * span - p)

    def draw(self, out: np.ndarray, t: float) -> None:
        """Draw the picture at time ``t`` into ``out`` (H x W x 3, same size)."""
        off = int(t * self.speed) % self.period
        out[:] = self.texture[:, off : off + self.width]
        tt = t + self.phase
        r = self.radius
        cx = r + self._bounce(tt * self.vx, self.width - 2 * r)
        cy = r + self._bounce(tt * self.vy, self.height - 2 * r)
        cv2.circle(out, (cx, cy), r, self.shape_color, -1, cv2.LINE_8)
        b = self.box
        bx = self._bounce(tt * self.vy * 1.3 + 200, self.width - b)
        by = self._bounce(tt * self.vx * 0.7 + 100, self.height - b)
        out[by : by + b, bx : bx + b] = self.shape2_color
        if self.logo is not None:
            x, y = self.logo_xy
            lh, lw = self.logo.shape[:2]
            out[y : y + lh, x : x + lw] = self.logo


class VideoSource:
    """Lazily built :class:`ChannelPicture` objects, keyed by channel and size."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._cache: dict[tuple[int, int, int], ChannelPicture] = {}

    def picture(self, index: int, width: int, height: int) -> ChannelPicture:
        """The picture of ``CHANNELS[index]`` at ``width`` x ``height``."""
        key = (index, width, height)
        pic = self._cache.get(key)
        if pic is None:
            pic = ChannelPicture(CHANNELS[index], width, height, self._seed, logo=width >= 640)
            self._cache[key] = pic
        return pic

"""vision.wait_for_text: waiting for text on saved or streamed frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pytest_virtualpy.errors import TextTimeout
from pytest_virtualpy.vision import Frame, Region, wait_for_text


def _frame(text: str | None, t: float) -> Frame:
    img = Image.new("RGB", (480, 120), (20, 20, 40))
    if text:
        ImageDraw.Draw(img).text((20, 30), text, font=ImageFont.load_default(size=40), fill="white")
    return Frame(np.asarray(img)[:, :, ::-1].copy(), time=t)


def test_returns_when_the_text_appears():
    frames = [_frame(None, 0.0), _frame(None, 0.5), _frame("Channel 102", 1.0)]
    result = wait_for_text("102", iter(frames), timeout_secs=5)
    assert result
    assert result.time == 1.0
    assert "102" in result.text


def test_times_out_on_frame_time_with_what_was_read():
    frames = (_frame("Channel 101", i * 0.5) for i in range(100))
    with pytest.raises(TextTimeout, match="'102' not seen") as info:
        wait_for_text("102", frames, timeout_secs=1.0, region=Region(0, 0, 480, 120))
    assert "101" in info.value.last_text
    assert info.value.frame.time == pytest.approx(1.0)  # stopped after 1 s of frame time

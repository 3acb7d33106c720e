"""OCR with rapidocr on text rendered by Pillow's built-in scalable font.

The engine is created once (module fixture) because its first call is slow.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.vision import Frame, Region, is_no_signal, match_text, ocr, ocr_lines

LINE = Region(100, 200, 700, 70)


def _render() -> np.ndarray:
    img = Image.new("RGB", (1280, 720), (40, 30, 20))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=40)
    draw.text((120, 210), "Firmware version 4.2.1", font=font, fill=(255, 255, 255))
    draw.text((120, 420), "Channel 102", font=ImageFont.load_default(size=32), fill=(230, 230, 0))
    return np.ascontiguousarray(np.array(img)[:, :, ::-1])


@pytest.fixture(scope="module")
def frame() -> Frame:
    f = Frame(_render(), time=42.0)
    ocr(f, LINE)  # warm up: creates and caches the engine
    return f


def test_ocr_reads_rendered_text(frame) -> None:
    assert ocr(frame, LINE) == "Firmware version 4.2.1"


def test_ocr_whole_frame_in_reading_order(frame) -> None:
    text = ocr(frame)
    assert text.splitlines() == ["Firmware version 4.2.1", "Channel 102"]
    lines = ocr_lines(frame)
    assert LINE.contains(lines[0].region) or LINE.intersect(lines[0].region)


def test_ocr_whitelist_and_line_mode(frame) -> None:
    region = Region(100, 405, 400, 60)
    assert ocr(frame, region, char_whitelist="0123456789").strip() == "102"
    assert "102" in ocr(frame, region, mode="line")


def test_match_text(frame) -> None:
    result = match_text("firmware VERSION 4.2.1", frame)
    assert result and result.time == 42.0
    assert result.region.intersect(LINE) is not None
    assert "Channel 102" in result.text
    assert result.to_dict()["match"] is True
    assert not match_text("firmware VERSION", frame, LINE, case_sensitive=True)
    assert match_text("Firmware versi0n 4.2.l", frame, LINE)  # tolerant of 0/O, 1/l
    assert not match_text("Firmware versi0n 4.2.l", frame, LINE, tolerant=False)
    assert not match_text("Settings", frame, LINE)


def test_no_signal_with_ocr(frame) -> None:
    img = np.zeros((720, 1280, 3), np.uint8)
    img[:360] = (120, 60, 0)
    img[360:] = (0, 120, 60)  # two colours: not uniform
    pil = Image.fromarray(img[:, :, ::-1].copy())
    ImageDraw.Draw(pil).text((500, 330), "No Signal", font=ImageFont.load_default(size=48))
    two_tone = np.ascontiguousarray(np.array(pil)[:, :, ::-1])
    assert not is_no_signal(two_tone)
    assert is_no_signal(two_tone, use_ocr=True)


@pytest.mark.skipif(shutil.which("tesseract") is not None, reason="tesseract is installed")
def test_tesseract_missing_is_a_clear_error(frame) -> None:
    with pytest.raises(ConfigError, match="tesseract"):
        ocr(frame, LINE, engine="tesseract")


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
def test_tesseract_engine(frame) -> None:
    assert "Firmware" in ocr(frame, LINE, engine="tesseract")

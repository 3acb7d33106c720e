"""OCR's CPU cuts: the same pixels are read once, and onnxruntime runs one thread per model.

Real rapidocr on text rendered by Pillow; the counters of the process's result memory
show whether the engine ran.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.vision import Region, match_text, ocr, ocr_lines
from pytest_virtualpy.vision.ocr_cache import ENTRIES_ENV, ResultCache, entries_from_env
from pytest_virtualpy.vision.ocr_engine import THREADS_ENV, ocr_threads, rapidocr_engine, results

LINE = Region(100, 200, 700, 70)


def _frame(text: str = "Firmware version 4.2.1") -> np.ndarray:
    img = Image.new("RGB", (1280, 720), (40, 30, 20))
    ImageDraw.Draw(img).text(
        (120, 210), text, font=ImageFont.load_default(size=40), fill=(255, 255, 255)
    )
    return np.ascontiguousarray(np.array(img)[:, :, ::-1])


@pytest.fixture
def memory() -> ResultCache:
    cache = results()
    cache.clear()
    yield cache
    cache.clear()


def test_the_same_pixels_are_read_once(memory) -> None:
    frame = _frame()
    assert ocr(frame, LINE) == "Firmware version 4.2.1"
    assert (memory.hits, memory.misses) == (0, 1)
    assert ocr(frame.copy(), LINE) == "Firmware version 4.2.1"  # equal pixels, new array
    assert match_text("Firmware version", frame, LINE)
    assert (memory.hits, memory.misses) == (2, 1)


def test_other_pixels_or_settings_are_read_again(memory) -> None:
    frame = _frame()
    ocr(frame, LINE)
    assert ocr(_frame("Firmware version 4.2.2"), LINE) == "Firmware version 4.2.2"
    assert ocr(frame, LINE, char_whitelist="0123456789.").replace(" ", "") == "4.2.1"
    ocr(frame, LINE, mode="line")
    moved = Region(LINE.x, LINE.y - 1, LINE.width, LINE.height)  # other frame coordinates
    ocr(frame, moved)
    assert (memory.hits, memory.misses) == (0, 5)


def test_remembered_lines_cannot_be_changed(memory) -> None:
    """Lines are frozen, so the remembered ones can be handed out: no caller can change them."""
    frame = _frame()
    first = ocr_lines(frame, LINE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first[0].text = "changed by the caller"
    first.clear()  # the list is the caller's own
    again = ocr_lines(frame, LINE)
    assert again[0].text == "Firmware version 4.2.1"
    assert again[0].region == ocr_lines(frame, LINE)[0].region
    assert LINE.contains(again[0].region)


def test_memory_is_bounded_and_can_be_turned_off(monkeypatch) -> None:
    cache = ResultCache(max_entries=2)
    keys = [cache.key(np.full((2, 2, 3), i, np.uint8), ("rapidocr",)) for i in range(3)]
    for i, key in enumerate(keys):
        cache.put(key, (f"line {i}",))
    assert cache.get(keys[0]) is None  # the least recently used went first
    assert cache.get(keys[2]) == ("line 2",)
    monkeypatch.setenv(ENTRIES_ENV, "0")
    off = ResultCache(entries_from_env())
    off.put(keys[0], ("x",))
    assert off.get(keys[0]) is None
    monkeypatch.setenv(ENTRIES_ENV, "lots")
    with pytest.raises(ConfigError, match=r"VIRTUALPY_OCR_CACHE must be a whole number.*0 turns"):
        entries_from_env()


def test_onnxruntime_runs_one_thread_per_model(monkeypatch) -> None:
    engine = rapidocr_engine()
    for part in (engine.text_det.infer, engine.text_rec.session):
        assert part.session.get_session_options().intra_op_num_threads == 1
    monkeypatch.setenv(THREADS_ENV, "2")
    assert ocr_threads() == 2
    monkeypatch.setenv(THREADS_ENV, "0")
    with pytest.raises(ConfigError, match="VIRTUALPY_OCR_THREADS must be a whole number"):
        ocr_threads()

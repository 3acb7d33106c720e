"""OCR reads what a person reads: words apart, £ and ö, the matched words' region, in time.

Bug reproductions of issue 11 (each failed on the code before it): spaces dropped
("YOUVIEWMENU"), £ and ö lost, `match_text` returning the whole row, and full-frame OCR so
slow (3 s a 720p frame) that `wait_for_text` with no region missed a 2-second overlay.
Real engines on stb-tester's images (``data/stbt_ocr``, LGPL-2.1) and on text drawn here.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pytest_virtualpy.errors import BadArgument, ConfigError
from pytest_virtualpy.vision import (
    Frame,
    OcrLine,
    Region,
    TextMatchResult,
    match,
    match_text,
    ocr,
    ocr_lines,
    wait_for_text,
)
from pytest_virtualpy.vision.ocr_engine import tessdata_dir

DATA = Path(__file__).parent / "data" / "stbt_ocr"


def load(name: str) -> np.ndarray:
    image = cv2.imread(str(DATA / name), cv2.IMREAD_COLOR)
    assert image is not None, name
    return image


def _screen(overlay: bool = False) -> np.ndarray:
    """A 720p menu screen: a title bar, two items on one row, a banner; an optional overlay."""
    img = Image.new("RGB", (1280, 720), (16, 24, 48))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=34)
    d.rectangle((0, 0, 1280, 70), fill=(30, 40, 80))
    d.text((40, 16), "virtualpy", font=font, fill=(240, 240, 240))
    d.text((1080, 16), "08:00", font=font, fill=(240, 240, 240))
    d.text((100, 200), "Channel 102", font=font, fill=(255, 255, 255))
    d.text((700, 200), "News 24", font=font, fill=(255, 255, 255))
    d.rectangle((80, 300, 560, 380), fill=(220, 220, 220))
    d.text((100, 320), "Parental control", font=font, fill=(20, 20, 20))
    titles = [
        "Business Today",
        "Morning Briefing",
        "Tennis Highlights",
        "Cycling Tour",
        "Night Train",
        "Silver Harbour",
        "Cartoon Club",
        "Puzzle Pals",
        "Space Rangers",
    ]
    small = ImageDraw.Draw(img)
    for i, title in enumerate(titles * 2):  # a guide's worth of text below
        row, col = divmod(i, 3)
        small.text(
            (620 + 220 * col, 300 + 40 * row),
            title,
            font=ImageFont.load_default(size=22),
            fill=(200, 200, 210),
        )
    if overlay:
        d.rectangle((40, 560, 560, 650), fill=(200, 30, 30))
        d.text((80, 585), "Recording started", font=font, fill=(255, 255, 255))
    return np.ascontiguousarray(np.array(img)[:, :, ::-1])


@pytest.mark.parametrize("engine", ["auto", "rapidocr"])
def test_words_are_kept_apart(engine) -> None:
    """stbt's action panel: "YOUVIEW MENU" next to the blue button (read "YOUVIEWMENU")."""
    frame = load("action-panel-crop.png")
    button = match(load("action-panel-blue-button.png"), frame)
    assert button and button.region == Region(40, 30, 36, 19)
    assert ocr(frame, region=Region(76, 30, 150, 19), engine=engine) == "YOUVIEW MENU"


def test_currency_signs_and_accented_letters() -> None:
    """stbt's unicode.png (the default engine read "500" and "Rothlisberger")."""
    frame = load("unicode.png")
    assert ocr(frame) == "£500\nDavid Röthlisberger"
    assert match_text("£500", frame, tolerant=False)
    assert not match_text("Rothlisberger", frame, tolerant=False)


def test_match_text_region_is_the_matched_words() -> None:
    """On stbt's menu, "Onion Bhaji" is found in its own cell, not as the whole row."""
    frame = load("menu.png")
    cell = Region(40, 120, 240, 80)
    result = match_text("Onion Bhaji", frame)
    assert result and cell.contains(result.region), result.region
    assert result.region.width < 200


#: stbt's menu.png: (item, its cell); three items wrap onto a second line in their cell
MENU_CELLS = [
    ("Mozzarella Pasta Bake", Region(360, 120, 240, 80)),
    ("Lamb and Date Casserole", Region(680, 120, 240, 80)),
    ("Halloumi Stuffed Peppers", Region(1000, 400, 240, 80)),
    ("Jerk Chicken", Region(1000, 120, 240, 80)),
]


@pytest.mark.parametrize(("item", "cell"), MENU_CELLS)
def test_match_text_finds_an_item_that_wraps_within_its_cell(item, cell) -> None:
    """A wrapped item reads on down its column, not into the next cell of its row
    (stb-tester's own case skips these: it does not find them)."""
    result = match_text(item, load("menu.png"))
    assert result and cell.contains(result.region), (item, result.region)


def test_words_of_neighbouring_cells_are_not_one_item() -> None:
    frame = load("menu.png")
    assert not match_text("Pasta Bake Lamb", frame)  # down one column, then across
    assert not match_text("Bake Onion", frame)


@pytest.mark.parametrize("engine", ["auto", "rapidocr"])
def test_match_text_region_on_a_row_of_two_items(engine) -> None:
    frame = _screen()
    news = match_text("News 24", frame, engine=engine)
    channel = match_text("channel 102", frame, engine=engine)
    assert news and channel
    assert news.region.x >= 690 and Region(690, 190, 260, 60).contains(news.region)
    assert Region(90, 190, 300, 60).contains(channel.region)
    assert "Channel 102" in news.text and "News 24" in news.text


def test_words_have_their_own_regions_inside_their_line() -> None:
    lines = ocr_lines(_screen())
    row = next(line for line in lines if "Channel" in line.text)
    assert [w.text for w in row.words] == ["Channel", "102", "News", "24"]
    assert all(row.region.contains(w.region) for w in row.words)
    xs = [w.region.x for w in row.words]
    assert xs == sorted(xs) and row.words[1].region.right < row.words[2].region.x


def test_light_and_dark_text_on_one_screen() -> None:
    """White on dark blue and dark on a light tile, read together with no region."""
    text = ocr(_screen())
    assert any(line.startswith("Parental control") for line in text.splitlines())
    assert "virtualpy 08:00" in text.splitlines()


def test_results_are_frozen_and_can_be_false() -> None:
    lines = ocr_lines(_screen())
    assert lines and all(lines)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lines[0].text = "x"
    assert not OcrLine("", Region(0, 0, 1, 1), 0.0)
    result = match_text("Channel 102", _screen())
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.match = False
    missing = match_text("Recording started", _screen())
    assert isinstance(missing, TextMatchResult) and not missing


def test_wait_for_text_with_no_region_catches_a_2_second_overlay() -> None:
    """Live frames on the wall clock: the overlay shows from 1 s to 3 s; the whole frame.

    Each frame differs from the last in one pixel, as captured video does, so no frame is
    answered from the memory of earlier reads: every read is a full-frame OCR.
    """
    plain, shown = _screen(), _screen(overlay=True)
    ocr(plain)  # warm: the engine is loaded once per process

    def live():
        t0 = time.monotonic()
        for n in range(100_000):
            now = time.monotonic() - t0
            frame = (shown if 1.0 <= now < 3.0 else plain).copy()
            frame[719, 1279] = (n % 256, n // 256 % 256, 0)  # like capture noise
            yield Frame(frame, time=now)

    result = wait_for_text("Recording started", live(), timeout_secs=6)
    assert result
    assert 1.0 <= result.time < 3.0
    assert Region(40, 560, 520, 90).contains(result.region)


def test_a_language_that_is_not_installed_is_a_clear_error() -> None:
    if tessdata_dir() and os.path.isfile(os.path.join(tessdata_dir(), "pol.traineddata")):
        pytest.skip("Polish data is installed here")
    with pytest.raises(ConfigError, match="tesseract-ocr-"):
        ocr(load("small.png"), lang="pol")
    with pytest.raises(BadArgument, match="engine must be one of"):
        ocr(load("small.png"), engine="easyocr")


def test_falling_back_to_rapidocr_is_said_once(monkeypatch) -> None:
    """Where tesseract is missing (here: its in-process API says so), "auto" reads with
    rapidocr, which cannot read £ or ö: a warning says so and what to install, once."""
    ocr_module = importlib.import_module("pytest_virtualpy.vision.ocr")  # not vision.ocr()
    monkeypatch.setattr(ocr_module, "tesserocr_api", lambda lang: None)
    monkeypatch.setattr(ocr_module, "_fallback_said", False)
    frame = load("small.png")
    with pytest.warns(ocr_module.OcrEngineWarning, match="rapidocr.*pip install tesserocr"):
        read = ocr(frame)
    assert read == ocr(frame, engine="rapidocr")  # what it read is rapidocr's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ocr(frame)  # said already: no second warning
        ocr(frame, engine="rapidocr")  # chosen: nothing to say

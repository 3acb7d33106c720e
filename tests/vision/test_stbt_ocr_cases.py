"""stb-tester's OCR cases (its ``tests/test_ocr.py``) that expect text in an image, ported.

The images are stb-tester's own (LGPL-2.1, see ``data/stbt_ocr/README.md``). Each case
reads with the default engine, as a test would. Where stbt needs an option we do not
have (``text_color``, ``tesseract_user_words``, ``lang="pol"``), the case checks that the
text a person reads is found without it; where stbt's expected text is a tesseract misread
("BBC iPIayer"), the case expects what is on screen. Not ported: ``ocr_eq`` and
``apply_ocr_corrections`` (no such functions here), tesseract config/user-pattern
options, the cache timing test, result stringification, and the multi-line menu items
(stbt does not support those either).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pytest_virtualpy.vision import Region, match, match_text, ocr
from pytest_virtualpy.vision.ocr_engine import default_lang, tesserocr_api
from pytest_virtualpy.vision.ocr_text import normalise_text

DATA = Path(__file__).parent / "data" / "stbt_ocr"

needs_latin = pytest.mark.skipif(
    "deu" not in default_lang() or tesserocr_api(default_lang()) is None,
    reason="reading £ and ö needs tesseract (the tesserocr package) with the eng and deu data "
    "(apt-get install tesseract-ocr-eng tesseract-ocr-deu); .ci/run installs them",
)


def load(name: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    image = cv2.imread(str(DATA / name), flags)
    assert image is not None, f"missing test image {name}"
    return image


@pytest.mark.parametrize(
    ("image", "expected", "region"),
    [
        ("Connection-status--white-on-dark-blue.png", "Connection status: Connected", Region.ALL),
        ("Connection-status--white-on-dark-blue.png", "Connected", Region(210, 0, 120, 40)),
        ("programme--white-on-black.png", "programme", Region.ALL),
        ("Operacja-Napoleon.png", "Operacja Napoleon", Region.ALL),
    ],
)
def test_ocr_on_static_images(image, expected, region) -> None:
    assert ocr(load(image), region) == expected


def test_letters_in_separate_boxes() -> None:
    """stbt reads "UJJM" in single-line mode; four boxed letters are four words here."""
    assert match_text("UJJM", load("UJJM--white-text-on-gray-boxes.png"))


@pytest.mark.parametrize("region", [None, Region(1280, 0, 1280, 720)])
def test_that_ocr_region_none_isnt_allowed(region) -> None:
    frame = load("small.png")
    with pytest.raises((TypeError, ValueError), match="region"):
        ocr(frame, region)
    with pytest.raises((TypeError, ValueError), match="region"):
        match_text("Small", frame, region)


@needs_latin
def test_that_ocr_reads_unicode() -> None:
    text = ocr(load("unicode.png"))
    assert isinstance(text, str)
    assert text == "£500\nDavid Röthlisberger"


@needs_latin
def test_that_match_text_accepts_unicode() -> None:
    frame = load("unicode.png")
    assert match_text("David", frame)  # ascii
    assert match_text("Röthlisberger", frame)  # unicode
    assert match_text("Röthlisberger".encode(), frame)  # utf-8 bytes
    assert match_text("£500", frame)
    assert not match_text("Rothlisberger", frame, tolerant=False)  # ö is not o


def test_that_ocr_can_read_small_text() -> None:
    assert ocr(load("small.png")) == "Small anti-aliased text is hard to read\nunless you magnify"


LIGATURE_TEXT = """\
All the similar "quotes" and "quotes",
'quotes' and 'quotes' should be recognised.

For the avoidance of sillyness so should the
ligatures in stiff, filter, fluid, affirm, afflict,
and adrift.

normal-hyphen, non-breaking hyphen,
figure-dash, en-dash, em-dash,
horizontal-bar."""


def test_that_ligatures_and_ambiguous_punctuation_are_normalised() -> None:
    frame = load("ambig.png")
    read = normalise_text(ocr(frame), case_sensitive=True)
    assert read == normalise_text(LIGATURE_TEXT, case_sensitive=True)
    assert match_text("em-dash,", frame)
    assert match_text("em\u2014dash,", frame)


@pytest.mark.parametrize("image", ["192.168.10.1.png", "Crunchyroll.png", "ch8.png"])
def test_single_line(image) -> None:
    expected = {"192.168.10.1.png": "192.168.10.1", "Crunchyroll.png": "Crunchyroll"}
    assert ocr(load(image), mode="line") == expected.get(image, "8")


def test_char_whitelist() -> None:
    """Without the whitelist tesseract reads "OO" (stbt); with it, "00"."""
    assert ocr(load("00.png"), mode="line", char_whitelist="0123456789") == "00"


MENU = [
    ["Onion Bhaji", "Mozzarella Pasta\nBake", "Lamb and Date\nCasserole", "Jerk Chicken"],
    ["Beef Wellington", "Kerala Prawn Curry", "Chocolate Fudge Cake", "Halloumi Stuffed\nPeppers"],
]


def iterate_menu():
    for x in range(4):
        for y in range(2):
            yield MENU[y][x], Region((1 + 8 * x) * 40, (3 + 7 * y) * 40, 6 * 40, 2 * 40)


@pytest.mark.parametrize("upscale", [None, 1.0])
def test_that_text_location_is_recognised(upscale) -> None:
    frame = load("menu.png")
    for text, cell in iterate_menu():
        if "\n" in text:
            continue  # multi-line items: not supported by stbt either
        result = match_text(text, frame, upscale=upscale)
        assert result, text
        assert cell.contains(result.region), (text, result.region)


def test_that_text_region_is_correct_even_with_regions_larger_than_frame() -> None:
    frame = load("menu.png")
    text, cell = list(iterate_menu())[6]
    result = match_text(text, frame, region=cell.extend(right=+12800))
    assert result
    assert cell.contains(result.region)


def test_that_match_text_returns_no_match_for_non_matching_text() -> None:
    assert not match_text("Noodle Soup", load("menu.png"))


def test_match_text_on_single_channel_image() -> None:
    assert match_text("Onion Bhaji", load("menu.png", cv2.IMREAD_GRAYSCALE))


def test_match_text_case_sensitivity() -> None:
    frame = load("menu.png", cv2.IMREAD_GRAYSCALE)
    assert match_text("ONION BHAJI", frame)
    assert match_text("ONION BHAJI", frame, case_sensitive=False)
    assert not match_text("ONION BHAJI", frame, case_sensitive=True)


def test_itv_player_without_a_hint() -> None:
    """stbt gives tesseract the word "ITV" as a hint; it is read without one here."""
    assert match_text("ITV Player", load("itv-player.png"))


def test_ocr_on_text_next_to_image_match() -> None:
    frame = load("action-panel-crop.png")
    m = match(load("action-panel-blue-button.png"), frame)
    assert m
    assert ocr(frame, region=m.region.right_of(width=150)) == "YOUVIEW MENU"


def test_selected_button_is_read_without_text_color() -> None:
    """stbt needs ``text_color`` for the selected (white on light blue) "Summary" button."""
    result = match_text("Summary", load("Summary.png"))
    assert result
    details = match_text("Details", load("Summary.png"))
    assert details and result.region.right <= details.region.x


APPLETV = {  # name: (stbt's region in the full frame, where our crop starts)
    "BBC-iPlayer": (Region(635, 354, right=843, bottom=389), (605, 324), "BBC iPlayer"),
    "BT-Sport": (Region(236, 267, right=448, bottom=302), (206, 237), "BT Sport"),
    "Crunchyroll": (Region(835, 441, right=1041, bottom=476), (805, 411), "Crunchyroll"),
    "YouTube": (Region(42, 235, right=245, bottom=270), (12, 205), "YouTube"),
}


@pytest.mark.parametrize("name", sorted(APPLETV))
def test_app_titles_over_pictures(name) -> None:
    region, (ox, oy), expected = APPLETV[name]
    frame = load(f"appletv-{name}-crop.png")
    assert ocr(frame, region.translate(-ox, -oy)) == expected

"""OCR with rapidocr and tesseract on text rendered by Pillow's built-in scalable font.

The rapidocr engine is created once (module fixture) because its first call is slow.
The tesseract tests run the real ``tesseract`` binary and are skipped where it is not
installed (it is a system package, not a pip dependency); the command-line and TSV
parsing tests run everywhere.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.vision import Frame, Region, is_no_signal, match_text, ocr, ocr_lines
from pytest_virtualpy.vision.ocr_engine import results
from pytest_virtualpy.vision.ocr_prepare import Prepared

LINE = Region(100, 200, 700, 70)
ocr_module = importlib.import_module("pytest_virtualpy.vision.ocr")  # not the `ocr` function
tess_module = importlib.import_module("pytest_virtualpy.vision.ocr_tesseract")


def _render() -> np.ndarray:
    img = Image.new("RGB", (1280, 720), (40, 30, 20))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=40)
    draw.text((120, 210), "Firmware version 4.2.1", font=font, fill=(255, 255, 255))
    draw.text((120, 420), "Channel 102", font=ImageFont.load_default(size=32), fill=(230, 230, 0))
    return np.ascontiguousarray(np.array(img)[:, :, ::-1])


@pytest.fixture(autouse=True)
def _read_for_real() -> None:
    """Each test runs the engine: a remembered result would hide a faked or missing one."""
    results().clear()
    yield
    results().clear()


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


# --- tesseract -------------------------------------------------------------------------

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None and not os.environ.get("CI"),  # CI installs it: runs
    reason="the tesseract binary is not installed (apt-get install tesseract-ocr); "
    "it is optional: the default engine is rapidocr",
)


def test_tesseract_missing_is_a_clear_error(frame, monkeypatch) -> None:
    """Neither tesserocr (in process) nor the binary: a clear error; "auto" uses rapidocr."""
    monkeypatch.setattr(tess_module, "tesserocr_api", lambda lang: None)
    monkeypatch.setattr(ocr_module, "tesserocr_api", lambda lang: None)
    monkeypatch.setattr(tess_module.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="apt-get install tesseract-ocr"):
        ocr(frame, LINE, engine="tesseract")
    # the default engine does not need it: a machine with only pip packages works (saying
    # once that it falls back, see test_vision_ocr_words)
    monkeypatch.setattr(ocr_module, "_fallback_said", False)
    with pytest.warns(ocr_module.OcrEngineWarning):
        assert ocr(frame, LINE) == "Firmware version 4.2.1"
    assert ocr(frame, LINE, engine="auto") == "Firmware version 4.2.1"
    assert ocr_module._engine("auto", "eng") == "rapidocr"


def test_tesseract_command_line(frame, monkeypatch) -> None:
    """LSTM engine, a page-segmentation mode per ``mode``, the whitelist passed on."""
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append((cmd, kwargs))
        header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\t"
        header += "left\ttop\twidth\theight\tconf\ttext\n"
        return subprocess.CompletedProcess(cmd, 0, header.encode(), b"")

    monkeypatch.setattr(tess_module, "tesserocr_api", lambda lang: None)  # the binary, then
    monkeypatch.setattr(tess_module.shutil, "which", lambda name: "/usr/bin/tesseract")
    monkeypatch.setattr(tess_module.subprocess, "run", fake_run)
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    assert ocr(frame, LINE, engine="tesseract", lang="eng") == ""
    ocr(frame, LINE, engine="tesseract", mode="line", char_whitelist="0123456789", lang="eng")
    ocr(frame, engine="tesseract", lang="eng")  # the whole frame: sparse text
    (block, kw), (line, _), (screen, _) = calls
    assert block[:3] == ["/usr/bin/tesseract", "stdin", "stdout"]
    assert block[block.index("--oem") + 1] == "1"  # LSTM: Debian's eng data has no legacy model
    assert block[block.index("--psm") + 1] == "6"  # a region: a uniform block of text
    assert screen[screen.index("--psm") + 1] == "11"  # most of the frame: sparse text
    assert line[line.index("--psm") + 1] == "7"  # a single line
    assert block[block.index("-l") + 1] == "eng"
    assert "tessedit_char_whitelist=0123456789" in line
    assert not any("whitelist" in arg for arg in block)
    assert block[-1] == line[-1] == "tsv"
    assert kw["env"]["OMP_THREAD_LIMIT"] == "1"
    assert kw["input"].startswith(b"\x89PNG")


def test_tesseract_tsv_to_frame_regions() -> None:
    """Word boxes in the upscaled, padded crop map back to frame coordinates by line."""
    rows = [
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext",
        "1\t1\t0\t0\t0\t0\t0\t0\t400\t200\t-1\t",
        "4\t1\t1\t1\t1\t0\t8\t8\t200\t40\t-1\t",
        "5\t1\t1\t1\t1\t1\t8\t8\t100\t40\t96.5\tChannel",
        "5\t1\t1\t1\t1\t2\t128\t8\t80\t40\t90.0\t102",
        "5\t1\t1\t1\t2\t1\t48\t108\t60\t40\t80.0\tNews",
        "5\t1\t1\t1\t2\t2\t120\t108\t20\t40\t10.0\t ",
    ]
    crop = Prepared(np.zeros((216, 416, 3), np.uint8), Region(100, 50, 200, 100), 2.0, 8)
    lines = tess_module.parse_tsv("\n".join(rows), crop, char_whitelist=None)
    assert [line.text for line in lines] == ["Channel 102", "News"]
    assert lines[0].region == Region(100, 50, 100, 20)
    assert lines[0].confidence == pytest.approx(0.90)
    assert [w.region for w in lines[0].words] == [Region(100, 50, 50, 20), Region(160, 50, 40, 20)]
    assert lines[1].region == Region(120, 100, 30, 20)
    digits = tess_module.parse_tsv("\n".join(rows), crop, char_whitelist="0123456789")
    assert [line.text for line in digits] == ["102"]


@needs_tesseract
def test_tesseract_reads_rendered_text(frame) -> None:
    assert ocr(frame, LINE, engine="tesseract") == "Firmware version 4.2.1"
    assert ocr(frame, LINE, engine="tesseract", mode="line") == "Firmware version 4.2.1"


@needs_tesseract
def test_tesseract_lines_in_reading_order_with_regions(frame) -> None:
    lines = ocr_lines(frame, engine="tesseract")
    assert [line.text for line in lines] == ["Firmware version 4.2.1", "Channel 102"]
    assert LINE.contains(lines[0].region)
    assert Region(100, 405, 400, 60).contains(lines[1].region)
    assert all(0.5 < line.confidence <= 1.0 for line in lines)


@needs_tesseract
def test_tesseract_whitelist_and_match_text(frame) -> None:
    region = Region(100, 405, 400, 60)
    assert ocr(frame, region, engine="tesseract", char_whitelist="0123456789") == "102"
    result = match_text("CHANNEL 102", frame, engine="tesseract")  # case-insensitive
    assert result and result.region.intersect(region) is not None
    assert not match_text("CHANNEL 102", frame, engine="tesseract", case_sensitive=True)


@needs_tesseract
def test_tesseract_dark_text_on_light_background() -> None:
    img = Image.new("RGB", (640, 120), (235, 235, 235))
    ImageDraw.Draw(img).text(
        (20, 30), "Parental control", font=ImageFont.load_default(size=40), fill=(20, 20, 20)
    )
    frame = np.ascontiguousarray(np.array(img)[:, :, ::-1])
    assert ocr(frame, engine="tesseract") == "Parental control"


@pytest.mark.parametrize("engine", ["rapidocr", pytest.param("tesseract", marks=needs_tesseract)])
def test_small_text_is_upscaled(engine) -> None:
    """11 px text in a 20 px tall region: the default upscale enlarges it 3.2x."""
    img = Image.new("RGB", (200, 20), (18, 22, 38))
    ImageDraw.Draw(img).text(
        (4, 3), "Sports One 102", font=ImageFont.load_default(size=13), fill=(240, 240, 240)
    )
    frame = np.ascontiguousarray(np.array(img)[:, :, ::-1])
    assert match_text("sports one 102", frame, engine=engine)
    assert ocr(frame, engine=engine, upscale=3.0, mode="line").replace(" ", "") == "SportsOne102"


def test_normalise_text_case_folds_before_tolerant_mapping() -> None:
    """ "CHANNEL" must equal an OCR read of "Channel" (upper-case L is not an OCR "1")."""

    def norm(text: str, **kw) -> str:
        return ocr_module.normalise_text(text, tolerant=True, **kw)  # still importable there

    assert norm("CHANNEL 102") == norm("Channel 1O2") == norm("channel102") == "channe1102"
    assert norm("CHANNEL", case_sensitive=True) != norm("Channel", case_sensitive=True)
    assert ocr_module.normalise_text("Firmware  version\n4.2.1") == "firmware version 4.2.1"


@pytest.mark.parametrize("engine", ["rapidocr", pytest.param("tesseract", marks=needs_tesseract)])
def test_line_mode_trims_a_loose_region_to_its_text(frame, engine) -> None:
    loose = Region(60, 120, 900, 230)  # 230 px tall around 40 px text
    lines = ocr_lines(frame, loose, mode="line", engine=engine)
    assert [line.text for line in lines] == ["Firmware version 4.2.1"]
    assert loose.contains(lines[0].region) and lines[0].region.height < 80

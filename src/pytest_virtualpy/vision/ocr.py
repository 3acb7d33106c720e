"""Reading text on screen: `ocr` and `match_text`.

The default engine is rapidocr-onnxruntime (PP-OCR models shipped in the
package, so it works offline). The engine is created on first use and cached;
that first call takes a second or two, later calls about 0.1 s for a small
region and 0.5 s for a whole 720p frame, so pass a ``region`` whenever you
can. ``engine="tesseract"`` runs the ``tesseract`` binary (LSTM engine) if it is
installed.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from pytest_virtualpy.errors import ConfigError

from .frame import frame_time
from .image import to_bgr, validate_frame
from .region import Region

__all__ = ["OcrLine", "TextMatchResult", "match_text", "ocr", "ocr_lines"]

_MODES = ("block", "line")
_ENGINES = ("auto", "rapidocr", "tesseract")
_lock = threading.Lock()
_rapid_engine: Any = None


@dataclass
class OcrLine:
    """One line of text that OCR read, with where it is (frame coordinates)."""

    text: str
    region: Region
    confidence: float


def _rapidocr() -> Any:
    global _rapid_engine
    with _lock:
        if _rapid_engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as e:  # pragma: no cover - it is a dependency
                raise ConfigError(
                    "OCR needs rapidocr-onnxruntime: pip install rapidocr-onnxruntime"
                ) from e
            # "max" keeps big frames from being scaled *up* (the default "min"
            # rule makes small crops 6x larger and detection seconds slower).
            _rapid_engine = RapidOCR(det_limit_type="max", det_limit_side_len=1280, use_cls=False)
        return _rapid_engine


def _prepare(
    frame: Any, region: Region, upscale: float | None
) -> tuple[np.ndarray, Region, float, int]:
    validate_frame(frame)
    clipped = region.clip(frame.shape[1], frame.shape[0])
    if clipped is None:
        raise ValueError(f"{region} is outside the {frame.shape[1]}x{frame.shape[0]} frame")
    crop = to_bgr(np.ascontiguousarray(frame[clipped.to_slice()]))
    if upscale is None:
        # Small text reads better bigger: aim for crops at least ~64 px tall.
        upscale = 1.0 if crop.shape[0] >= 64 else min(4.0, 64.0 / crop.shape[0])
    if upscale != 1.0:
        crop = cv2.resize(crop, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
    pad = 8  # text touching the edge is hard to detect
    crop = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return crop, clipped, float(upscale), pad


def _filter(text: str, char_whitelist: str | None) -> str:
    if not char_whitelist:
        return text
    allowed = set(char_whitelist) | {" "}
    return "".join(c for c in text if c in allowed)


def ocr_lines(
    frame: Any,
    region: Region = Region.ALL,
    *,
    char_whitelist: str | None = None,
    upscale: float | None = None,
    mode: str = "block",
    engine: str = "auto",
) -> list[OcrLine]:
    """Like `ocr`, but returns each line with its region and confidence."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if engine not in _ENGINES:
        raise ValueError(f"engine must be one of {_ENGINES}, got {engine!r}")
    crop, clipped, scale, pad = _prepare(frame, region, upscale)
    if engine == "tesseract":
        text = _tesseract(crop, mode, char_whitelist)
        return [OcrLine(line, clipped, 1.0) for line in text.splitlines() if line.strip()]

    eng = _rapidocr()
    lines: list[OcrLine] = []
    if mode == "line":
        result, _ = eng(crop, use_det=False, use_cls=False, use_rec=True)
        for text, score in result or []:
            text = _filter(text.strip(), char_whitelist)
            if text:
                lines.append(OcrLine(text, clipped, float(score)))
        return lines
    result, _ = eng(crop, use_cls=False)
    boxes = []
    for box, text, score in result or []:
        pts = np.asarray(box, dtype=np.float32)
        x0, y0 = (pts.min(axis=0) - pad) / scale
        x1, y1 = (pts.max(axis=0) - pad) / scale
        r = Region.from_extents(
            int(max(0, x0)) + clipped.x,
            int(max(0, y0)) + clipped.y,
            int(min(clipped.width, np.ceil(x1))) + clipped.x,
            int(min(clipped.height, np.ceil(y1))) + clipped.y,
        )
        boxes.append((r, text.strip(), float(score)))
    # Reading order: group boxes into rows (overlapping vertically), then left to right.
    boxes.sort(key=lambda b: (b[0].y, b[0].x))
    rows: list[list[tuple[Region, str, float]]] = []
    for b in boxes:
        centre = b[0].y + b[0].height / 2
        for row in rows:
            top = min(r.y for r, _, _ in row)
            bottom = max(r.bottom for r, _, _ in row)
            if top <= centre <= bottom:
                row.append(b)
                break
        else:
            rows.append([b])
    for row in rows:
        row.sort(key=lambda b: b[0].x)
        text = _filter(" ".join(t for _, t, _ in row), char_whitelist).strip()
        if not text:
            continue
        x = min(r.x for r, _, _ in row)
        y = min(r.y for r, _, _ in row)
        right = max(r.right for r, _, _ in row)
        bottom = max(r.bottom for r, _, _ in row)
        conf = min(s for _, _, s in row)
        lines.append(OcrLine(text, Region.from_extents(x, y, right, bottom), conf))
    return lines


def ocr(
    frame: Any,
    region: Region = Region.ALL,
    *,
    char_whitelist: str | None = None,
    upscale: float | None = None,
    mode: str = "block",
    engine: str = "auto",
) -> str:
    """Read the text in ``region`` of ``frame``.

    :param char_whitelist: only these characters are kept (for example
        ``"0123456789"`` for a channel number). rapidocr has no whitelist of
        its own, so other characters are dropped from what it read; tesseract
        is told the whitelist.
    :param upscale: scale factor applied before OCR; None picks one (crops less
        than 64 px tall are enlarged, which helps small text).
    :param mode: "block" (default: find the text lines, return them in reading
        order, one per line) or "line" (the region is a single line of text:
        recognition only, faster).
    :param engine: "auto" (rapidocr), "rapidocr" or "tesseract".
    :returns: the text, lines separated by newlines, whitespace normalised
        within each line.

    Example::

        assert ocr(frame, region=Region(80, 40, 300, 50)) == "Settings"
    """
    lines = ocr_lines(
        frame, region, char_whitelist=char_whitelist, upscale=upscale, mode=mode, engine=engine
    )
    return "\n".join(" ".join(line.text.split()) for line in lines)


def _tesseract(crop: np.ndarray, mode: str, char_whitelist: str | None) -> str:
    exe = shutil.which("tesseract")
    if exe is None:
        raise ConfigError(
            "engine='tesseract' needs the tesseract binary (apt-get install tesseract-ocr); "
            "or use the default engine (rapidocr)."
        )
    ok, png = cv2.imencode(".png", crop)
    assert ok
    cmd = [exe, "stdin", "stdout", "--oem", "1", "--psm", "7" if mode == "line" else "6"]
    if char_whitelist:
        cmd += ["-c", f"tessedit_char_whitelist={char_whitelist}"]
    proc = subprocess.run(cmd, input=png.tobytes(), capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise ConfigError(f"tesseract failed: {proc.stderr.decode(errors='replace').strip()}")
    return _filter(proc.stdout.decode("utf-8", errors="replace"), char_whitelist)


# --- match_text ------------------------------------------------------------------------

# Characters OCR commonly confuses, mapped to one representative (tolerant mode).
_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "i": "1", "|": "1"})


def normalise_text(text: str, *, case_sensitive: bool = False, tolerant: bool = False) -> str:
    """The form `match_text` compares: whitespace collapsed, optionally case-folded.

    ``tolerant`` also maps 0/O/o, 1/l/I/i/| to one character each and removes
    spaces, as OCR often confuses those and drops or adds spaces.
    """
    text = " ".join(text.split())
    if tolerant:
        text = text.translate(_CONFUSABLE).replace(" ", "")
    if not case_sensitive:
        text = text.casefold()
    return text


@dataclass
class TextMatchResult:
    """The result of `match_text`: truthy if the text was found.

    ``text`` is everything OCR read in the region; ``region`` is the line where
    the text was found (or the searched region if it wasn't).
    """

    time: float | None
    match: bool
    region: Region
    text: str
    expected: str
    frame: Any = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return bool(self.match)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "match": bool(self.match),
            "region": list(self.region.to_tuple()),
            "text": self.text,
            "expected": self.expected,
        }


def match_text(
    text: str,
    frame: Any,
    region: Region = Region.ALL,
    *,
    case_sensitive: bool = False,
    char_whitelist: str | None = None,
    upscale: float | None = None,
    tolerant: bool = True,
    mode: str = "block",
    engine: str = "auto",
) -> TextMatchResult:
    """Is ``text`` on screen in ``region``? (A substring search in what OCR reads.)

    Whitespace is normalised and the comparison is case-insensitive unless
    ``case_sensitive``. With ``tolerant`` (the default) the common OCR
    confusions 0/O and 1/l/I are treated as equal and spaces are ignored, so
    "Firmware version 4.2.1" matches a read of "Firmware versi0n 4.2.l".

    Example::

        assert match_text("Firmware version", frame, region=INFO_PANEL)
    """
    lines = ocr_lines(
        frame, region, char_whitelist=char_whitelist, upscale=upscale, mode=mode, engine=engine
    )
    full_text = "\n".join(" ".join(line.text.split()) for line in lines)
    clipped = region.clip(frame.shape[1], frame.shape[0]) or region

    def norm(s: str) -> str:
        return normalise_text(s, case_sensitive=case_sensitive, tolerant=tolerant)

    wanted = norm(text)
    found_region = None
    for line in lines:
        if wanted in norm(line.text):
            found_region = line.region
            break
    if found_region is None and wanted and wanted in norm(" ".join(full_text.split("\n"))):
        found_region = clipped
    return TextMatchResult(
        frame_time(frame),
        found_region is not None,
        found_region or clipped,
        full_text,
        text,
        frame,
    )

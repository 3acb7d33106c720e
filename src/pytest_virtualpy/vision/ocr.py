"""Reading text on screen: `ocr` and `match_text`.

Engines
-------
``engine="auto"`` (the default) is **rapidocr** (rapidocr-onnxruntime: PP-OCR models shipped
in the pip package, so it works offline on a machine that has nothing but Python). The engine is
created on first use and cached; that first call takes a second or two, later calls about 0.1 s
for a small region and 0.5 s for a whole 720p frame, so pass a ``region`` whenever you can.
Reading the very same pixels again with the same settings is answered from memory
(`ocr_cache`: a poll that sees an unchanged banner, every ``tune()`` reading it).

``engine="tesseract"`` runs the ``tesseract`` binary, a system package (Debian/Ubuntu:
``apt-get install tesseract-ocr``; tesseract 5), through a subprocess with the LSTM engine
(``--oem 1``; Debian's English data has no legacy model), ``--psm 6`` (a uniform block of text)
for ``mode="block"`` and ``--psm 7`` (one line) for ``mode="line"``, the whitelist as
``-c tessedit_char_whitelist=...`` (honoured by the LSTM engine in tesseract 5), grey levels
inverted to dark-on-light when the background is dark, one OpenMP thread, and TSV output so
each line comes back with its region and confidence. Without the binary it raises `ConfigError`.

Why rapidocr is the default (``bench/ocr_accuracy.py``, 2026-11-27; 139 crops of the simulated
box's screens at 1080p/720p/360p and 38 hand-labelled regions of real set-top-box, Roku, YouView
and Android screenshots; character accuracy = 1 - edit distance / length, whitespace-normalised):

==================  ================  ================  ==========================
engine              simulator         real screenshots  median per call (a crop)
==================  ================  ================  ==========================
rapidocr            97.4% (99.8%*)    97.4% (99.0%*)    ~80-160 ms
tesseract 5.3 LSTM  99.5% (99.5%*)    95.0% (95.5%*)    ~180-240 ms
==================  ================  ================  ==========================

(* spaces ignored.) tesseract reads the simulator's flat UI text slightly better (rapidocr's
errors there are almost all dropped spaces, e.g. "Serialnumber"); rapidocr is better on real
screenshots (tesseract loses text drawn over pictures and stylised logos), twice as fast, finds
text anywhere in a large region, and needs no system package. Averaged over the two sets
it is a tie (97.4% against 97.3%), but `match_text` (tolerant: ignores spaces) found the
expected text in 99.3% / 100% of crops with rapidocr against 97.1% / 94.7% with tesseract.
So "auto" is rapidocr everywhere (with or without the tesseract binary); choose tesseract
explicitly for exact spacing in simple UI text when it is installed.

Options: ``char_whitelist`` (e.g. digits for a channel number), ``upscale`` (small text is
enlarged; by default crops under 64 px tall: on 51 crops of text under 16 px this took
tesseract from 95.4% to 99.5%, and left rapidocr about level, 96.7% -> 95.4%), ``mode``
("block" or "line"; line mode first trims the region to its text); `match_text` is
case-insensitive unless ``case_sensitive`` and, with ``tolerant`` (the default), treats the
common confusions 0/O and 1/l/I as equal and ignores spaces.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from pytest_virtualpy.errors import ConfigError, TextTimeout

from .frame import frame_time
from .image import to_bgr, validate_frame
from .ocr_engine import rapidocr_engine, results
from .region import Region

__all__ = ["OcrLine", "TextMatchResult", "match_text", "ocr", "ocr_lines"]

_MODES = ("block", "line")
_ENGINES = ("auto", "rapidocr", "tesseract")


@dataclass
class OcrLine:
    """One line of text that OCR read, with where it is (frame coordinates)."""

    text: str
    region: Region
    confidence: float


def _trim(crop: np.ndarray, region: Region, margin: int = 4) -> tuple[np.ndarray, Region]:
    """Crop to the pixels that differ clearly from the background (the median grey level).

    Line mode recognises the whole crop as one line, so a region much taller or wider
    than its text reads badly (rapidocr: 77% of characters right on the simulator's
    one-line crops, 99% after trimming).
    """
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.int16)
    ink = np.abs(grey - int(np.median(grey))) > 48
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return crop, region
    y0, y1 = max(0, rows[0] - margin), min(crop.shape[0], rows[-1] + 1 + margin)
    x0, x1 = max(0, cols[0] - margin), min(crop.shape[1], cols[-1] + 1 + margin)
    trimmed = Region.from_extents(region.x + x0, region.y + y0, region.x + x1, region.y + y1)
    return np.ascontiguousarray(crop[y0:y1, x0:x1]), trimmed


def _prepare(
    frame: Any, region: Region, upscale: float | None, mode: str = "block"
) -> tuple[np.ndarray, Region, float, int]:
    validate_frame(frame)
    clipped = region.clip(frame.shape[1], frame.shape[0])
    if clipped is None:
        raise ValueError(f"{region} is outside the {frame.shape[1]}x{frame.shape[0]} frame")
    crop = to_bgr(np.ascontiguousarray(frame[clipped.to_slice()]))
    if mode == "line":
        crop, clipped = _trim(crop, clipped)
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
    crop, clipped, scale, pad = _prepare(frame, region, upscale, mode)
    cache = results()
    settings = (engine, mode, char_whitelist, scale, pad, clipped.to_tuple())
    key = cache.key(crop, settings)
    known = cache.get(key)
    if known is None:
        known = tuple(_read_lines(crop, clipped, scale, pad, mode, char_whitelist, engine))
        cache.put(key, known)
    return [replace(line) for line in known]  # copies: a caller may change its lines


def _read_lines(
    crop: np.ndarray,
    clipped: Region,
    scale: float,
    pad: int,
    mode: str,
    char_whitelist: str | None,
    engine: str,
) -> list[OcrLine]:
    """Run the OCR engine on a prepared crop: lines in frame coordinates."""
    if engine == "tesseract":
        return _tesseract_lines(crop, clipped, scale, pad, mode, char_whitelist)

    eng = rapidocr_engine()
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
        is told the whitelist (so it picks the best allowed character).
    :param upscale: scale factor applied before OCR; None picks one (crops less
        than 64 px tall are enlarged, which helps small text).
    :param mode: "block" (default: find the text lines, return them in reading
        order, one per line) or "line" (the region is a single line of text:
        recognition only, faster; the region is first trimmed to its text, told
        apart from the background by contrast).
    :param engine: "auto" (the default: rapidocr, which ships with the package),
        "rapidocr" or "tesseract" (needs the ``tesseract`` binary, a system package;
        LSTM engine). See the module documentation for measured accuracy.
    :returns: the text, lines separated by newlines, whitespace normalised
        within each line.

    Example::

        assert ocr(frame, region=Region(80, 40, 300, 50)) == "Settings"
    """
    lines = ocr_lines(
        frame, region, char_whitelist=char_whitelist, upscale=upscale, mode=mode, engine=engine
    )
    return "\n".join(" ".join(line.text.split()) for line in lines)


_TESSERACT_PSM = {"block": "6", "line": "7"}  # uniform block of text / a single line


def _tesseract_cmd() -> str:
    exe = shutil.which("tesseract")
    if exe is None:
        raise ConfigError(
            "engine='tesseract' needs the tesseract binary (Debian/Ubuntu: apt-get install "
            "tesseract-ocr); or use the default engine (rapidocr, installed with this package)."
        )
    return exe


def _tesseract_lines(
    crop: np.ndarray, clipped: Region, scale: float, pad: int, mode: str, char_whitelist: str | None
) -> list[OcrLine]:
    """Run the tesseract binary (LSTM engine) on ``crop``; lines with frame regions."""
    exe = _tesseract_cmd()
    # Tesseract's LSTM models were trained on dark text on a light page: give it grey
    # levels, inverted when the background (the median pixel) is dark, as on most TV UIs.
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if np.median(grey) < 128:
        grey = 255 - grey
    ok, png = cv2.imencode(".png", grey)
    if not ok:  # pragma: no cover - PNG encoding of a uint8 image does not fail
        raise ConfigError("could not encode the image for tesseract")
    cmd = [exe, "stdin", "stdout", "--oem", "1", "--psm", _TESSERACT_PSM[mode]]
    if char_whitelist:
        # Tesseract 5's LSTM engine honours the whitelist (it did not in 4.0).
        cmd += ["-c", f"tessedit_char_whitelist={char_whitelist}"]
    cmd.append("tsv")  # word boxes and confidences, so lines get regions like rapidocr's
    # One OpenMP thread: tesseract's threading makes small images several times slower.
    env = {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
    try:
        proc = subprocess.run(
            cmd, input=png.tobytes(), capture_output=True, timeout=60, check=False, env=env
        )
    except subprocess.TimeoutExpired as e:
        raise ConfigError("tesseract took more than 60 s on one image") from e
    if proc.returncode != 0:
        raise ConfigError(f"tesseract failed: {proc.stderr.decode(errors='replace').strip()}")
    return _parse_tsv(
        proc.stdout.decode("utf-8", errors="replace"), clipped, scale, pad, char_whitelist
    )


def _parse_tsv(
    tsv: str, clipped: Region, scale: float, pad: int, char_whitelist: str | None
) -> list[OcrLine]:
    """Group tesseract's TSV word rows into lines (reading order) in frame coordinates."""
    words: dict[tuple[str, str, str], list[tuple[int, int, int, int, float, str]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        x, y, w, h = (int(v) for v in cols[6:10])
        key = (cols[2], cols[3], cols[4])  # block, paragraph, line
        words.setdefault(key, []).append((x, y, w, h, float(cols[10]), cols[11].strip()))
    lines = []
    for ws in words.values():  # dicts keep insertion order: tesseract's reading order
        text = _filter(" ".join(w[5] for w in ws), char_whitelist).strip()
        if not text:
            continue
        x0 = (min(w[0] for w in ws) - pad) / scale
        y0 = (min(w[1] for w in ws) - pad) / scale
        x1 = (max(w[0] + w[2] for w in ws) - pad) / scale
        y1 = (max(w[1] + w[3] for w in ws) - pad) / scale
        region = Region.from_extents(
            int(max(0, x0)) + clipped.x,
            int(max(0, y0)) + clipped.y,
            int(min(clipped.width, max(np.ceil(x1), x0 + 1))) + clipped.x,
            int(min(clipped.height, max(np.ceil(y1), y0 + 1))) + clipped.y,
        )
        conf = min(max(0.0, w[4]) for w in ws) / 100.0
        lines.append(OcrLine(" ".join(text.split()), region, conf))
    return lines


# --- match_text ------------------------------------------------------------------------

# Characters OCR commonly confuses, mapped to one representative (tolerant mode).
_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "i": "1", "|": "1"})


def normalise_text(text: str, *, case_sensitive: bool = False, tolerant: bool = False) -> str:
    """The form `match_text` compares: whitespace collapsed, optionally case-folded.

    ``tolerant`` also maps 0/O/o, 1/l/I/i/| to one character each and removes
    spaces, as OCR often confuses those and drops or adds spaces.
    """
    text = " ".join(text.split())
    if not case_sensitive:  # first, so that "CHANNEL" and "Channel" map alike below
        text = text.casefold()
    if tolerant:
        text = text.translate(_CONFUSABLE).replace(" ", "")
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


def wait_for_text(
    text: str,
    frames: Iterable[Any],
    timeout_secs: float = 10.0,
    region: Region = Region.ALL,
    **kwargs: Any,
) -> TextMatchResult:
    """Read frames until `match_text` finds ``text``; raise `TextTimeout` if it never does.

    The timeout is measured on the frames' timestamps (wall clock for frames
    without one). OCR is slow, so pass an iterator that yields the newest
    frame each time rather than every captured frame. ``kwargs`` go to
    `match_text` (``case_sensitive``, ``char_whitelist``, ``upscale``...).

    Example::

        wait_for_text("102", tv_frames(), timeout_secs=5, region=BANNER)
    """
    start: float | None = None
    result: TextMatchResult | None = None
    frame: Any = None
    for frame in frames:
        result = match_text(text, frame, region, **kwargs)
        if result:
            return result
        now = frame_time(frame)
        now = time.monotonic() if now is None else now
        start = now if start is None else start
        if now - start >= timeout_secs:
            break
    read = result.text if result is not None else ""
    raise TextTimeout(
        f"text {text!r} not seen in {region} within {timeout_secs:g} s; last read {read!r}",
        frame=frame,
        last_text=read,
        timeout_secs=timeout_secs,
    )

"""Reading text on screen: `ocr`, `ocr_lines`, `match_text`, `wait_for_text`.

What is read is what a person reads: words kept apart ("YOUVIEW MENU"), currency signs and
accented letters ("£500", "Röthlisberger"), each word with its own region, so that
`match_text` returns the region of the words it matched, not of their whole row.

The pieces: `ocr_prepare` (crop, scale, pad), `ocr_regions` (text found first, drawn dark
on white region by region), the engine adapters `ocr_tesseract` and `ocr_rapid`, the
word/line model `ocr_model` (frozen `OcrWord`, `OcrLine`, `TextMatchResult`), matching and
normalising in `ocr_text`, engines and memory in `ocr_engine` / `ocr_cache`.

Engines
-------
``engine="auto"`` (the default) is **tesseract in this process** (the ``tesserocr``
package, a dependency, with tesseract's language data from the system packages
``tesseract-ocr-eng`` and ``tesseract-ocr-deu``); without them it is **rapidocr**
(rapidocr-onnxruntime: PP-OCR models shipped in the pip package, so it works offline on a
machine with nothing but Python). ``engine="tesseract"`` uses tesseract in process when it
can, else the ``tesseract`` binary in a subprocess (about 150 ms more a call: the models
are loaded each time); ``engine="rapidocr"`` forces rapidocr. Engines are created on first
use and kept; reading the very same pixels again with the same settings is answered from
memory (`ocr_cache`).

tesseract (LSTM engine, one OpenMP thread) is given dark text on white: for a block read,
`ocr_regions.text_page` finds where text may be and draws each such region with its own
polarity (light text on a dark bar and dark text on a light tile on one screen, text
across a two-colour background), and reads a region as a block of text (``--psm 6``),
most of the frame as sparse text (``--psm 11``: text anywhere, as on a TV screen; see
`ocr_tesseract.PSM`); ``mode="line"`` is one line (``--psm 7``). It reports every
word with its box. rapidocr gives a box per run of text and often drops spaces
("YOUVIEWMENU"); `ocr_rapid` puts them back where the line's pixels have a gap wider than
0.3 times the text's height, and cuts the line into words there. rapidocr's models know no
£, € or accented letters.

Measured with ``bench/ocr_accuracy.py`` (2026-12-02; 139 crops of the simulated box's
screens at 1080p/720p/360p, 38 hand-labelled regions of real set-top-box, Roku, YouView
and Android screenshots, 18 of stb-tester's own OCR images with the text its tests expect;
character accuracy = 1 - edit distance / length, block mode; full frame = a whole 720p
frame, no region, p50 over the simulator's home and guide and stbt's menu.png: warm = the
engine loaded and the result memory cleared, cold = the first read in a new process; on 2
cores shared with other jobs, so the times vary by 2-3x with the load):

==========  =========  ========  =====  ===========  =================  ===============
engine      simulator  real      stbt   a crop, p50  full frame, warm   full frame, cold
==========  =========  ========  =====  ===========  =================  ===============
tesseract   99.6%      99.3%     97.9%  ~20-55 ms    134-416 ms         465-737 ms
rapidocr    99.5%      98.5%     98.9%  ~80-175 ms   1.9-4.1 s          2.6-4.8 s
==========  =========  ========  =====  ===========  =================  ===============

Before this change rapidocr, then the default, read 97.4% of the simulator's characters
(its errors almost all dropped spaces) and took about 3 s warm, 7 s cold, a whole frame.
The two engines are now level on accuracy (a mean of 99.0% each), but rapidocr cannot read
£ or ö and is about ten times slower: too slow for `wait_for_text` with no region to catch
a 2-second overlay. So "auto" is tesseract where it is installed.

Options: ``char_whitelist`` (e.g. digits for a channel number), ``upscale`` (small text is
enlarged; by default crops under 64 px tall), ``mode`` ("block" or "line"; line mode
first trims the region to its text), ``lang`` (tesseract's languages, by default
eng+deu); `match_text` is case-insensitive unless ``case_sensitive`` and, with
``tolerant`` (the default), treats the common confusions 0/O and 1/l/I as equal and
ignores spaces.

>>> from pytest_virtualpy.vision import Region
>>> import numpy as np
>>> ocr(np.zeros((120, 480, 3), np.uint8), Region(0, 0, 480, 120))
''
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable
from typing import Any

from pytest_virtualpy.errors import BadArgument, TextTimeout

from .frame import frame_time
from .ocr_engine import default_lang, results, tesserocr_api
from .ocr_model import OcrLine, OcrWord, TextMatchResult
from .ocr_prepare import Prepared, prepare
from .ocr_rapid import read_rapidocr
from .ocr_tesseract import read_tesseract
from .ocr_text import find_words, normalise_text
from .region import Region

__all__ = [
    "OcrLine",
    "OcrWord",
    "TextMatchResult",
    "match_text",
    "normalise_text",
    "ocr",
    "ocr_lines",
    "wait_for_text",
]

_MODES = ("block", "line")
_ENGINES = ("auto", "rapidocr", "tesseract")


def _engine(engine: str, lang: str, lang_given: bool = False) -> str:
    """The engine that "auto" means here: tesseract when it can run in process, else rapidocr.

    A ``lang`` given by the caller is for tesseract (rapidocr has no languages to choose), so
    then "auto" is tesseract, which says clearly what to install if that language is missing.
    """
    if engine not in _ENGINES:
        raise BadArgument(f"engine must be one of {_ENGINES}, got {engine!r}")
    if engine != "auto":
        return engine
    if lang_given or tesserocr_api(lang) is not None:
        return "tesseract"
    global _fallback_said
    if not _fallback_said:
        _fallback_said = True
        warnings.warn(
            OcrEngineWarning(
                "OCR is using rapidocr: tesseract is not installed in this process, and "
                "rapidocr reads only English letters (no £, ö, é) and is about 10x slower. "
                "Install it: pip install tesserocr; apt-get install tesseract-ocr "
                "tesseract-ocr-eng tesseract-ocr-deu (or pass engine='rapidocr' to choose it)"
            ),
            stacklevel=4,
        )
    return "rapidocr"


class OcrEngineWarning(UserWarning):
    """OCR fell back to a weaker engine than the default (said once per process)."""


_fallback_said = False


def _tesseract_mode(mode: str, frame: Any, prepared: Prepared) -> str:
    """ "screen" for a block read of at least half the frame's width and height, else ``mode``."""
    height, width = frame.shape[:2]
    big = prepared.region.width * 2 >= width and prepared.region.height * 2 >= height
    return "screen" if mode == "block" and big else mode


def ocr_lines(
    frame: Any,
    region: Region = Region.ALL,
    *,
    char_whitelist: str | None = None,
    upscale: float | None = None,
    mode: str = "block",
    engine: str = "auto",
    lang: str | None = None,
) -> list[OcrLine]:
    """Like `ocr`, but returns each line with its region, confidence and words.

    Example::

        for line in ocr_lines(frame, region=MENU):
            print(line.text, line.region, [w.region for w in line.words])
    """
    if mode not in _MODES:
        raise BadArgument(f"mode must be one of {_MODES}, got {mode!r}")
    lang_given = bool(lang)
    lang = lang or default_lang()
    engine = _engine(engine, lang, lang_given)
    prepared = prepare(frame, region, upscale, mode)
    cache = results()
    settings = (engine, mode, char_whitelist, lang, prepared.scale, prepared.pad)
    key = cache.key(prepared.image, (*settings, prepared.region.to_tuple(), frame.shape[:2]))
    known = cache.get(key)
    if known is None:
        if engine == "tesseract":
            known = tuple(
                read_tesseract(
                    prepared, _tesseract_mode(mode, frame, prepared), char_whitelist, lang
                )
            )
        else:
            known = tuple(read_rapidocr(prepared, mode, char_whitelist))
        cache.put(key, known)
    return list(known)  # the lines are frozen: the remembered ones can be handed out


def ocr(
    frame: Any,
    region: Region = Region.ALL,
    *,
    char_whitelist: str | None = None,
    upscale: float | None = None,
    mode: str = "block",
    engine: str = "auto",
    lang: str | None = None,
) -> str:
    """Read the text in ``region`` of ``frame``.

    :param char_whitelist: only these characters are kept (for example
        ``"0123456789"`` for a channel number). tesseract is told the whitelist (so it
        picks the best allowed character); rapidocr has none of its own, so other
        characters are dropped from what it read.
    :param upscale: scale factor applied before OCR; None picks one (crops less
        than 64 px tall are enlarged, which helps small text).
    :param mode: "block" (default: find the text anywhere in the region, return its
        lines in reading order, one per line) or "line" (the region is a single line of
        text; it is first trimmed to its text, told apart from the background by contrast).
    :param engine: "auto" (the default: tesseract in this process when the ``tesserocr``
        package and tesseract's language data are installed, else rapidocr),
        "tesseract" or "rapidocr". See the module documentation for measured accuracy.
    :param lang: tesseract's languages, e.g. ``"eng+deu"`` or ``"pol"`` (its
        ``-l``); by default ``$VIRTUALPY_OCR_LANG``, else eng+deu when the German data is
        installed. rapidocr ignores it.
    :returns: the text, lines separated by newlines, words by one space.

    Example::

        assert ocr(frame, region=Region(80, 40, 300, 50)) == "Settings"
        assert ocr(frame, region=PRICE) == "£500"
    """
    lines = ocr_lines(
        frame,
        region,
        char_whitelist=char_whitelist,
        upscale=upscale,
        mode=mode,
        engine=engine,
        lang=lang,
    )
    return _text_of(lines)


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
    lang: str | None = None,
) -> TextMatchResult:
    """Is ``text`` on screen in ``region``? The result's region is that of the matched words.

    Whitespace is normalised, curly quotes, dashes and ligatures compare as their plain
    forms, and the comparison is case-insensitive unless ``case_sensitive``. With
    ``tolerant`` (the default) the common OCR confusions 0/O and 1/l/I are treated as
    equal and spaces are ignored, so "Firmware version 4.2.1" matches a read of
    "Firmware versi0n 4.2.l". The match may run from one line on to the next, or down
    a column: "Mozzarella Pasta Bake" is found where a menu cell wraps it over two lines.

    Example::

        result = match_text("Onion Bhaji", frame)
        assert result
        assert MENU_CELL.contains(result.region)   # the two words, not their whole row
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    lines = ocr_lines(
        frame,
        region,
        char_whitelist=char_whitelist,
        upscale=upscale,
        mode=mode,
        engine=engine,
        lang=lang,
    )
    full_text = _text_of(lines)
    clipped = region.clip(frame.shape[1], frame.shape[0]) or region
    found = find_words(text, lines, case_sensitive=case_sensitive, tolerant=tolerant)
    return TextMatchResult(
        frame_time(frame), found is not None, found or clipped, full_text, text, frame
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
    without one). Pass an iterator that yields the newest frame each time rather
    than every captured frame: a whole 720p frame takes about 0.1-0.4 s to read, a
    region much less. ``kwargs`` go to `match_text` (``case_sensitive``,
    ``char_whitelist``, ``upscale``...).

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


def _text_of(lines: list[OcrLine]) -> str:
    """The lines' text as `ocr` returns it: one line per line, words by one space."""
    return "\n".join(" ".join(line.text.split()) for line in lines)

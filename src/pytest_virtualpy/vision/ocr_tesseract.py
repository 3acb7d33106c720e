"""The tesseract engine: in this process through ``tesserocr``, else the ``tesseract`` binary.

Both read the same grey image (inverted to dark-on-light when the background is dark, as
tesseract's models were trained on printed pages), with the LSTM engine (``--oem 1``),
page segmentation per mode (`PSM`), the whitelist as ``tessedit_char_whitelist`` (honoured
by the LSTM engine in tesseract 5), and return TSV: every word with its box and
confidence, which `parse_tsv` turns into lines of words in frame coordinates.

>>> PSM["line"]
'7'
"""

from __future__ import annotations

import os
import shutil
import subprocess

import cv2
import numpy as np
from PIL import Image

from pytest_virtualpy.errors import ConfigError

from .ocr_engine import tesseract_lock, tesserocr_api
from .ocr_model import OcrLine, OcrWord
from .ocr_prepare import Prepared
from .ocr_regions import text_page
from .ocr_text import filter_text, in_rows
from .region import Region

__all__ = ["PSM", "parse_tsv", "read_tesseract"]

# "block": a region of text, read as a uniform block (6); "screen": a block read of most of
# the frame, as sparse text (11: text anywhere, as a TV screen has it: a title bar, tiles,
# a banner; 6 there makes lines across far-apart columns, and the LSTM reads the gaps too:
# the simulator's guide took twice as long); "line": a single line (7). On the benchmark's
# real screenshots 6 read 99.3% of characters right against 97.9% for 11.
PSM = {"block": "6", "screen": "11", "line": "7"}
PAGE_ENV = "VIRTUALPY_OCR_TEXT_PAGE"  # "0": one global inversion instead (for comparison)


def _tesseract_cmd() -> str:
    exe = shutil.which("tesseract")
    if exe is None:
        raise ConfigError(
            "engine='tesseract' needs the tesserocr package with tesseract's language data "
            "for the languages asked for, or the tesseract binary (Debian/Ubuntu: apt-get "
            "install tesseract-ocr tesseract-ocr-deu, and tesseract-ocr-LANG for another "
            "language); or use engine='rapidocr' (installed with this package)."
        )
    return exe


def read_tesseract(
    prepared: Prepared, mode: str, char_whitelist: str | None, lang: str
) -> list[OcrLine]:
    """Lines (with words) that tesseract reads in ``prepared``, in frame coordinates.

    ``mode`` is a key of `PSM`.
    """
    grey = cv2.cvtColor(prepared.image, cv2.COLOR_BGR2GRAY)
    if mode != "line" and os.environ.get(PAGE_ENV, "1") != "0":
        grey = text_page(grey)  # dark on white, text region by text region
    elif np.median(grey) < 128:
        grey = 255 - grey
    api = tesserocr_api(lang)
    if api is None:
        tsv = _run_binary(grey, mode, char_whitelist, lang)
    else:
        with tesseract_lock:
            api.SetPageSegMode(int(PSM[mode]))
            api.SetVariable("tessedit_char_whitelist", char_whitelist or "")
            api.SetImage(Image.fromarray(grey))
            tsv = api.GetTSVText(0)
    return parse_tsv(tsv, prepared, char_whitelist)


def _run_binary(grey: np.ndarray, mode: str, char_whitelist: str | None, lang: str) -> str:
    exe = _tesseract_cmd()
    ok, png = cv2.imencode(".png", grey)
    if not ok:  # pragma: no cover - PNG encoding of a uint8 image does not fail
        raise ConfigError("could not encode the image for tesseract")
    cmd = [exe, "stdin", "stdout", "--oem", "1", "--psm", PSM[mode], "-l", lang]
    cmd += ["-c", "tessedit_do_invert=0"]  # the image is dark-on-light already
    if char_whitelist:
        cmd += ["-c", f"tessedit_char_whitelist={char_whitelist}"]
    cmd.append("tsv")
    # One OpenMP thread: tesseract's threading makes small images several times slower.
    env = {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
    try:
        proc = subprocess.run(
            cmd, input=png.tobytes(), capture_output=True, timeout=60, check=False, env=env
        )
    except subprocess.TimeoutExpired as e:
        raise ConfigError("tesseract took more than 60 s on one image") from e
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        hint = ""
        if "Failed loading language" in err:
            hint = f" (install its data, e.g. apt-get install tesseract-ocr-{lang.split('+')[-1]})"
        raise ConfigError(f"tesseract failed: {err}{hint}")
    return proc.stdout.decode("utf-8", errors="replace")


def parse_tsv(tsv: str, prepared: Prepared, char_whitelist: str | None) -> list[OcrLine]:
    """Tesseract's TSV word rows as lines of words (reading order), in frame coordinates.

    >>> import numpy as np
    >>> p = Prepared(np.zeros((40, 200, 3), np.uint8), Region(0, 0, 200, 40), 1.0, 0)
    >>> [l.text for l in parse_tsv("5\\t1\\t1\\t1\\t1\\t1\\t2\\t2\\t50\\t20\\t96\\tMenu", p, None)]
    ['Menu']
    """
    groups: dict[tuple[str, str, str], list[OcrWord]] = {}
    for row in tsv.splitlines():
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = " ".join(filter_text(cols[11], char_whitelist).split())
        if not text:
            continue
        x, y, w, h = (int(v) for v in cols[6:10])
        conf = max(0.0, float(cols[10])) / 100.0
        word = OcrWord(text, prepared.to_frame(x, y, x + w, y + h), conf)
        groups.setdefault((cols[2], cols[3], cols[4]), []).append(word)  # block, par, line
    lines = [
        OcrLine(
            " ".join(w.text for w in ws),
            Region.bounding_box(*(w.region for w in ws)),
            min(w.confidence for w in ws),
            tuple(ws),
        )
        for ws in groups.values()
    ]
    return in_rows(lines)

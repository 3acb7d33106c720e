"""Text handling shared by the OCR engines: normalising, reading order, finding words.

`match_text` compares normalised text (`normalise_text`) and reports the region of the
words that hold the text it looked for (`find_words`), not the whole line: on a menu row
"Onion Bhaji   Mozzarella Pasta" a search for "Onion Bhaji" gets the box of those two words.

>>> normalise_text("Channel  1O2", tolerant=True)
'channe1102'
"""

from __future__ import annotations

from collections.abc import Sequence

from .ocr_model import OcrLine, OcrWord
from .region import Region

__all__ = ["filter_text", "find_words", "in_rows", "normalise_text", "split_line"]

# Characters OCR commonly confuses, mapped to one representative (tolerant mode).
_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "i": "1", "|": "1"})
# Typographic variants a person reads as the same character (stbt normalises these too).
_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
    }
)


def normalise_text(text: str, *, case_sensitive: bool = False, tolerant: bool = False) -> str:
    """The form `match_text` compares: whitespace collapsed, optionally case-folded.

    Curly quotes, dashes and ligatures become their plain forms. ``tolerant`` also maps
    0/O/o, 1/l/I/i/| to one character each and removes spaces, as OCR often confuses
    those and drops or adds spaces.

    >>> normalise_text("Firmware  version\\n4.2.1")
    'firmware version 4.2.1'
    >>> normalise_text("em\\u2014dash") == normalise_text("em-dash")
    True
    """
    text = " ".join(text.translate(_TYPOGRAPHIC).split())
    if not case_sensitive:  # first, so that "CHANNEL" and "Channel" map alike below
        text = text.casefold()
    if tolerant:
        text = text.translate(_CONFUSABLE).replace(" ", "")
    return text


def filter_text(text: str, char_whitelist: str | None) -> str:
    """``text`` with only the whitelisted characters (and spaces) kept.

    >>> filter_text("Ch 102", "0123456789")
    ' 102'
    """
    if not char_whitelist:
        return text
    allowed = set(char_whitelist) | {" "}
    return "".join(c for c in text if c in allowed)


def split_line(text: str, region: Region, confidence: float) -> tuple[OcrWord, ...]:
    """Words of a line the engine gave no word boxes for, cut by character count.

    A fallback (rapidocr's recognition-only line mode): each word gets the share of the
    line's width that its characters take.

    >>> [w.region.x for w in split_line("ab cd", Region(0, 0, 50, 10), 1.0)]
    [0, 30]
    """
    words = []
    n = max(1, len(text))
    pos = 0
    for token in text.split(" "):
        if token:
            x0 = region.x + round(region.width * pos / n)
            x1 = region.x + round(region.width * (pos + len(token)) / n)
            words.append(
                OcrWord(
                    token,
                    Region.from_extents(x0, region.y, max(x1, x0 + 1), region.bottom),
                    confidence,
                )
            )
        pos += len(token) + 1
    return tuple(words)


def in_rows(lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Lines in reading order: pieces that overlap vertically join into one row, left to right.

    Engines report text in pieces (rapidocr a box per run of text, tesseract's sparse mode a
    block per cluster); a person reads a row of them as one line.

    >>> def one(text, x):
    ...     r = Region(x, 0, 40, 10)
    ...     return OcrLine(text, r, 0.9, (OcrWord(text, r, 0.9),))
    >>> [line.text for line in in_rows([one("08:00", 90), one("Menu", 0)])]
    ['Menu 08:00']
    """
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.region.y, ln.region.x)):
        centre = line.region.y + line.region.height / 2
        for row in rows:
            if min(r.region.y for r in row) <= centre <= max(r.region.bottom for r in row):
                row.append(line)
                break
        else:
            rows.append([line])
    out = []
    for row in rows:
        row.sort(key=lambda ln: ln.region.x)
        words = tuple(w for ln in row for w in ln.words)
        text = " ".join(ln.text for ln in row)
        region = Region.bounding_box(*(ln.region for ln in row))
        out.append(OcrLine(text, region, min(ln.confidence for ln in row), words))
    return out


def find_words(
    wanted: str, lines: Sequence[OcrLine], *, case_sensitive: bool, tolerant: bool
) -> Region | None:
    """The bounding box of the fewest consecutive words that hold ``wanted``, or None.

    Words are compared in `normalise_text` form, joined with a space (without one when
    ``tolerant``, which ignores spaces). They are consecutive in reading order (a match
    may run on to the next line), or down a column: an item of a menu grid that wraps
    ("Mozzarella Pasta" over "Bake") reads on into the words just below it, not into
    the next cell of its row (see `column_runs`).

    >>> words = tuple(OcrWord(t, Region(x, 0, 45, 20), 0.9)
    ...               for t, x in [("Onion", 0), ("Bhaji", 60), ("Jerk", 200), ("Chicken", 250)])
    >>> line = OcrLine("Onion Bhaji Jerk Chicken", Region(0, 0, 300, 20), 0.9, words)
    >>> find_words("onion bhaji", [line], case_sensitive=False, tolerant=True)
    Region(x=0, y=0, width=105, height=20)
    """

    def norm(s: str) -> str:
        return normalise_text(s, case_sensitive=case_sensitive, tolerant=tolerant)

    target = norm(wanted)
    if not target:
        return None
    reading = [w for line in lines for w in line.words]
    for words in (reading, *column_runs(lines)):
        found = _span(target, words, [norm(w.text) for w in words], "" if tolerant else " ")
        if found is not None:
            return found
    return None


def _span(target: str, words: list[OcrWord], texts: list[str], sep: str) -> Region | None:
    for end in range(len(words)):  # the earliest-ending span, then the shortest
        joined = texts[end]
        for start in range(end, -1, -1):
            if start < end:
                joined = texts[start] + sep + joined
            if target in joined:
                return Region.bounding_box(*(w.region for w in words[start : end + 1]))
            if len(joined) - len(texts[start]) - len(texts[end]) >= len(target):
                break  # a match starting further back would have to span all of these
    return None


COLUMN_GAP = 1.5  # line heights: a wider gap between two words of a row separates cells


def column_runs(lines: Sequence[OcrLine]) -> list[list[OcrWord]]:
    """The words of text that wraps within a column, each run top to bottom.

    Each line is cut into cells where two words are more than `COLUMN_GAP` line heights
    apart; a cell continues into the first cell of a later line that starts at most a
    line height below it and overlaps it across. Only runs of two or more cells are
    returned (a single cell is already in reading order).

    >>> def line(*cells):
    ...     words = tuple(OcrWord(t, Region(x, y, 40, 10), 0.9) for t, x, y in cells)
    ...     return OcrLine(" ".join(w.text for w in words),
    ...                    Region.bounding_box(*(w.region for w in words)), 0.9, words)
    >>> runs = column_runs([line(("Pasta", 0, 0), ("Lamb", 200, 0)),
    ...                     line(("Bake", 0, 14), ("Stew", 200, 14))])
    >>> [[w.text for w in run] for run in runs]
    [['Pasta', 'Bake'], ['Lamb', 'Stew']]
    """
    cells = [cell for line in lines for cell in _cells(line)]
    below: dict[int, int] = {}
    for i, cell in enumerate(cells):
        box = Region.bounding_box(*(w.region for w in cell))
        for j in range(i + 1, len(cells)):
            other = Region.bounding_box(*(w.region for w in cells[j]))
            near = box.bottom - box.height / 2 <= other.y <= box.bottom + box.height
            across = other.x < box.right and box.x < other.right
            if near and across and j not in below.values():
                below[i] = j
                break
    starts = [i for i in below if i not in below.values()]
    runs = []
    for i in sorted(starts):
        run = list(cells[i])
        while i in below:
            i = below[i]
            run.extend(cells[i])
        runs.append(run)
    return runs


def _cells(line: OcrLine) -> list[tuple[OcrWord, ...]]:
    """``line``'s words, cut where the gap between two is wider than `COLUMN_GAP`."""
    cells: list[list[OcrWord]] = []
    for word in line.words:
        gap = COLUMN_GAP * max(word.region.height, 1)
        if cells and word.region.x - cells[-1][-1].region.right <= gap:
            cells[-1].append(word)
        else:
            cells.append([word])
    return [tuple(c) for c in cells]

"""What OCR returns: words and lines with where they are, and the result of `match_text`.

All three are frozen dataclasses (a remembered OCR result can be handed out again without
copying, and a caller cannot change what another caller sees), and each is false when it
holds nothing: an empty word or line, a `match_text` that did not find its text.

>>> word = OcrWord("Menu", Region(10, 20, 40, 12), 0.96)
>>> line = OcrLine("Menu", Region(10, 20, 40, 12), 0.96, (word,))
>>> bool(line), bool(OcrLine("", Region(0, 0, 1, 1), 0.0))
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .region import Region

__all__ = ["OcrLine", "OcrWord", "TextMatchResult"]


@dataclass(frozen=True)
class OcrWord:
    """One word that OCR read, with its region (frame coordinates) and confidence (0-1).

    >>> OcrWord("£500", Region(4, 4, 60, 20), 0.91).text
    '£500'
    """

    text: str
    region: Region
    confidence: float

    def __bool__(self) -> bool:
        return bool(self.text)


@dataclass(frozen=True)
class OcrLine:
    """One line of text that OCR read: its text, region, confidence and its words.

    ``words`` are in reading order; their regions are those the engine gave for each word
    (tesseract), or cut from the line by the gaps between characters (rapidocr). A line is
    false when it has no text.

    >>> line = OcrLine("YOUVIEW MENU", Region(0, 0, 150, 20), 0.9, (
    ...     OcrWord("YOUVIEW", Region(0, 0, 80, 20), 0.9),
    ...     OcrWord("MENU", Region(95, 0, 55, 20), 0.9)))
    >>> [w.text for w in line.words]
    ['YOUVIEW', 'MENU']
    """

    text: str
    region: Region
    confidence: float
    words: tuple[OcrWord, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.text)


@dataclass(frozen=True)
class TextMatchResult:
    """The result of `match_text`: truthy if the text was found.

    ``text`` is everything OCR read in the searched region; ``region`` is the bounding box
    of the words that matched (or the searched region if nothing matched); ``frame`` is the
    frame that was read.

    >>> r = TextMatchResult(None, False, Region(0, 0, 10, 10), "Menu", "Guide")
    >>> bool(r), r.to_dict()["match"]
    (False, False)
    """

    time: float | None
    match: bool
    region: Region
    text: str
    expected: str
    frame: Any = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.match)

    def translate(self, x: int, y: int) -> TextMatchResult:
        """This result with its region moved by ``(x, y)``: from a crop's pixels to the frame's.

        >>> r = TextMatchResult(None, True, Region(5, 5, 40, 10), "Menu", "Menu")
        >>> r.translate(100, 200).region
        Region(x=105, y=205, width=40, height=10)
        """
        return replace(self, region=self.region.translate(x, y))

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (results database, Allure): everything but the frame."""
        return {
            "time": self.time,
            "match": bool(self.match),
            "region": list(self.region.to_tuple()),
            "text": self.text,
            "expected": self.expected,
        }

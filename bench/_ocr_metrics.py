"""Text metrics for bench/ocr_accuracy.py: edit distance and a score summed over a set.

``Score.add(truth, got)`` accumulates character accuracy (on whitespace-normalised text,
also with spaces ignored and case-insensitively), exact lines and the ``match_text`` hit.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_virtualpy.vision.ocr import normalise_text


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def flat(text: str) -> str:
    """Whitespace-normalised: all runs of spaces and newlines become one space."""
    return " ".join(text.split())


def line_set(text: str) -> list[str]:
    return [flat(line) for line in text.splitlines() if line.strip()]


@dataclass
class Score:
    chars: int = 0
    dist: int = 0
    dist_nospace: int = 0
    chars_nospace: int = 0
    dist_ci: int = 0
    lines: int = 0
    lines_exact: int = 0
    matched: int = 0
    cases: int = 0

    def add(self, truth: str, got: str) -> None:
        t, g = flat(truth), flat(got)
        self.chars += len(t)
        self.dist += levenshtein(g, t)
        tn, gn = t.replace(" ", ""), g.replace(" ", "")
        self.chars_nospace += len(tn)
        self.dist_nospace += levenshtein(gn, tn)
        self.dist_ci += levenshtein(g.casefold(), t.casefold())
        got_lines = line_set(got)
        for line in line_set(truth):
            self.lines += 1
            self.lines_exact += line in got_lines
        self.cases += 1
        self.matched += normalise_text(t, tolerant=True) in normalise_text(g, tolerant=True)

    @property
    def acc(self) -> float:
        return max(0.0, 1 - self.dist / max(1, self.chars))

    @property
    def acc_nospace(self) -> float:
        return max(0.0, 1 - self.dist_nospace / max(1, self.chars_nospace))

    @property
    def acc_ci(self) -> float:
        return max(0.0, 1 - self.dist_ci / max(1, self.chars))

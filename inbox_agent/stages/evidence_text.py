"""The text every evidence finder reads: subject and body, folded for matching.

Patterns run on a folded copy: NFKC (full-width digits and punctuation become
ASCII) and Traditional -> Simplified Chinese, so one pattern serves every way
customers type. The folding maps one character to exactly one character, so
offsets found in the folded text cut values out of the original: a Traditional
name stays Traditional in the case, a quoted message keeps its punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache

from inbox_agent.config.rules import TRADITIONAL_TO_SIMPLIFIED
from inbox_agent.domain.regex_needles import could_match, lowered


@dataclass(frozen=True)
class FoldedText:
    """Subject and body as written, and the same text folded for matching."""

    original: str  # as written: messages and names are cut from here
    folded: str  # same length, NFKC per character and Traditional -> Simplified: patterns run on this

    @classmethod
    def of(cls, subject: str, body: str) -> FoldedText:
        original = f"{subject}\n{body}"
        # ASCII folds to itself; other text is one translate call over a cached table.
        folded = original if original.isascii() else original.translate(_FOLD_TABLE)
        return cls(original=original, folded=folded)

    @cached_property
    def lowered(self) -> str:
        """The folded text as regex_needles.could_match reads it (same length)."""
        return lowered(self.folded)

    # A finder's pattern is scanned only in text holding a string it cannot match
    # without: most mails lack most finders' words, and a scan costs 20-200 µs.
    def finditer(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        """``pattern.finditer(self.folded)``, skipped when it cannot match."""
        return pattern.finditer(self.folded) if could_match(pattern, self.lowered) else iter(())

    def search(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        """``pattern.search(self.folded)``, skipped when it cannot match."""
        return pattern.search(self.folded) if could_match(pattern, self.lowered) else None

    def cut(self, start: int, end: int) -> str:
        """Text as the customer wrote it (full-width punctuation kept in a quoted message)."""
        return self.original[start:end]

    def cut_normalised(self, start: int, end: int) -> str:
        """Half-width form, for identifiers: "ＴＸＮ１２３" and "TXN123" are the same id."""
        return self.folded[start:end] if self.folded[start:end].isascii() else self.original[start:end]


class _FoldTable(dict[int, str]):
    """``str.translate`` table that folds each character the first time it is seen:
    the loop over a long mail then runs in C, not one generator step per character."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = char if char.isascii() else _fold_char(char)
        if len(self) < _FOLD_TABLE_LIMIT:  # a mail of every code point must not grow it forever
            self[code] = folded
        return folded


_FOLD_TABLE_LIMIT = 1 << 16


_FOLD_TABLE = _FoldTable()


@lru_cache(maxsize=_FOLD_TABLE_LIMIT)
def _fold_char(char: str) -> str:
    """NFKC and Traditional folding of one character, always to exactly one character.

    NFKC of a whole string may change its length ("½" -> "1⁄2"); doing it per character
    and keeping the character when it would not stay a single one keeps offsets valid.
    """
    normal = unicodedata.normalize("NFKC", char).replace("\u2019", "'")
    return (normal if len(normal) == 1 else char).translate(TRADITIONAL_TO_SIMPLIFIED)

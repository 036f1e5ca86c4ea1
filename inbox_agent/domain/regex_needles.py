"""What a regex cannot match without: a cheap test before a costly scan.

Python's regex engine tries a pattern at every position of a text unless the pattern
starts with a literal or a character set it can skip to. A pattern that starts with a
look-behind, a word boundary or a case-insensitive word is tried at each of a mail's
~900 characters: 20-200 µs per pattern, and an evidence finder runs a dozen. Most mails
hold none of the words such a pattern needs. :func:`needles` reads the pattern's parse
tree and returns strings of which every match holds at least one (the idea of RE2's
FilteredRE2 prefilter); :func:`could_match` looks for them with ``in``, a substring
search in C, on text lowered by :func:`lowered`.

The needles are derived, not written by hand, so they cannot fall behind an edited
pattern; a pattern the reader does not understand gets none and is always scanned.
"""

from __future__ import annotations

import re
from functools import lru_cache

# re's parser: private, but the same since 3.11 (the oldest Python this runs on). Should
# it move or change, every pattern gets no needles (needles()) and is always scanned.
try:
    from re import _constants as C  # noqa: N812
    from re import _parser
except ImportError:  # pragma: no cover - a Python whose re is laid out otherwise
    C = _parser = None  # type: ignore[assignment]

# The only non-ASCII letters re.IGNORECASE matches with ASCII letters (found by trying
# every code point; tests/test_regex_needles.py checks it). 'İ'.lower() is two
# characters, so these are mapped before lowering.
_SRE_ASCII_FOLDS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})

_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) if C else ()

Needles = frozenset[str]


@lru_cache(maxsize=8)  # each evidence finder of a mail lowers the same folded text
def lowered(text: str) -> str:
    """``text`` as :func:`could_match` searches it: lower case, with the letters that
    re.IGNORECASE equates to ASCII ones written as those."""
    return (text if text.isascii() else text.translate(_SRE_ASCII_FOLDS)).lower()


def could_match(pattern: re.Pattern[str], lowered_text: str) -> bool:
    """False only when ``pattern`` cannot match the text ``lowered_text`` was made from."""
    found = needles(pattern)
    return found is None or any(needle in lowered_text for needle in found)


@lru_cache(maxsize=1024)  # module patterns: a few hundred
def needles(pattern: re.Pattern[str]) -> Needles | None:
    """Lower-case strings of which every match of ``pattern`` holds one; None when the
    pattern can match without any string known here (then it must always be scanned)."""
    if _parser is None:
        return None
    try:
        return _sequence(list(_parser.parse(pattern.pattern, pattern.flags)))
    except Exception:  # noqa: BLE001  # a parser we do not know: no needles, never a wrong answer
        return None


def _usable(char: str) -> bool:
    # ASCII letters fold through lowered(); caseless characters (Chinese, digits,
    # punctuation) match only themselves. Other cased letters (Greek sigma's two lower
    # forms, say) could fold unlike str.lower(), so they end a needle.
    return char.isascii() or char.lower() == char == char.upper()


def _sequence(items: list[tuple[object, object]]) -> Needles | None:
    """Needles of a sequence: the most selective ones of any element every match passes."""
    candidates: list[Needles] = []
    run: list[str] = []  # consecutive literal characters: one needle

    def end_run() -> None:
        if run:
            candidates.append(frozenset(["".join(run)]))
            run.clear()

    for op, av in items:
        if op is C.LITERAL and _usable(chr(av)):  # type: ignore[arg-type]
            run.append(chr(av).lower())  # type: ignore[arg-type]
            continue
        if op is C.AT:  # a word boundary consumes nothing: "ab" stays one needle
            continue
        end_run()
        inner = _element(op, av)
        if inner is not None:
            candidates.append(inner)
    end_run()
    # Most selective: the longest shortest needle; then the fewest needles.
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)), default=None)


def _element(op: object, av: object) -> Needles | None:
    if op is C.SUBPATTERN:
        return _sequence(list(av[3]))  # type: ignore[index]
    if op is C.ATOMIC_GROUP:
        return _sequence(list(av))  # type: ignore[call-overload]
    if op in _REPEATS:
        least, _most, item = av  # type: ignore[misc]
        return _sequence(list(item)) if least >= 1 else None
    if op is C.BRANCH:
        branches = [_sequence(list(branch)) for branch in av[1]]  # type: ignore[index]
        if any(found is None for found in branches):
            return None
        return _without_redundant(frozenset().union(*branches))  # type: ignore[arg-type]
    return None  # a character set, any character, a look-around, a back-reference


def _without_redundant(found: Needles) -> Needles:
    """``found`` without needles that hold another one: "pay" found, "payee" is too."""
    return frozenset(n for n in found if not any(other != n and other in n for other in found))

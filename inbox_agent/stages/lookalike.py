"""Look-alike domains of our own (pure): ``wa11et.example``, ``wallet-example.com``,
``wаllet.example`` with a Cyrillic "а", ``xn--…`` spellings of the same.

Such a sender is flagged as likely phishing on its case and is never staff. The test
compares *skeletons*: the domain decoded from punycode, every character that looks
like a Latin letter (Unicode confusables, via ``confusable_homoglyphs``) or like a
letter in common typosquats (0→o, 1→l, 3→e, 5→s, rn→m, vv→w) replaced by it.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_DIGIT_LOOKS = str.maketrans({"0": "o", "1": "l", "3": "e", "5": "s", "7": "t", "4": "a", "8": "b"})


def _decode(domain: str) -> str:
    labels = []
    for label in domain.strip().lower().rstrip(".").split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):  # not valid punycode: compare as written
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


@lru_cache(maxsize=4096)
def _latin(char: str) -> str:
    if char.isascii():
        return char
    base = unicodedata.normalize("NFKD", char)
    if base and base[0].isascii() and base[0].isalnum():
        return base[0].lower()
    # Imported here, on the first such character: the module reads a 6 MB table (and
    # urllib) at import, which most runs never need — every process paid it at start.
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) or []
    for entry in found:
        for glyph in entry.get("homoglyphs", ()):
            if glyph["c"].isascii():
                return glyph["c"].lower()
    return char


def skeleton(domain: str) -> str:
    """What a domain looks like to a reader: Latin letters, no digit look-alikes."""
    text = "".join(_latin(char) for char in _decode(domain)).translate(_DIGIT_LOOKS)
    return text.replace("rn", "m").replace("vv", "w")


def _squashed(domain: str) -> str:
    return "".join(char for char in skeleton(domain) if char.isalnum())


def is_own(domain: str, protected: Iterable[str]) -> bool:
    domain = domain.lower().rstrip(".")
    return any(domain == own or domain.endswith("." + own) for own in protected)


def lookalike_of(domain: str, protected: Iterable[str]) -> str | None:
    """The protected domain ``domain`` imitates, or None (ours, or unrelated)."""
    # The most specific of ours first, so the answer does not depend on set order.
    protected = sorted({own.lower() for own in protected if own}, key=lambda own: (-len(own), own))
    if not domain or is_own(domain, protected):
        return None
    shape, squashed = skeleton(domain), _squashed(domain)
    for own in protected:
        own_shape, own_squashed = skeleton(own), _squashed(own)
        if shape == own_shape or shape.endswith("." + own_shape):
            return own
        # "wallet-example.com", "wallet.example.evil.net": our whole name inside theirs.
        if len(own_squashed) >= 6 and own_squashed in squashed:
            return own
        if _one_edit_apart(shape, own_shape) and len(own_shape) >= 8:
            return own
    return None


def _one_edit_apart(first: str, second: str) -> bool:
    """One character added, dropped or changed ("walet.example", "wallett.example")."""
    if first == second or abs(len(first) - len(second)) > 1:
        return False
    if len(first) == len(second):
        return sum(a != b for a, b in zip(first, second, strict=True)) == 1
    shorter, longer = sorted((first, second), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))

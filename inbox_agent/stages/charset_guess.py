"""Recognising a charset from the bytes alone, for text whose label is missing or wrong.

Statistical detectors guess wildly on a short subject; the rules here are
narrow and checkable instead: Chinese text is made of a few thousand frequent
characters, Western text keeps most letters ASCII, and ISO-2022 text announces
itself with escape sequences. The same rules repair Latin-1 mojibake: Chinese
bytes that a mailer (or a lying label) turned into ``×ª·¢£º…``.
"""

from __future__ import annotations

import re
from functools import cache


def strict_decode(data: bytes, codec: str) -> str | None:
    """``data`` decoded without a single replacement, or None."""
    try:
        text = data.decode(codec)
        # utf-7 and utf-16 can yield lone surrogates, which are not text.
        text.encode("utf-8")
    except (UnicodeError, LookupError, ValueError):
        return None
    return text


@cache
def _frequent_hanzi() -> frozenset[str]:
    """The most frequent simplified and traditional characters.

    GB2312 level 1 (lead bytes 0xB0-0xD7) and Big5 "frequent" (0xA440-0xC67E)
    hold the few thousand characters that make up almost all real Chinese text;
    bytes decoded with the wrong CJK codec land mostly outside both sets.
    """
    chars: set[str] = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            decoded = strict_decode(bytes((lead, trail)), "gb2312")
            if decoded:
                chars.add(decoded)
    for lead in range(0xA4, 0xC7):
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            if (lead, trail) > (0xC6, 0x7E):
                break
            decoded = strict_decode(bytes((lead, trail)), "big5")
            if decoded:
                chars.add(decoded)
    return frozenset(chars)


def _is_cjk_punctuation(char: str) -> bool:
    return "\u3000" <= char <= "\u303f" or "\uff01" <= char <= "\uff5e" or char in "“”‘’…—·"


def chinese_plausibility(text: str) -> float:
    """Share of the non-ASCII characters that are common Chinese characters or punctuation."""
    non_ascii = [char for char in text if ord(char) > 0x7F]
    if not non_ascii:
        return 0.0
    frequent = _frequent_hanzi()
    good = sum(1 for char in non_ascii if char in frequent or _is_cjk_punctuation(char))
    return good / len(non_ascii)


# Below this share, a CJK decoding is more likely mojibake than Chinese.
CHINESE_THRESHOLD = 0.6
# When the only other reading is a Western label the bytes do not fit as Western
# text, a strict CJK decode needs less support: names like 王镕堃 are mostly rare
# characters.
LOOSE_CHINESE_THRESHOLD = 0.3


def guess_chinese(data: bytes, threshold: float = CHINESE_THRESHOLD) -> tuple[str, str] | None:
    """Short Chinese snippets defeat statistical detectors; try the two CJK supersets."""
    best: tuple[float, str, str] | None = None
    for codec in ("gb18030", "big5hkscs"):
        text = strict_decode(data, codec)
        if text is None:
            continue
        score = chinese_plausibility(text)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, text, codec)
    return None if best is None else (best[1], best[2])


_WESTERN_PUNCTUATION = frozenset("“”‘’–—€…«»°£§©®±·¡¿×÷\u00a0")
_TWO_HIGH = re.compile("[^\x00-\x7f]{2}")
# cp1252's letters outside Latin-1 (French "œuvre", "sœur"; Czech, Slovak, Finnish š ž).
_CP1252_LETTERS = frozenset("ŒœŠšŽžŸƒ")


def guess_western(data: bytes, *, loose: bool = False) -> str | None:
    """Accented letters sprinkled in ASCII words: a Western European 8-bit text.

    Statistical detectors guess wildly on a short subject like ``café``; in real
    Latin-script text most letters stay ASCII, while 8-bit Cyrillic or Greek text
    would be made almost entirely of high bytes. A short word may be more accented
    ("Hélène", "brûlée", "été"): it still counts when no two non-ASCII characters
    touch, which Chinese bytes read this way always do (a GB2312 character is two high
    bytes), so the name is not read as "H閘鑞e". ``loose``: any share of accents, for
    the last reading tried before replacement characters.
    """
    text = strict_decode(data, "cp1252")
    if text is None:
        return None
    accented = 0
    letters = 0
    for char in text:
        if char.isalpha():
            letters += 1
            if ord(char) > 0x7F:
                if not ("\u00c0" <= char <= "\u00ff" or char in _CP1252_LETTERS):
                    return None
                accented += 1
        elif ord(char) > 0x7F and char not in _WESTERN_PUNCTUATION:
            return None
    if not letters:
        return None
    sprinkled = accented / letters <= 0.3 or not _TWO_HIGH.search(text)
    return text if loose or sprinkled else None


# ISO-2022 text is 7-bit: without a label it passes for ASCII full of "$B" and "(B".
_ISO2022_JP_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I", b"\x1b$(D")
_ISO2022_KR_ESCAPE = b"\x1b$)C"


def guess_iso2022(data: bytes) -> tuple[str, str] | None:
    """ISO-2022-JP or -KR text recognised by its escape sequences, decoded strictly."""
    if b"\x1b" not in data:
        return None
    if _ISO2022_KR_ESCAPE in data:
        codec = "iso2022_kr"
    elif any(escape in data for escape in _ISO2022_JP_ESCAPES):
        codec = "iso2022_jp_ext"
    else:
        return None
    text = strict_decode(data, codec)
    return None if text is None else (text, codec)


def guess_hz(data: bytes) -> tuple[str, str] | None:
    """HZ (RFC 1843), the 7-bit GB2312 of early Chinese e-mail and Usenet: text between
    ``~{`` and ``~}`` is GB2312 with the high bits cleared, so unlabelled (or labelled
    ASCII) it reads as ``~{Dz:C#,~}``. Taken only when it decodes strictly into
    plausible Chinese of at least two characters."""
    if b"~{" not in data or b"~}" not in data:
        return None
    text = strict_decode(data, "hz")
    if text is None or sum(ord(char) > 0x7F for char in text) < 2:
        return None
    return (text, "hz") if chinese_plausibility(text) >= CHINESE_THRESHOLD else None


_LATIN_RUN = re.compile(r"[\u0080-\u00ff]{2}")


def repair_latin_mojibake(text: str) -> tuple[str, str] | None:
    """Chinese bytes that were read as Latin-1 / cp1252, decoded again as Chinese.

    Applies only when the text is nothing but ASCII and Latin-1 range letters,
    has at least two such characters in a row, is *not* plausible Western text
    and its bytes are plausible Chinese: ``×ª·¢£º`` becomes ``转发：``, while
    ``Zahlung für März`` and ``Bürling`` stay as they are.
    """
    if text.isascii() or not _LATIN_RUN.search(text):
        return None
    for codec in ("cp1252", "latin-1"):
        try:
            data = text.encode(codec)
        except UnicodeEncodeError:
            continue
        if guess_western(data) is not None:
            return None
        repaired = guess_chinese(data, LOOSE_CHINESE_THRESHOLD)
        # One "Chinese" character is too little evidence against the label.
        if repaired is not None and sum(1 for char in repaired[0] if ord(char) > 0x2E7F) >= 2:
            return repaired
        return None
    return None

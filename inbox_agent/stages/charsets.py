"""Charset handling for mail that lies about, or never states, its encoding.

Real complaint mail from Chinese-speaking customers is often GBK labelled
``gb2312``, Big5 with Hong Kong characters labelled ``big5``, or raw 8-bit text
with no label at all. Everything here is pure: bytes in, text out, and a report
of which charset was really used so the caller can record a defect.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from functools import cache

import charset_normalizer

# Labels that real mailers use for a smaller charset than the bytes they send:
# decoding with the superset loses nothing and fixes the "锟斤拷" garbling.
_SUPERSETS: dict[str, str] = {
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "chinese": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "big-5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cp950": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "ascii",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}

# Labels that mean "I don't know": decode by detection instead.
_UNKNOWN_LABELS = frozenset(
    {"", "unknown", "unknown-8bit", "x-unknown", "x-user-defined", "default", "charset", "8bit", "none"}
)

# Python codecs that are not mail charsets: they would turn bytes into escapes
# or always fail, so a label naming them is treated as unknown.
_REFUSED_CODECS = frozenset({"undefined", "unicode_escape", "raw_unicode_escape", "idna", "punycode"})

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def normalize_charset(label: str | None) -> str | None:
    """The Python codec to use for a MIME charset label, or None when unusable."""
    if label is None:
        return None
    cleaned = _CONTROL_CHARS.sub("", label).strip().strip("\"'").strip().lower()
    if cleaned in _UNKNOWN_LABELS or len(cleaned) > 40:
        return None
    cleaned = _SUPERSETS.get(cleaned, cleaned)
    try:
        info = codecs.lookup(cleaned)
    except (LookupError, ValueError):
        return None
    if info.name in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    return _SUPERSETS.get(info.name, info.name)


def _strict_decode(data: bytes, codec: str) -> str | None:
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
            decoded = _strict_decode(bytes((lead, trail)), "gb2312")
            if decoded:
                chars.add(decoded)
    for lead in range(0xA4, 0xC7):
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            if (lead, trail) > (0xC6, 0x7E):
                break
            decoded = _strict_decode(bytes((lead, trail)), "big5")
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
_CHINESE_THRESHOLD = 0.6


def _guess_chinese(data: bytes) -> tuple[str, str] | None:
    """Short Chinese snippets defeat statistical detectors; try the two CJK supersets."""
    best: tuple[float, str, str] | None = None
    for codec in ("gb18030", "big5hkscs"):
        text = _strict_decode(data, codec)
        if text is None:
            continue
        score = chinese_plausibility(text)
        if score >= _CHINESE_THRESHOLD and (best is None or score > best[0]):
            best = (score, text, codec)
    return None if best is None else (best[1], best[2])


_WESTERN_PUNCTUATION = frozenset("“”‘’–—€…«»°£§©®±·¡¿×÷\u00a0")


def _guess_western(data: bytes) -> str | None:
    """Accented letters sprinkled in ASCII words: a Western European 8-bit text.

    Statistical detectors guess wildly on a short subject like ``café``; in real
    Latin-script text most letters stay ASCII, while 8-bit Cyrillic or Greek text
    would be made almost entirely of high bytes.
    """
    text = _strict_decode(data, "cp1252")
    if text is None:
        return None
    accented = 0
    letters = 0
    for char in text:
        if char.isalpha():
            letters += 1
            if ord(char) > 0x7F:
                if not "\u00c0" <= char <= "\u00ff":
                    return None
                accented += 1
        elif ord(char) > 0x7F and char not in _WESTERN_PUNCTUATION:
            return None
    return text if letters and accented / letters <= 0.3 else None


def detect_decode(data: bytes, hint: str | None = None) -> tuple[str, str | None]:
    """Decode bytes whose charset is not known: utf-8, the hint, Chinese, then detection.

    Returns the text and the codec used; the codec is None when nothing fitted
    and the text was decoded as utf-8 with replacement characters.
    """
    if data.isascii():
        return data.decode("ascii"), "ascii"
    text = _strict_decode(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    hinted = normalize_charset(hint)
    if hinted and hinted not in ("ascii", "utf-8"):
        text = _strict_decode(data, hinted)
        if text is not None:
            return text, hinted
    chinese = _guess_chinese(data)
    if chinese is not None:
        return chinese
    western = _guess_western(data)
    if western is not None:
        return western, "cp1252"
    try:
        best = charset_normalizer.from_bytes(data).best()
    except Exception:  # noqa: BLE001 - a detector bug must not lose the text
        best = None
    if best is not None:
        text = _strict_decode(data, best.encoding)
        if text is not None:
            return text, normalize_charset(best.encoding) or best.encoding
    return data.decode("utf-8", errors="replace"), None


def decode_bytes(data: bytes, declared: str | None, hint: str | None = None) -> tuple[str, str | None]:
    """Decode with the declared charset, falling back to detection, then to replacement.

    Returns ``(text, codec)``; ``codec`` is the codec actually used, which differs
    from ``normalize_charset(declared)`` when the label was wrong or unknown, and
    is None when the text needed replacement characters.
    """
    codec = normalize_charset(declared)
    if codec is not None:
        text = _strict_decode(data, codec)
        if text is not None:
            return text, codec
    return detect_decode(data, hint=hint)


def header_bytes(value: str | bytes) -> bytes:
    """The original bytes of a header value as the stdlib compat32 parser stores it."""
    if isinstance(value, bytes):
        return value
    try:
        # compat32 keeps undecodable 8-bit bytes as surrogate escapes of ASCII.
        return value.encode("ascii", errors="surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", errors="surrogateescape")


def clean_header_text(text: str) -> str:
    """Unfold and strip control characters: no CR/LF can survive into a header value."""
    return _CONTROL_CHARS.sub("", _LINE_BREAKS.sub(" ", text)).strip()


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")


def _word_bytes(encoding: str, payload: str, charset: str) -> bytes:
    if encoding.lower() == "b":
        cleaned = payload.strip()
        cleaned += "=" * (-len(cleaned) % 4)
        return base64.b64decode(cleaned, validate=False)
    # Some mailers leave 8-bit characters unencoded inside a Q word; they were
    # already decoded with the header, so encode them back in the word's charset.
    text = payload.replace("_", " ")
    raw = (
        text.encode("ascii")
        if text.isascii()
        else text.encode(normalize_charset(charset) or "utf-8", "replace")
    )
    return binascii.a2b_qp(raw, header=True)


def decode_encoded_words(text: str, hint: str | None = None) -> tuple[str, list[str]]:
    """Decode RFC 2047 encoded words anywhere in ``text``.

    Adjacent words of one charset are joined before decoding because mailers
    split a multi-byte character across two words; whitespace between encoded
    words is dropped (RFC 2047 section 6.2). Returns the text and problems found.
    """
    problems: list[str] = []
    out: list[str] = []
    position = 0
    pending: bytearray = bytearray()
    pending_charset: str | None = None

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            decoded, used = decode_bytes(bytes(pending), pending_charset, hint=hint)
            if used is None:
                problems.append(f"undecodable encoded word ({pending_charset}), replacement characters used")
            elif used != normalize_charset(pending_charset) and not bytes(pending).isascii():
                problems.append(f"encoded word labelled {pending_charset!r} decoded as {used}")
            out.append(decoded)
        pending.clear()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        if pending_charset is None or _BETWEEN_WORDS.fullmatch(gap) is None:
            flush()
            out.append(gap)
        charset = match.group(1).split("*", 1)[0]  # RFC 2231 language suffix
        try:
            data = _word_bytes(match.group(2), match.group(3), charset)
        except (binascii.Error, ValueError):
            flush()
            problems.append("malformed encoded word kept as is")
            out.append(match.group(0))
            position = match.end()
            continue
        if pending_charset is not None and charset.lower() != pending_charset.lower():
            flush()
        pending_charset = charset
        pending.extend(data)
        position = match.end()
    flush()
    out.append(text[position:])
    return "".join(out), problems


def decode_header_value(value: str | bytes, hint: str | None = None) -> tuple[str, list[str]]:
    """A header value as clean text: 8-bit bytes detected, encoded words decoded, unfolded.

    ``hint`` is a charset to try for raw 8-bit bytes (usually the body's charset,
    which the same mailer used). Returns the text and the problems met on the way.
    """
    problems: list[str] = []
    data = header_bytes(value)
    if data.isascii():
        text = data.decode("ascii")
    else:
        text, used = detect_decode(data, hint=hint)
        if used is None:
            problems.append("undecodable raw 8-bit header, used replacement characters")
        elif used != "utf-8":  # raw UTF-8 is allowed (RFC 6532); anything else is a guess
            problems.append(f"raw 8-bit header decoded as {used}")
    if "=?" in text:
        text, word_problems = decode_encoded_words(text, hint=hint)
        problems.extend(word_problems)
    return clean_header_text(text), problems

"""Charset handling for mail that lies about, or never states, its encoding.

Real complaint mail from Chinese-speaking customers is often GBK labelled
``gb2312``, Big5 with Hong Kong characters labelled ``big5``, or raw 8-bit text
with no label at all. Everything here is pure: bytes in, text out, and a report
of which charset was really used so the caller can record a defect.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from inbox_agent.stages.charset_guess import (
    CHINESE_THRESHOLD,
    LOOSE_CHINESE_THRESHOLD,
    chinese_plausibility,
    guess_chinese,
    guess_hz,
    guess_iso2022,
    guess_western,
    strict_decode,
)

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
    "iso2022_jp": "iso2022_jp_ext",
    "euc_kr": "cp949",
    "cn-gb": "gb18030",
    "mac-chinesesimp": "gb18030",
    "mac-chinesetrad": "big5hkscs",
    "windows-949": "cp949",
    "windows-950": "big5hkscs",
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

# C0 and C1 controls (U+009B is a terminal's CSI, as ESC [ is) and the bidi overrides,
# embeddings and isolates (a file name that reads "exe.pdf" and is "fdp.exe"): never in
# a header's text (message_body.py says why).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


_EBCDIC = frozenset({"cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140"})

# Header-sized byte runs: statistical detection is no better than a coin here.
_SHORT_SNIPPET = 100

# Western single-byte codecs decode any byte: as a hint for raw 8-bit bytes they
# prove nothing, so Chinese bytes are recognised before they are trusted.
_WEAK_CODECS = frozenset({"ascii", "cp1252", "latin-1", "iso8859-1", "iso8859-15"})


def _label_candidates(cleaned: str) -> list[str]:
    """The label, then the same without the ``x-``, ``iso-`` or ``cs`` prefixes mailers add.

    ``x-gbk``, ``iso-gb2312`` and ``x-sjis`` name charsets Python knows as
    ``gbk``, ``gb2312`` and ``sjis``; the prefixes are stripped only when the
    full label is unknown.
    """
    candidates = [cleaned]
    bare = cleaned
    while bare.startswith("x-"):
        bare = bare[2:]
    candidates.append(bare)
    for prefix in ("iso-", "iso_", "cs"):
        if bare.startswith(prefix):
            candidates.append(bare[len(prefix) :])
    return candidates


def _lookup_codec(label: str) -> str | None:
    label = _SUPERSETS.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if info.name in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    return _SUPERSETS.get(info.name, info.name)


def normalize_charset(label: str | None) -> str | None:
    """The Python codec to use for a MIME charset label, or None when unusable."""
    if label is None:
        return None
    cleaned = _CONTROL_CHARS.sub("", label).strip().strip("\"'").strip().lower()
    if cleaned in _UNKNOWN_LABELS or len(cleaned) > 40:
        return None
    for candidate in _label_candidates(cleaned):
        codec = _lookup_codec(candidate)
        if codec is not None:
            return codec
    return None


def is_weak_codec(codec: str | None) -> bool:
    """True for codecs that decode any bytes, so a successful decode proves nothing."""
    return codec in _WEAK_CODECS


def detect_decode(data: bytes, hint: str | None = None) -> tuple[str, str | None]:
    """Decode bytes whose charset is not known.

    In order: ISO-2022 escapes, utf-8, a non-Western hint, Chinese, Western
    text, a Western hint (after a looser Chinese guess), then detection.

    Returns the text and the codec used; the codec is None when nothing fitted
    and the text was decoded as utf-8 with replacement characters.
    """
    if data.isascii():
        return guess_iso2022(data) or guess_hz(data) or (data.decode("ascii"), "ascii")
    text = strict_decode(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    hinted = normalize_charset(hint)
    if hinted and hinted != "utf-8" and not is_weak_codec(hinted):
        text = strict_decode(data, hinted)
        if text is not None:
            return text, hinted
    chinese = guess_chinese(data)
    if chinese is not None:
        return chinese
    western = guess_western(data)
    if western is not None:
        return western, "cp1252"
    weak_hint = is_weak_codec(hinted) and hinted != "ascii"
    if weak_hint or len(data) <= _SHORT_SNIPPET:
        # Bytes that are no Western text under a Western hint, or a snippet too
        # short for the statistical detector (it reads 王喆 as Korean): Chinese
        # is the better reading even of rarer characters.
        loose = guess_chinese(data, LOOSE_CHINESE_THRESHOLD)
        if loose is not None:
            return loose
    if weak_hint:
        text = strict_decode(data, hinted or "cp1252")
        if text is not None:
            return text, hinted
    if _utf8_but_for_a_byte(data):
        return data.decode("utf-8", errors="replace"), None
    return _detected(data)


def _detected(data: bytes) -> tuple[str, str | None]:
    """The statistical detector's reading when believable, else a Western one, else
    UTF-8 with replacement characters (codec None)."""
    try:
        best = charset_normalizer.from_bytes(data).best()
    except Exception:  # noqa: BLE001 - a detector bug must not lose the text
        best = None
    if best is not None and _believable(data, best.encoding):
        text = strict_decode(data, best.encoding)
        if text is not None:
            return text, normalize_charset(best.encoding) or best.encoding
    western = guess_western(data, loose=True)  # "Größe": accented, but Western letters only
    if western is not None:
        return western, "cp1252"
    return data.decode("utf-8", errors="replace"), None


def _utf8_but_for_a_byte(data: bytes) -> bool:
    """UTF-8 with a stray or cut byte or two ("你\xff.png"): read as UTF-8 with a
    replacement character, not as whatever single-byte codec the detector finds that
    happens to decode every byte (UTF-16, Urdu's cp1006)."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    return bad <= max(2, len(text) // 20) and any(ord(ch) > 0x7F and ch != "\ufffd" for ch in text)


def _believable(data: bytes, codec: str) -> bool:
    """UTF-16/32 without a byte-order mark or a NUL byte is the detector's guess for bytes
    it cannot place, not a mail's charset; on a snippet (a file name, a subject) only
    the charsets mail is written in are believed."""
    name = (normalize_charset(codec) or codec).lower().replace("_", "-")
    if name.startswith(("utf-16", "utf-32")) and b"\x00" not in data:
        return False
    if name in _EBCDIC:  # IBM mainframe charsets: the detector's guess, never a mail's
        return False
    return len(data) > _SHORT_SNIPPET or not name.startswith(
        ("mac-", "cp1006", "cp720", "cp737", "cp8", "hp-", "ptcp")
    )


def decode_bytes(data: bytes, declared: str | None, hint: str | None = None) -> tuple[str, str | None]:
    """Decode with the declared charset, falling back to detection, then to replacement.

    Returns ``(text, codec)``; ``codec`` is the codec actually used, which differs
    from ``normalize_charset(declared)`` when the label was wrong or unknown, and
    is None when the text needed replacement characters.
    """
    codec = normalize_charset(declared)
    if b"\x1b" in data and not (codec or "").startswith("iso2022"):
        iso2022 = guess_iso2022(data)  # 7-bit ISO-2022 passes for ASCII or UTF-8
        if iso2022 is not None:
            return iso2022
    if b"~{" in data and codec != "hz" and data.isascii():
        hz = guess_hz(data)  # 7-bit HZ passes for ASCII or UTF-8 too
        if hz is not None:
            return hz
    if codec is not None:
        text = strict_decode(data, codec)
        if text is not None and is_weak_codec(codec) and not data.isascii():
            as_utf8 = _utf8_under_a_latin_label(data)
            if as_utf8 is not None:
                return as_utf8, "utf-8"
            # Chinese bytes under a Western label decode "successfully" as mojibake.
            if guess_western(data) is None:
                return guess_chinese(data, LOOSE_CHINESE_THRESHOLD) or (text, codec)
        if text is not None and codec == "gb18030" and _PRIVATE_USE.search(text):
            return _big5_under_a_gb_label(data, text) or (text, codec)
        if text is not None:
            return text, codec
    return detect_decode(data, hint=hint)


def _utf8_under_a_latin_label(data: bytes) -> str | None:
    """UTF-8 under a Latin-1 label (scripts and web forms that hard-code it; read as
    labelled, "bloqué" is "bloquÃ©"). Latin-1 text is almost never valid UTF-8 (each
    high byte would need a C2-F4 letter followed by C1 controls or symbols), but a short
    GBK name is, now and then ("ģ" pairs), and GBK under a Latin-1 label is the commoner
    lie here. So a snippet is UTF-8 only when its accents sit inside Latin words
    ("Hélène", "Zürich"), or when its bytes are no Chinese either."""
    text = strict_decode(data, "utf-8")
    if text is None or len(data) > _SHORT_SNIPPET or _accents_in_latin_words(text):
        return text
    return None if guess_chinese(data, LOOSE_CHINESE_THRESHOLD) else text


def _accents_in_latin_words(text: str) -> bool:
    """Every non-ASCII character stands alone between ASCII letters or at a word's edge
    next to one ("Hélène", "café"), as accents do and Chinese characters never do."""
    for index, char in enumerate(text):
        if ord(char) <= 0x7F:
            continue
        before = text[index - 1] if index else " "
        after = text[index + 1] if index + 1 < len(text) else " "
        if ord(before) > 0x7F or ord(after) > 0x7F or not (before.isalpha() or after.isalpha()):
            return False
    return True


# GBK's user-defined areas (A140-A7A0, AAA1-AFFE, F8A1-FEFE) decode to the Private Use Area.
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
# How much more plausible (charset_guess.chinese_plausibility) the Big5 reading must be.
_BIG5_MARGIN = 0.6


def _big5_under_a_gb_label(data: bytes, as_gb: str) -> tuple[str, str] | None:
    """Big5 text labelled gb2312 or GBK (old Taiwanese and Hong Kong mailers), read as Big5.

    Every Big5 byte pair is also a GBK pair, so the wrong label never fails: it turns
    the most frequent traditional characters (Big5 A440-A7A0) into private-use ones and
    most others into rare or foreign characters (plausibility 0.20-0.33 on the Traditional
    complaint sentences of the tests).
    A GB mail may hold a private-use character too, a custom glyph for a rare name, so
    the label is taken for a lie only on evidence: at least three characters, the Big5
    reading plausible Chinese without private-use characters, and far more plausible
    than the GB reading (by ``_BIG5_MARGIN``).
    """
    as_big5 = strict_decode(data, "big5hkscs")
    if as_big5 is None or _PRIVATE_USE.search(as_big5) or sum(ord(ch) > 0x7F for ch in as_gb) < 3:
        return None
    score = chinese_plausibility(as_big5)
    if score < CHINESE_THRESHOLD or score - chinese_plausibility(as_gb) < _BIG5_MARGIN:
        return None
    return as_big5, "big5hkscs"


def decode_cut_tail(data: bytes, codec: str | None) -> str | None:
    """``data`` decoded strictly but for an incomplete multibyte character at its very end.

    A mailer that cuts an encoded word (or a part) at a byte count leaves the
    first byte(s) of the last character; everything before them is still good.
    """
    if codec is None:
        return None
    try:
        decoder = codecs.getincrementaldecoder(codec)()
        text = decoder.decode(data, final=False)
        text.encode("utf-8")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None
    pending = decoder.getstate()[0]
    return text if isinstance(pending, bytes) and 0 < len(pending) <= 3 else None


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

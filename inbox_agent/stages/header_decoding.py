"""Header values as text: raw 8-bit bytes, RFC 2047 encoded words, Latin-1 mojibake.

Real mailers break RFC 2047 in the ways Python's ``email.header`` already
forgives, and a few more; each is handled by rule:

* literal spaces inside a Q word (``=?GB2312?Q?Re: Re: =BD=F1?=``) and a space
  right after the ``?Q?`` are accepted, as ``email.header`` does;
* adjacent words in one codec family are joined before decoding, because
  mailers split a character across two words (and label them ``GB2312`` and
  ``gbk``);
* a word that ends in the first byte of a multibyte character keeps everything
  before it: only the cut character is lost, and that is recorded;
* Chinese bytes that came out as Latin-1 letters (a raw GBK header under a
  Western body charset, or UTF-8 of Latin-1 of Big5) are decoded again.
"""

from __future__ import annotations

import base64
import binascii
import re

from inbox_agent.stages.charset_guess import repair_latin_mojibake
from inbox_agent.stages.charsets import (
    clean_header_text,
    decode_bytes,
    decode_cut_tail,
    detect_decode,
    header_bytes,
    normalize_charset,
)

# The payload may hold literal spaces (never "?", which Q and B both encode).
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\r\n]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _word_bytes(encoding: str, payload: str, charset: str) -> bytes:
    if encoding.lower() == "b":
        cleaned = "".join(payload.split())
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


def _decode_word_bytes(data: bytes, charset: str, hint: str | None, problems: list[str]) -> str:
    decoded, used = decode_bytes(data, charset, hint=hint)
    codec = normalize_charset(charset)
    if used == codec or data.isascii():
        return decoded
    cut = decode_cut_tail(data, codec)
    if cut is not None:
        problems.append(f"encoded word ({charset}) ends in a cut multibyte character, which was dropped")
        return cut
    if used is None:
        problems.append(f"undecodable encoded word ({charset}), replacement characters used")
    else:
        problems.append(f"encoded word labelled {charset!r} decoded as {used}")
    return decoded


def decode_encoded_words(text: str, hint: str | None = None) -> tuple[str, list[str]]:
    """Decode RFC 2047 encoded words anywhere in ``text``.

    Adjacent words of one codec are joined before decoding because mailers
    split a multi-byte character across two words; whitespace between encoded
    words is dropped (RFC 2047 section 6.2). Returns the text and problems found.
    """
    problems: list[str] = []
    out: list[str] = []
    position = 0
    pending = bytearray()
    pending_charset: str | None = None

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(_decode_word_bytes(bytes(pending), pending_charset, hint, problems))
        pending.clear()
        pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        if pending_charset is None or _BETWEEN_WORDS.fullmatch(gap) is None:
            flush()
            out.append(gap)
        charset = match.group(1).split("*", 1)[0]  # RFC 2231 language suffix
        position = match.end()
        try:
            data = _word_bytes(match.group(2), match.group(3), charset)
        except (binascii.Error, ValueError):
            flush()
            problems.append("malformed encoded word kept as is")
            out.append(match.group(0))
            continue
        if pending_charset is not None and normalize_charset(charset) != normalize_charset(pending_charset):
            flush()
        pending_charset = charset
        pending.extend(data)
    flush()
    out.append(text[position:])
    return "".join(out), problems


def decode_display_text(text: str, hint: str | None = None) -> tuple[str, list[str]]:
    """Encoded words decoded and Latin-1 mojibake repaired; for subjects and display names."""
    problems: list[str] = []
    if "=?" in text:
        text, problems = decode_encoded_words(text, hint=hint)
    if not text.isascii():
        repaired = repair_latin_mojibake(text)
        if repaired is not None:
            problems.append(f"Latin-1 mojibake of {repaired[1]} text decoded again")
            text = repaired[0]
    return text, problems


def decode_header_value(value: str | bytes, hint: str | None = None) -> tuple[str, list[str]]:
    """A header value as clean text: 8-bit bytes detected, encoded words decoded, unfolded.

    ``hint`` is a charset to try for raw 8-bit bytes (usually the body's charset,
    which the same mailer used). Returns the text and the problems met on the way.
    """
    problems: list[str] = []
    data = header_bytes(value)
    if data.isascii() and b"\x1b" not in data:
        text = data.decode("ascii")
    else:
        text, used = detect_decode(data, hint=hint)
        if used is None:
            problems.append("undecodable raw 8-bit header, used replacement characters")
        elif used not in ("utf-8", "ascii"):  # raw UTF-8 is allowed (RFC 6532); anything else is a guess
            problems.append(f"raw 8-bit header decoded as {used}")
    text, display_problems = decode_display_text(_FOLD.sub("", text), hint=hint)
    return clean_header_text(text), problems + display_problems

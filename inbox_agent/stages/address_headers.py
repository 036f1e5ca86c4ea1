"""Address headers (From, To, Cc, Reply-To) read the way the sender meant them.

``email.utils.getaddresses`` does the RFC 5322 work; the rules here cover what
real mailers send that it cannot read:

* encoded words are swapped for placeholder atoms before the list is split, so
  a comma inside ``=?iso-8859-1?Q?B=FCrling,=20Andreas?=`` never splits it, and
  decoded after it (a decoded name may itself hold commas or brackets);
* ``<power quadrant system@example.com>``: what sits between angle brackets is
  the address; spaces in its local part are kept by quoting it
  (``"power quadrant system"@example.com``, RFC 5322 3.4.1), never dropped, so
  it never turns into somebody else's address;
* ``Big Bug bb@bug.com`` and ``a@x.com b@x.com`` without brackets or commas:
  each ``local@domain`` token is an address, the words before it its name.
"""

from __future__ import annotations

import email.utils
import re
from functools import lru_cache

from inbox_agent.stages.charsets import clean_header_text, detect_decode, header_bytes
from inbox_agent.stages.header_decoding import decode_display_text
from inbox_agent.stages.parse_defects import Defects

_ADDR_SPEC = re.compile(r"[^\s@<>(),;:\"\[\]\\]+(?:@[^\s@<>(),;:\"\[\]\\]+)?")
_QUOTED_LOCAL = re.compile(r"\"[^\"\\\r\n]*\"@[^\s@<>(),;:\"\[\]\\]+")
_SPACED_LOCAL = re.compile(r"([^\"\\@<>(),;:\[\]\r\n]+)@([^\s@<>(),;:\"\[\]\\]+)")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\r\n]*\?=")
_BARE_ADDRESS = re.compile(r"[^\s@<>(),;:\"\[\]\\]+@[^\s@<>(),;:\"\[\]\\]+")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def clean_address(raw: str) -> str:
    """A lower-cased addr-spec, or "" when the text is not one (local-only names allowed).

    A local part with spaces comes back quoted, as RFC 5322 writes it.
    """
    text = clean_header_text(raw).strip().strip("<>").strip().lower()
    if _ADDR_SPEC.fullmatch(text) or _QUOTED_LOCAL.fullmatch(text):
        return text
    spaced = _SPACED_LOCAL.fullmatch(text)
    if spaced and spaced.group(1).strip():
        return f'"{spaced.group(1).strip()}"@{spaced.group(2)}'
    return ""


def _protect_encoded_words(text: str) -> tuple[str, dict[str, str]]:
    """Encoded words replaced by atoms the address parser passes through untouched."""
    prefix = "encodedword"
    while prefix in text.lower():
        prefix += "x"
    words: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        token = f"{prefix}{len(words)}z"
        words[token] = match.group(0)
        return token

    return _ENCODED_WORD.sub(swap, text), words


def _restore(text: str, words: dict[str, str]) -> str:
    for token, word in words.items():
        text = text.replace(token, word)
    return text


def _bare_pairs(text: str) -> list[tuple[str, str]]:
    """``Name local@domain`` lists without brackets or commas: each token with an @ is one address."""
    pairs: list[tuple[str, str]] = []
    position = 0
    for match in _BARE_ADDRESS.finditer(text):
        name = text[position : match.start()].strip(" \t,;\"'")
        pairs.append((name, match.group(0)))
        position = match.end()
    return pairs


def _split(text: str) -> list[tuple[str, str]]:
    """(display name, address) pairs, with the fallbacks of the module docstring."""
    parsed = email.utils.getaddresses([text])
    if any("@" in address and _ADDR_SPEC.fullmatch(address) for _name, address in parsed):
        return parsed
    if "<" in text:
        bracketed = [(name, address) for name, address in parsed if "@" in address]
        if bracketed:  # spaces in the local part: clean_address quotes it
            return bracketed
    return _bare_pairs(text) or parsed


def _header_text(raw: str, hint: str | None) -> str:
    data = header_bytes(raw)
    if data.isascii() and b"\x1b" not in data:
        return _FOLD.sub("", data.decode("ascii"))
    return _FOLD.sub("", detect_decode(data, hint=hint)[0])


def read_addresses(values: list[str], name: str, hint: str | None, defects: Defects) -> list[tuple[str, str]]:
    """(display name, addr-spec) pairs of every header value given; names decoded after splitting."""
    pairs: list[tuple[str, str]] = []
    for raw in values:
        found, problems = _read_value(raw, name, hint)
        pairs += found
        for problem in problems:
            defects.add(problem)
    return pairs


# Remembered by header text: To and Delivered-To are our own address on nearly every
# mail, and reading a value is pure (the same pairs and findings every time).
@lru_cache(maxsize=512)
def _read_value(raw: str, name: str, hint: str | None) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The pairs of one header value and the findings to record about it."""
    text, words = _protect_encoded_words(clean_header_text(_header_text(raw, hint)))
    try:
        parsed = _split(text)
    except Exception:  # noqa: BLE001 - the stdlib address parser has crashed on junk before
        return (), (f"header: unparseable {name} header",)
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    for display, address in parsed:
        name_text, found = decode_display_text(_restore(display, words), hint=hint)
        problems += [f"header: {name} name: {problem}" for problem in found]
        pairs.append((clean_header_text(name_text), clean_address(_restore(address, words))))
    return tuple(pairs), tuple(problems)

"""What an S/MIME ``smime.p7m`` holds (CMS, RFC 5652), read as far as a complaint needs.

Only two facts are wanted: which kind of CMS object it is (signed, encrypted, ...) and,
for an opaque-signed mail, the signed content: a whole MIME entity, the customer's
text, carried inside the signature instead of beside it. The signature itself is not
checked: who sent a mail is decided from the receiving server's verdict
(``stages/authentication``), as for every other mail.

The encoding is BER (DER, or BER's indefinite lengths and chunked octet strings, which
streaming signers write). The reader is bounded: a length is never trusted beyond the
bytes that remain, nesting is at most ``_MAX_DEPTH`` deep, and every step moves forward,
so n bytes cost O(n) however they are damaged. ``tests/test_encrypted_mail.py`` checks it
against ``openssl cms`` on the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

SIGNED_DATA = "1.2.840.113549.1.7.2"
ENVELOPED_DATA = "1.2.840.113549.1.7.3"
AUTH_ENVELOPED_DATA = "1.2.840.113549.1.9.16.1.23"
COMPRESSED_DATA = "1.2.840.113549.1.9.16.1.9"
KINDS = {
    SIGNED_DATA: "signed",
    ENVELOPED_DATA: "encrypted",
    AUTH_ENVELOPED_DATA: "encrypted",
    COMPRESSED_DATA: "compressed",
}
_SEQUENCE, _SET, _OID, _INTEGER, _OCTET_STRING = 0x10, 0x11, 0x06, 0x02, 0x04
_CONTEXT_0 = (2, 0)  # [0], context class
_MAX_DEPTH = 24
_MAX_LENGTH_BYTES = 4


class CmsUnreadable(Exception):
    """Not a CMS object, or one whose structure cannot be followed."""


@dataclass(frozen=True)
class Cms:
    kind: str  # "signed", "encrypted", "compressed" or "other"
    content: bytes | None = None  # the signed content; None when detached or not signed


class _Element(NamedTuple):
    klass: int  # 0 universal, 1 application, 2 context, 3 private
    number: int
    constructed: bool
    start: int  # where the content begins
    end: int  # where the content ends (before an end-of-contents marker)
    after: int  # where the next element begins


def read_cms(data: bytes) -> Cms:
    """The kind of CMS object ``data`` is and, when signed, its content."""
    info = _expect(data, 0, len(data), _SEQUENCE, "ContentInfo")
    oid = _expect(data, info.start, info.end, _OID, "contentType")
    kind = KINDS.get(_oid(data[oid.start : oid.end]), "other")
    if kind != "signed":
        return Cms(kind)
    wrapper = _element(data, oid.after, info.end, 0)
    if (wrapper.klass, wrapper.number) != _CONTEXT_0:
        raise CmsUnreadable("a signed object without its content")
    signed = _expect(data, wrapper.start, wrapper.end, _SEQUENCE, "SignedData")
    version = _expect(data, signed.start, signed.end, _INTEGER, "version")
    digests = _expect(data, version.after, signed.end, _SET, "digestAlgorithms")
    encapsulated = _expect(data, digests.after, signed.end, _SEQUENCE, "encapContentInfo")
    inner_type = _expect(data, encapsulated.start, encapsulated.end, _OID, "eContentType")
    if inner_type.after >= encapsulated.end or _at_end_marker(data, inner_type.after):
        return Cms(kind)  # detached: the content travels beside the signature
    explicit = _element(data, inner_type.after, encapsulated.end, 0)
    if (explicit.klass, explicit.number) != _CONTEXT_0:
        raise CmsUnreadable("eContent is not tagged [0]")
    content = _element(data, explicit.start, explicit.end, 0)
    return Cms(kind, _octets(data, content, 0))


def _expect(data: bytes, pos: int, end: int, number: int, what: str) -> _Element:
    found = _element(data, pos, end, 0)
    if found.klass != 0 or found.number != number:
        raise CmsUnreadable(f"{what} expected at byte {pos}")
    return found


def _at_end_marker(data: bytes, pos: int) -> bool:
    return data[pos : pos + 2] == b"\x00\x00"


def _element(data: bytes, pos: int, end: int, depth: int) -> _Element:
    """The element starting at ``pos``, which must end by ``end``."""
    if depth > _MAX_DEPTH:
        raise CmsUnreadable("nested too deep")
    if pos + 2 > end:
        raise CmsUnreadable(f"truncated at byte {pos}")
    first = data[pos]
    klass, constructed, number = first >> 6, bool(first & 0x20), first & 0x1F
    pos += 1
    if number == 0x1F:  # a high tag number: base-128 digits; none CMS needs here
        number, pos = _base128(data, pos, end)
    length_byte = data[pos] if pos < end else None
    if length_byte is None:
        raise CmsUnreadable("truncated in a length")
    pos += 1
    if length_byte == 0x80:
        if not constructed:
            raise CmsUnreadable("an indefinite length on a primitive element")
        return _indefinite(data, klass, number, pos, end, depth)
    if length_byte & 0x80:
        count = length_byte & 0x7F
        if count > _MAX_LENGTH_BYTES or pos + count > end:
            raise CmsUnreadable("a length that cannot fit in the object")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = length_byte
    if pos + length > end:
        raise CmsUnreadable(f"an element at byte {pos} runs past its container")
    return _Element(klass, number, constructed, pos, pos + length, pos + length)


def _indefinite(data: bytes, klass: int, number: int, start: int, end: int, depth: int) -> _Element:
    """An indefinite-length element: its children, up to the end-of-contents marker."""
    pos = start
    while not _at_end_marker(data, pos):
        if pos >= end:
            raise CmsUnreadable("an indefinite length without its end marker")
        pos = _element(data, pos, end, depth + 1).after
    return _Element(klass, number, True, start, pos, pos + 2)


def _base128(data: bytes, pos: int, end: int) -> tuple[int, int]:
    number = 0
    for _ in range(4):
        if pos >= end:
            break
        byte = data[pos]
        pos += 1
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return number, pos
    raise CmsUnreadable("a tag number that does not end")


def _octets(data: bytes, element: _Element, depth: int) -> bytes:
    """An OCTET STRING's bytes: one primitive run, or a constructed one's chunks joined."""
    if element.klass != 0 or element.number != _OCTET_STRING:
        raise CmsUnreadable("the signed content is not an octet string")
    if not element.constructed:
        return data[element.start : element.end]
    chunks, pos = [], element.start
    while pos < element.end:
        chunk = _element(data, pos, element.end, depth + 1)
        chunks.append(_octets(data, chunk, depth + 1))
        pos = chunk.after
    return b"".join(chunks)


def _oid(body: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's content bytes."""
    if not body:
        raise CmsUnreadable("an empty object identifier")
    arcs, value = [], 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2) if arcs else 0
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:])) if arcs else ""

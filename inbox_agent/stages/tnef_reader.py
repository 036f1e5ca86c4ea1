"""A TNEF stream ([MS-OXTNEF]) read into its attachments and message properties, with
every loop bounded by the stream's length.

Not ``tnefparse``: that reader loops as many times as a count in the stream says
("4,294,967,295 properties") even when no bytes are left, so a crafted winmail.dat of a
few hundred bytes kept it busy for minutes (found by mutating its own examples, one
mail in a few hundred). Here a count is never trusted beyond what the remaining bytes
could hold, and every step moves forward, so a stream of n bytes costs O(n).
``tests/test_tnef.py`` checks that both readers agree on real streams.

Layout: a signature, a 2-byte key, then attributes — level (1 byte: 1 the message, 2
an attachment), id (4: tag in the low 16 bits, type in the high), length (4), data,
checksum (2). Attachments and the message carry blocks of MAPI properties.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SIGNATURE = b"\x78\x9f\x3e\x22"
_ATTACHMENT_LEVEL = 2
# Attribute tags (the low 16 bits of an attribute id).
_BODY, _ATTACH_DATA, _ATTACH_TITLE = 0x800C, 0x800F, 0x8010
_ATTACH_RENDERING, _MESSAGE_PROPS, _ATTACH_PROPS, _OEM_CODEPAGE = 0x9002, 0x9003, 0x9005, 0x9007
# MAPI property ids.
PR_BODY, PR_RTF_COMPRESSED, PR_HTML, PR_INTERNET_CPID = 0x1000, 0x1009, 0x1013, 0x3FDE
PR_PREVIEW = 0x3FD9  # the body's first 255 characters: a body when there is no other
PR_DISPLAY_NAME, PR_ATTACH_DATA, PR_ATTACH_FILENAME, PR_ATTACH_LONG_FILENAME = 0x3001, 0x3701, 0x3704, 0x3707
PR_ATTACH_MIME_TAG, PR_ATTACH_CONTENT_ID = 0x370E, 0x3712
# MAPI value types: fixed sizes as they sit in the stream (2-byte values padded to 4
# when single), and the variable ones (a count, then length-prefixed values).
_FIXED = {0x0002: 2, 0x000B: 2, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8}
_FIXED |= {0x0014: 8, 0x0040: 8, 0x0048: 16, 0x0001: 0}
_STRING8, _UNICODE, _OBJECT, _BINARY = 0x001E, 0x001F, 0x000D, 0x0102
_VARIABLE = frozenset({_STRING8, _UNICODE, _OBJECT, _BINARY, 0x0000})
_MULTI = 0x1000
_EMBEDDED_MESSAGE = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"


class TnefDamaged(Exception):
    """Not a TNEF stream, or one whose structure cannot be followed."""


@dataclass
class TnefAttachment:
    title: str = ""  # the 8.3 name (attAttachTitle)
    data: bytes = b""
    embedded: bool = False  # ``data`` is an attached mail, itself a TNEF stream
    props: dict[int, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        for tag in (PR_ATTACH_LONG_FILENAME, PR_ATTACH_FILENAME):
            if isinstance(self.props.get(tag), str) and self.props[tag]:
                return str(self.props[tag])
        shown = self.props.get(PR_DISPLAY_NAME)
        return self.title or (shown if isinstance(shown, str) else "")


@dataclass
class TnefMessage:
    attachments: list[TnefAttachment] = field(default_factory=list)
    body: str = ""  # attBody, or PR_BODY
    props: dict[int, object] = field(default_factory=dict)
    codepage: str = "cp1252"


def read_tnef(data: bytes) -> TnefMessage:
    if data[:4] != SIGNATURE or len(data) < 6:
        raise TnefDamaged("no TNEF signature")
    message = TnefMessage()
    offset = 6
    while offset + 11 <= len(data):  # level, id, length, at least the checksum
        level, tag = data[offset], _u16(data, offset + 1)
        length = _u32(data, offset + 5)
        start = offset + 9
        value = data[start : start + length]  # cut short at the end: taken as far as it goes
        offset = start + length + 2
        _apply(message, level, tag, value)
    return message


def _apply(message: TnefMessage, level: int, tag: int, value: bytes) -> None:
    if tag == _ATTACH_RENDERING:  # each attachment starts with its rendering data
        message.attachments.append(TnefAttachment())
    if level == _ATTACHMENT_LEVEL:
        if not message.attachments:
            message.attachments.append(TnefAttachment())
        _apply_to_attachment(message.attachments[-1], tag, value, message.codepage)
    elif tag == _OEM_CODEPAGE and len(value) >= 4:
        message.codepage = f"cp{_u32(value, 0)}"
    elif tag == _BODY:
        message.body = _decode8(value, message.codepage)
    elif tag == _MESSAGE_PROPS:
        message.props.update(read_mapi(value, message.codepage))


def _apply_to_attachment(attachment: TnefAttachment, tag: int, value: bytes, codepage: str) -> None:
    if tag == _ATTACH_TITLE:
        attachment.title = _decode8(value, codepage)
    elif tag == _ATTACH_DATA and not attachment.embedded:  # not the stub of an attached mail
        attachment.data = value
    elif tag == _ATTACH_PROPS:
        props = read_mapi(value, codepage)
        data = props.pop(PR_ATTACH_DATA, None)
        if isinstance(data, bytes) and data.startswith(_EMBEDDED_MESSAGE):
            # A mail attached in Outlook: a TNEF stream of its own (attAttachData holds
            # only "This attachment is a MAPI 1.0 embedded message...").
            attachment.data, attachment.embedded = data[16:], True
        elif isinstance(data, bytes) and not attachment.data:
            attachment.data = data
        attachment.props.update(props)


def read_mapi(block: bytes, codepage: str) -> dict[int, object]:
    """A block of MAPI properties: id -> first value (str for strings, bytes for binary
    and objects, int for 4-byte integers). A block that breaks off keeps what came before."""
    props: dict[int, object] = {}
    try:
        count, offset = _u32(block, 0), 4
        for _ in range(min(count, len(block) // 4)):  # each property takes 4 bytes or more
            if offset + 4 > len(block):
                break
            kind, tag = _u16(block, offset), _u16(block, offset + 2)
            offset = _skip_name(block, offset + 4) if tag >= 0x8000 else offset + 4
            values, offset = _values(block, offset, kind, codepage)
            if values:
                props.setdefault(tag, values[0])
    except (struct.error, TnefDamaged):
        pass  # the rest of this block cannot be followed
    return props


def _skip_name(block: bytes, offset: int) -> int:
    """Past a named property's GUID and its number or name."""
    offset += 16
    if _u32(block, offset) == 0:
        return offset + 8
    return offset + 8 + _padded(_u32(block, offset + 4))


def _values(block: bytes, offset: int, kind: int, codepage: str) -> tuple[list[object], int]:
    multi, kind = bool(kind & _MULTI), kind & ~_MULTI
    if kind not in _FIXED and kind not in _VARIABLE:
        raise TnefDamaged(f"unknown MAPI type {kind:#06x}")
    count = 1
    if multi or kind in _VARIABLE:
        count, offset = _u32(block, offset), offset + 4
    if count > (len(block) - offset) // 2 + 1:  # each value takes 2 bytes or more
        raise TnefDamaged("more values than bytes")
    values: list[object] = []
    for _ in range(count):
        if kind in _FIXED:
            size = _FIXED[kind]
            raw = block[offset : offset + size]
            values.append(_u32(raw, 0) if size == 4 and len(raw) == 4 else raw)
            offset += size if multi or size != 2 else 4  # a single 2-byte value is padded to 4
        else:
            size, offset = _u32(block, offset), offset + 4
            raw = block[offset : offset + size]
            values.append(_string(raw, kind, codepage))
            offset += _padded(size)
        if offset > len(block):
            raise TnefDamaged("a value runs past its block")
    if multi and _FIXED.get(kind) == 2 and count % 2:  # 2-byte values padded to 4 as a whole
        offset += 2
    return values, offset


def _string(raw: bytes, kind: int, codepage: str) -> object:
    if kind == _UNICODE:
        return raw.decode("utf-16-le", errors="replace").rstrip("\x00")
    if kind == _STRING8:
        return _decode8(raw, codepage)
    return raw


def _decode8(raw: bytes, codepage: str) -> str:
    try:
        return raw.decode(codepage, errors="replace").rstrip("\x00")
    except LookupError:  # a code page Python does not know
        return raw.decode("cp1252", errors="replace").rstrip("\x00")


def _padded(size: int) -> int:
    return size + (-size % 4)


def _u16(data: bytes, offset: int) -> int:
    return int(struct.unpack_from("<H", data, offset)[0])


def _u32(data: bytes, offset: int) -> int:
    return int(struct.unpack_from("<I", data, offset)[0])

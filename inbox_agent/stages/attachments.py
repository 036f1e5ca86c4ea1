"""Attachments: a part's bytes kept as evidence, under a name derived only from them.

The customer's file name is kept for display, but the stored name is the
content hash plus an extension from a short list of sniffed types, so a
hostile name (``../../x``, ``invoice.pdf.exe``) can never reach the disk.
"""

from __future__ import annotations

import hashlib
from email.message import Message

from inbox_agent.domain.model import Attachment
from inbox_agent.stages.charsets import clean_header_text, header_bytes
from inbox_agent.stages.header_decoding import decode_header_value
from inbox_agent.stages.mime_parts import MAX_FILENAME_CHARS, base64_damage, content_type_of, payload_bytes
from inbox_agent.stages.parse_defects import Defects

_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"%PDF-", "application/pdf", "pdf"),
    (b"PK\x03\x04", "application/zip", "zip"),
    (b"PK\x05\x06", "application/zip", "zip"),
    (b"PK\x07\x08", "application/zip", "zip"),
    (b"II*\x00", "image/tiff", "tif"),
    (b"MM\x00*", "image/tiff", "tif"),
)
# An ISO media file's brand (bytes 8-12): what iPhones save photos as.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"})


def sniff_type(payload: bytes, declared: str) -> tuple[str, str]:
    """(content type, file extension) from the magic bytes; the declared type otherwise.

    The extension only ever comes from this short list, so a stored file name
    cannot carry a dangerous or misleading extension.
    """
    for magic, content_type, extension in _MAGIC:
        if payload.startswith(magic):
            return content_type, extension
    if payload[:4] == b"RIFF" and payload[8:12] == b"WEBP":
        return "image/webp", "webp"
    if payload[:2] == b"BM" and payload[6:10] == b"\x00\x00\x00\x00":  # "BM" alone starts words too
        return "image/bmp", "bmp"
    if payload[4:8] == b"ftyp" and payload[8:12] in _HEIF_BRANDS:
        return "image/heic", "heic"
    if declared.startswith("text/") and b"\x00" not in payload[:4096]:
        return declared, "txt"
    return declared, "bin"


def content_id_name(part: Message) -> str:
    """The Content-ID without its angle brackets: the only name an inline image may have.

    Outlook's ``<image001.png@01D9A1B2.C3D4E5F0>`` even carries the file name;
    mail-parser names such parts the same way, so staff see what they refer to.
    """
    raw = part.get("content-id")
    if raw is None:
        return ""
    text = clean_header_text(header_bytes(str(raw)).decode("utf-8", errors="replace"))
    return text.strip().strip("<>").strip()[:MAX_FILENAME_CHARS]


def attached_mail_name(part: Message) -> str:
    """An attached mail's Subject plus ``.eml`` (or its inner Content-ID): what staff recognise it by."""
    if not content_type_of(part).startswith("message/"):
        return ""
    inner = part.get_payload()
    if not isinstance(inner, list) or not inner or not isinstance(inner[0], Message):
        return ""
    subject = inner[0].get("subject")
    if subject is None:
        return content_id_name(inner[0])
    text = decode_header_value(str(subject))[0]
    return f"{text[: MAX_FILENAME_CHARS - 4]}.eml" if text else ""


def attachment_of(part: Message, filename: str, disposition: str, defects: Defects) -> Attachment:
    inline = disposition == "inline" or (disposition != "attachment" and part.get("content-id") is not None)
    name = filename or content_id_name(part) or attached_mail_name(part)
    payload = payload_bytes(part, defects)
    return make_attachment(
        payload, name, content_type_of(part), inline=inline, damaged=bool(base64_damage(part))
    )


def make_attachment(
    payload: bytes, filename: str, declared: str, *, inline: bool = False, damaged: bool = False
) -> Attachment:
    """An :class:`Attachment` whose stored name derives only from its bytes and sniffed type."""
    content_type, extension = sniff_type(payload, declared)
    digest = hashlib.sha256(payload).hexdigest()
    return Attachment(
        filename=filename,
        safe_name=f"{digest[:16]}.{extension}",
        content_type=content_type,
        declared_type=declared,
        size=len(payload),
        sha256=digest,
        inline=inline,
        damaged=damaged,
        payload=payload,
    )

"""Outlook's winmail.dat (TNEF, [MS-OXTNEF]): the files and the text it wraps.

Outlook set to "Rich Text" sends a mail's attachments, and sometimes its only text,
inside one ``application/ms-tnef`` part named winmail.dat. Every mail reader but
Outlook shows one opaque file; a customer's screenshot inside it would be a screenshot
the acknowledgement asks for again. The stream is read by ``tnef_reader`` (bounded:
a crafted one cannot keep the parser busy); the files come out under their long names,
the body as plain text, HTML, or Outlook's compressed RTF (``compressed_rtf``) read as
text in the RTF's own code page (``striprtf``; ``\\ansicpg936`` is GBK).

An image the body shows (a Content-ID, or ``cid:name`` in the body: a signature logo,
a pasted picture) is marked inline, as a MIME mail's would be.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field

from inbox_agent.stages.tnef_reader import (
    PR_ATTACH_CONTENT_ID,
    PR_ATTACH_MIME_TAG,
    PR_BODY,
    PR_HTML,
    PR_INTERNET_CPID,
    PR_PREVIEW,
    PR_RTF_COMPRESSED,
    SIGNATURE,
    TnefAttachment,
    TnefDamaged,
    TnefMessage,
    read_tnef,
)

_CODE_PAGE = re.compile(rb"\\ansicpg(\d{3,5})")
_CODEC_OF_CPID = {65001: "utf-8", 1200: "utf-16-le", 20127: "ascii", 28591: "latin-1"}


class TnefUnreadable(Exception):
    """Starts like TNEF, but cannot be unpacked."""


@dataclass(frozen=True)
class WrappedFile:
    name: str
    data: bytes
    declared_type: str
    inline: bool


@dataclass(frozen=True)
class Unpacked:
    files: list[WrappedFile] = field(default_factory=list)
    plain: str = ""  # the body as text ("" = none): plain, else from the RTF
    html: str = ""  # the body as HTML, when the stream carries one


def is_tnef(payload: bytes) -> bool:
    return payload[:4] == SIGNATURE


MAX_DEPTH = 3  # attached mails read inside attached mails; deeper ones stay TNEF files


def unpack_tnef(payload: bytes, depth: int = 0) -> Unpacked:
    """The files and body of a TNEF stream; TnefUnreadable when it cannot be read.
    A mail attached in Outlook comes out as its files and its text as a ``.txt`` file."""
    try:
        message = read_tnef(payload)
    except TnefDamaged as exc:
        raise TnefUnreadable(str(exc)) from exc
    html = _html(message)
    rtf = _decompressed_rtf(message.props.get(PR_RTF_COMPRESSED))
    bodies = (message.props.get(PR_BODY), message.body, message.props.get(PR_PREVIEW))
    plain = next((body for body in bodies if isinstance(body, str) and body.strip()), "")
    if not plain and not html:
        plain = _rtf_text(rtf)
    references = (html + rtf.decode("latin-1")).lower()
    files: list[WrappedFile] = []
    for attachment in message.attachments:
        if attachment.embedded:
            files += _attached_mail(attachment, depth)
        elif attachment.data or attachment.name:
            files.append(_file(attachment, references))
    return Unpacked(files, plain.strip(), html)


def _attached_mail(attachment: TnefAttachment, depth: int) -> list[WrappedFile]:
    name = attachment.name.strip() or "attached mail"
    as_sent = [WrappedFile(name, attachment.data, "application/ms-tnef", False)]
    if depth >= MAX_DEPTH:  # mails attached to mails attached to mails: kept as they came
        return as_sent
    try:
        inner = unpack_tnef(attachment.data, depth + 1)
    except TnefUnreadable:
        return as_sent
    text = inner.plain or inner.html
    if not text and not inner.files:  # a contact list, a meeting: kept as it came
        return as_sent
    kind = "text/plain" if inner.plain else "text/html"
    readable = [WrappedFile(f"{name}.txt" if inner.plain else f"{name}.html", text.encode(), kind, False)]
    return (readable if text else []) + inner.files


def _file(attachment: TnefAttachment, references: str) -> WrappedFile:
    name = attachment.name.strip()
    tag = attachment.props.get(PR_ATTACH_MIME_TAG)
    declared = tag if isinstance(tag, str) and "/" in tag else None
    declared = declared or (mimetypes.guess_type(name)[0] if name else None) or "application/octet-stream"
    content_id = attachment.props.get(PR_ATTACH_CONTENT_ID)
    shown = bool(name) and f"cid:{name.lower()}" in references
    inline = shown or (isinstance(content_id, str) and f"cid:{content_id.lower()}" in references)
    return WrappedFile(name, attachment.data, declared.lower(), inline)


def _html(message: TnefMessage) -> str:
    html = message.props.get(PR_HTML)
    if isinstance(html, str):
        return html
    if not isinstance(html, bytes):
        return ""
    cpid = message.props.get(PR_INTERNET_CPID)
    codec = _CODEC_OF_CPID.get(cpid, f"cp{cpid}") if isinstance(cpid, int) else "utf-8"
    try:
        return html.decode(codec, errors="replace")
    except LookupError:
        return html.decode("utf-8", errors="replace")


def _decompressed_rtf(compressed: object) -> bytes:
    if not isinstance(compressed, bytes) or len(compressed) < 16:
        return b""
    from compressed_rtf import decompress  # on first winmail.dat: most mail has none

    try:
        return bytes(decompress(compressed))
    except Exception:  # noqa: BLE001 - a damaged or forged RTF block: no body from it
        return b""


def _rtf_text(rtf: bytes) -> str:
    if not rtf.lstrip().startswith(b"{\\rtf"):
        return ""  # not RTF: nothing readable
    from striprtf.striprtf import rtf_to_text

    found = _CODE_PAGE.search(rtf[:2048])
    encoding = f"cp{int(found.group(1))}" if found else "cp1252"
    try:
        return str(rtf_to_text(rtf.decode("latin-1"), encoding=encoding, errors="replace"))
    except LookupError:  # a code page Python does not know
        return str(rtf_to_text(rtf.decode("latin-1"), encoding="cp1252", errors="replace"))

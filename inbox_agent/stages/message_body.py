"""The body: leaf parts sorted into text and attachments, text decoded and made readable.

Text parts are decoded with our own charset fallbacks (a GBK body labelled
``gb2312`` must not come out garbled); an HTML-only mail is turned into plain
text for categorization and evidence. Attachments and text are capped so a
hostile mail cannot exhaust memory or flood the case file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

import html2text

from inbox_agent.domain.model import Attachment
from inbox_agent.stages.attachments import attachment_of, make_attachment
from inbox_agent.stages.charsets import clean_header_text, decode_bytes, normalize_charset
from inbox_agent.stages.mime_parts import (
    content_type_of,
    declared_charset,
    disposition_of,
    filename_of,
    payload_bytes,
    wire_payload,
)
from inbox_agent.stages.parse_defects import Defects
from inbox_agent.stages.tnef import TnefUnreadable, is_tnef, unpack_tnef

MAX_ATTACHMENTS = 200
MAX_TEXT_CHARS = 1_000_000


# C0 controls but tab and line breaks, DEL, and the C1 controls but NEL: a terminal
# acts on U+009B (CSI) as on ESC [ — colours, a cleared screen, a retitled window —
# when `show` prints a customer's text to an ops terminal. And the explicit bidi
# overrides, embeddings and isolates, which make text read in another order than it
# is written ("receipt<U+202E>fdp.exe" shows as "receiptexe.pdf"); RTL text needs none
# of them to show right, and the marks U+200E/U+200F stay.
_BODY_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")


_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _is_body(content_type: str, disposition: str, filename: str) -> bool:
    if content_type not in ("text/plain", "text/html") or disposition == "attachment":
        return False
    # A named text part is a file unless the mailer explicitly shows it inline.
    return not filename or disposition == "inline"


def _decode_text_part(part: Message, hint: str | None, defects: Defects) -> str:
    payload = payload_bytes(part, defects)
    declared = declared_charset(part)
    text, used = decode_bytes(payload, declared, hint=hint)
    if used is None:
        defects.add(f"body: undecodable {content_type_of(part)} part, replacement characters used")
    elif declared and used != normalize_charset(declared) and (not payload.isascii() or used == "hz"):
        defects.add(f"body: charset {clean_header_text(declared)[:40]!r} did not fit, decoded as {used}")
    elif used == "hz" and not declared:  # 7-bit HZ passes for ASCII: a repair staff should see
        defects.add("body: no charset; 7-bit text decoded as hz (RFC 1843)")
    return text


def html_to_text(html: str) -> str:
    """Readable text from HTML: links kept as text, no images, never script or style."""
    without_code = _SCRIPT_OR_STYLE.sub(" ", html)
    converter = html2text.HTML2Text()
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.body_width = 0
    # Entities as the characters they name: by default "&eacute;" becomes "e", so
    # "bloqu&eacute;" lost its accent (html2text's ASCII stand-ins).
    converter.unicode_snob = True
    try:
        # &nbsp; stays a plain space, as before the entities were kept (quote and reply
        # detection, and staff reading the text, expect one).
        return converter.handle(without_code).replace("\xa0", " ")
    except Exception:  # noqa: BLE001 - fall back to plain tag stripping on converter bugs
        return _TAG.sub(" ", without_code)


def clean_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROL_CHARS.sub("", text).strip("\n")


def charset_hint(leaves: list[Message]) -> str | None:
    """The body's charset: the same mailer most likely wrote raw 8-bit headers in it."""
    for part in leaves[:20]:  # the body comes first; huge mails need not be scanned
        if part.get_content_maintype() == "text":
            declared = declared_charset(part)
            if normalize_charset(declared) not in (None, "ascii", "utf-8"):
                return declared
    return None


@dataclass
class BodyParts:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    skipped_attachments: int = 0
    wrapped: list[str] = field(default_factory=list)  # text of a winmail.dat: the last resort


_HTML_MARKUP = re.compile(r"<(html|body|div|p|br|table)\b", re.IGNORECASE)


def _read_unsplit_multipart(part: Message, hint: str | None, body: BodyParts, defects: Defects) -> None:
    """A multipart whose boundary never appears: its body is the mail's text, decoded."""
    defects.add(f"mime: {content_type_of(part)} whose boundary never appears; its body read as text")
    text = _decode_text_part(part, hint, defects)
    (body.html if _HTML_MARKUP.search(text[:4096]) else body.plain).append(text)


def _read_part(part: Message, hint: str | None, body: BodyParts, defects: Defects) -> None:
    content_type = content_type_of(part)
    disposition = disposition_of(part)
    filename = filename_of(part, hint, defects)
    if content_type.startswith("multipart/") and not part.is_multipart():
        _read_unsplit_multipart(part, hint, body, defects)
    elif _is_body(content_type, disposition, filename):
        text = _decode_text_part(part, hint, defects)
        (body.html if content_type == "text/html" else body.plain).append(text)
        if filename and len(body.attachments) < MAX_ATTACHMENTS:
            # A named text part shown inline is also the file the sender attached.
            body.attachments.append(attachment_of(part, filename, disposition, defects))
    elif len(body.attachments) < MAX_ATTACHMENTS:
        attachment = attachment_of(part, filename, disposition, defects)
        if is_tnef(attachment.payload):
            _unpack_winmail(attachment, body, defects)
        else:
            body.attachments.append(attachment)
    else:
        body.skipped_attachments += 1


def _unpack_winmail(container: Attachment, body: BodyParts, defects: Defects) -> None:
    """The files of a winmail.dat in its place (stages/tnef.py); kept as sent when unreadable."""
    try:
        unpacked = unpack_tnef(container.payload)
    except TnefUnreadable as exc:
        defects.add(
            f"attachments: {container.filename or 'winmail.dat'} (TNEF) unreadable ({exc}), kept as sent"
        )
        body.attachments.append(container)
        return
    text = unpacked.plain or (html_to_text(unpacked.html) if unpacked.html else "")
    if not unpacked.files and not text.strip():  # cut short, or a stream of properties only
        defects.add(
            f"attachments: {container.filename or 'winmail.dat'} (TNEF) holds no file or text, kept as sent"
        )
        body.attachments.append(container)
        return
    for wrapped in unpacked.files:
        if len(body.attachments) >= MAX_ATTACHMENTS:
            body.skipped_attachments += 1
            continue
        body.attachments.append(
            make_attachment(wrapped.data, wrapped.name, wrapped.declared_type, inline=wrapped.inline)
        )
    if text.strip():
        body.wrapped.append(text)


def read_parts(leaves: list[Message], hint: str | None, defects: Defects) -> BodyParts:
    body = BodyParts()
    for index, part in enumerate(leaves):
        try:
            _read_part(part, hint, body, defects)
        except Exception as exc:  # noqa: BLE001 - RecursionError included: one bad part must not lose the mail
            defects.add(f"mime: part {index} unreadable ({type(exc).__name__}), kept as a file as sent")
            if len(body.attachments) < MAX_ATTACHMENTS:
                body.attachments.append(make_attachment(wire_payload(part), "", "application/octet-stream"))
    if body.skipped_attachments:
        defects.add(f"attachments: {body.skipped_attachments} more not kept (limit {MAX_ATTACHMENTS})")
    return body


def readable_text(body: BodyParts, defects: Defects) -> str:
    text = "\n\n".join(clean_body(part) for part in body.plain if part.strip())
    if not text.strip() and body.html:
        text = clean_body(html_to_text("\n".join(body.html)))
    if not text.strip() and body.wrapped:  # Outlook put the only text in its winmail.dat
        text = "\n\n".join(clean_body(part) for part in body.wrapped)
    if len(text) > MAX_TEXT_CHARS:
        defects.add(f"body: text cut to {MAX_TEXT_CHARS} characters")
        text = text[:MAX_TEXT_CHARS]
    return text

"""Text for a mail whose body parts hold none, so the categorizer never reads an empty mail.

Only used when the plain and HTML body parts gave no text. In order, the first
that gives text wins, as mail-parser reads the same mails:

1. text parts not sent as attachments: ``text/enriched``, ``text/x-…``, a
   ``text/plain`` part that only carries a ``name``, a delivery report;
2. the text of attached mails (``message/rfc822``: a complaint forwarded as an
   attachment is the customer's complaint), nested ones included;
3. unnamed parts whose declared type is wrong but whose bytes are plainly text
   (an ``image/jpg`` holding a password-reset notice): no file signature, no
   NUL, a clean decode and almost only printable characters.

The parts stay attachments as well; a defect says where the text came from.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message

from inbox_agent.stages.attachments import sniff_type
from inbox_agent.stages.charsets import decode_bytes
from inbox_agent.stages.message_body import MAX_TEXT_CHARS, clean_body, read_parts, readable_text
from inbox_agent.stages.mime_parts import content_type_of, declared_charset, disposition_of, payload_bytes
from inbox_agent.stages.mime_tree import leaf_parts
from inbox_agent.stages.parse_defects import Defects

_MAX_ATTACHED_MAILS = 20
_MAIL_TYPES = frozenset({"message/rfc822", "message/global"})
# Delivery and read reports (RFC 3464, 8098) are text for people as much as for programs.
_REPORT_TYPES = frozenset({"message/delivery-status", "message/disposition-notification"})
_MAX_SNIFFED_BYTES = 1_000_000
_TEXT_SHARE = 0.95


def _unnamed(part: Message) -> bool:
    return disposition_of(part) != "attachment" and not part.get_filename(failobj="")


def _other_text_parts(leaves: list[Message], hint: str | None, defects: Defects) -> str:
    """Text parts not sent as attachments: ``text/enriched``, or ``text/plain; name=msg.txt``."""
    texts = []
    for part in leaves:
        readable = content_type_of(part).startswith("text/") or content_type_of(part) in _REPORT_TYPES
        if readable and disposition_of(part) != "attachment":
            texts.append(decode_bytes(payload_bytes(part, defects), declared_charset(part), hint=hint)[0])
    return "\n\n".join(clean_body(text) for text in texts if text.strip())


def _attached_mail_text(leaves: list[Message], hint: str | None, defects: Defects) -> str:
    queue = [part for part in leaves if content_type_of(part) in _MAIL_TYPES]
    texts: list[str] = []
    index = 0
    while index < min(len(queue), _MAX_ATTACHED_MAILS):
        inner = queue[index].get_payload()
        index += 1
        if not isinstance(inner, list):
            continue
        for message in inner[:1]:
            if not isinstance(message, Message):
                continue
            inner_leaves = leaf_parts(message, Defects())  # its MIME defects are not this mail's
            text = readable_text(read_parts(inner_leaves, hint, Defects()), defects)
            if text.strip():
                texts.append(text)
            elif len(queue) < _MAX_ATTACHED_MAILS:
                queue.extend(part for part in inner_leaves if content_type_of(part) in _MAIL_TYPES)
    return "\n\n".join(texts)


def _looks_like_text(text: str) -> bool:
    printable = sum(1 for char in text if char.isprintable() or char in "\r\n\t")
    return bool(text.strip()) and printable >= _TEXT_SHARE * len(text)


def _mislabelled_text(leaves: list[Message], hint: str | None, defects: Defects) -> str:
    texts = []
    for part in leaves:
        content_type = content_type_of(part)
        if content_type.startswith(("text/", "message/", "multipart/")) or not _unnamed(part):
            continue
        payload = payload_bytes(part, defects)
        if len(payload) > _MAX_SNIFFED_BYTES or b"\x00" in payload or sniff_type(payload, "")[1] != "bin":
            continue
        text, used = decode_bytes(payload, declared_charset(part), hint=hint)
        if used is not None and _looks_like_text(text):
            texts.append(clean_body(text))
    return "\n\n".join(texts)


_FALLBACKS: tuple[tuple[str, Callable[[list[Message], str | None, Defects], str]], ...] = (
    ("text parts not sent as attachments", _other_text_parts),
    ("the attached mail", _attached_mail_text),
    ("a part whose declared type is not text", _mislabelled_text),
)


def fallback_text(leaves: list[Message], hint: str | None, defects: Defects) -> str:
    """The first text the fallbacks find, or "" when the mail really has none."""
    for description, find in _FALLBACKS:
        try:
            text = find(leaves, hint, defects)
        except Exception as exc:  # noqa: BLE001 - RecursionError included: a fallback must not lose the mail
            defects.add(f"body: looking for text in {description} failed ({type(exc).__name__})")
            continue
        if text.strip():
            defects.add(f"body: no text part; text read from {description}")
            return text[:MAX_TEXT_CHARS]
    return ""

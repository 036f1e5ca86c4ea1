"""The customer's mail inside a forward: who wrote it, when, about what, and its text.

Staff forward to the complaint address a complaint that reached them elsewhere (their
own inbox, the general support address). Two shapes are read:

* **attached** (``message/rfc822``, Outlook's "Forward as attachment", Thunderbird's
  default): the original is a whole mail, parsed as any other, with its Date and
  Message-ID and its own attachments;
* **inline** (Gmail, Apple Mail, Outlook, QQ, Foxmail): the forwarded header block
  ("From: Amy Lee <amy@example.com>", "发件人: ...", "Subject:", "Date:"/"Sent:"/
  "发送时间:") and the text below it (``quoted_reply.forward_block``). Its date is used
  only when it is an RFC 5322 date with a zone (Thunderbird's); clients' local formats
  ("Fri, Dec 4, 2026 at 9:00 AM") name no zone, so the text is kept for the record.

Whether the forward is filed, and under whom, is the deciding stage's question
(``pipeline/staff_forward.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr, parsedate_to_datetime

from inbox_agent.domain.model import Attachment, ParsedMessage
from inbox_agent.stages.parse import ParseFailure, parse_message
from inbox_agent.stages.quoted_reply import FORWARD_SUBJECT, forward_block, written_part

_MAIL_TYPES = frozenset({"message/rfc822", "message/global"})
_FIELD = re.compile(r"^\*?(?P<label>[^:：*]{1,20}?)\*?\s?[:：]\*?\s*(?P<value>.*)$")
_FROM_LABELS = frozenset({"from", "de", "von", "发件人", "發件人", "寄件者", "寄件人"})
_SUBJECT_LABELS = frozenset({"subject", "objet", "betreff", "asunto", "主题", "主旨"})
_DATE_LABELS = frozenset(
    {
        "date",
        "sent",
        "gesendet",
        "envoyé",
        "enviado",
        "发送时间",
        "發送時間",
        "发送日期",
        "發送日期",
        "寄件日期",
        "日期",
    }
)
# An address in a forwarded From line: "<a@b>", "[mailto:a@b]" (older Outlook), or bare.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Forwarded:
    sender: str  # the original sender's address, lower-cased; "" when the forward names none
    sender_name: str
    subject: str
    date: datetime | None  # when the customer sent it, when that is known with its zone
    date_text: str  # the Date/Sent line as written, for the record
    message_id: str  # "" for an inline forward
    text: str  # the forwarded mail's text
    note: str  # what the forwarding staff member wrote above it
    attachments: tuple[Attachment, ...]  # the original's files (attached shape only)
    shape: str  # "attached mail" | "inline forward"
    # The original's own loop/auto-reply headers (attached shape only): a customer's
    # out-of-office, forwarded, is still an out-of-office (the guard reads them).
    headers: tuple[tuple[str, str], ...] = ()
    return_path: str | None = None


def forwarded_mail(msg: ParsedMessage) -> Forwarded | None:
    """The mail ``msg`` forwards, or None when it forwards none."""
    return _attached(msg) or _inline(msg)


def _attached(msg: ParsedMessage) -> Forwarded | None:
    for attachment in msg.attachments:
        if attachment.content_type not in _MAIL_TYPES and attachment.declared_type not in _MAIL_TYPES:
            continue
        try:
            inner = parse_message(attachment.payload)
        except ParseFailure:
            continue
        return Forwarded(
            sender=inner.sender,
            sender_name=inner.sender_name,
            subject=inner.subject,
            date=inner.date,
            date_text=inner.header("date") or "",
            message_id=inner.message_id,
            text=inner.new_text,
            note=written_part(msg.text) if _has_own_text(msg) else "",
            attachments=inner.attachments,
            shape="attached mail",
            headers=inner.headers,
            return_path=inner.return_path,
        )
    return None


def _has_own_text(msg: ParsedMessage) -> bool:
    """False when the forward's text is the attached mail's, read because it had none
    of its own (``body_fallback``): there is then no note above the forward."""
    return bool(msg.text) and not any(defect.startswith("body: no text part") for defect in msg.defects)


def _inline(msg: ParsedMessage) -> Forwarded | None:
    block = forward_block(msg.text, forward=bool(FORWARD_SUBJECT.match(msg.subject)))
    if block is None:
        return None
    note, header_lines, text = block
    fields: dict[str, str] = {}
    for line in header_lines:
        match = _FIELD.match(line)
        if match:
            fields.setdefault(match.group("label").strip().lower(), match.group("value").strip())
    from_value = next((fields[label] for label in _FROM_LABELS if label in fields), None)
    if from_value is None:
        return None
    name, address = _name_and_address(from_value)
    date_text = next((fields[label] for label in _DATE_LABELS if label in fields), "")
    return Forwarded(
        sender=address,
        sender_name=name,
        subject=next((fields[label] for label in _SUBJECT_LABELS if label in fields), ""),
        date=_zoned_date(date_text),
        date_text=date_text,
        message_id="",
        text=text,
        note=note,
        attachments=(),
        shape="inline forward",
    )


def _name_and_address(value: str) -> tuple[str, str]:
    found = _ADDRESS.findall(value)
    if len(set(address.lower() for address in found)) != 1:
        return value.strip(), ""  # none, or two different ones: no customer to file under
    address = found[0].lower()
    name, parsed = parseaddr(value.replace("[mailto:", "<").replace("]", ">").rstrip(";"))
    if parsed.lower() != address:
        name = value.split("<", 1)[0]
    return name.strip().strip('"').strip(), address


def _zoned_date(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None

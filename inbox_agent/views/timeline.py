"""A case's history for the page: its mails and events in time order, masked.

Every customer string goes through ``mask_text`` here; the template autoescapes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import Event, MessageRecord
from inbox_agent.policies.escalation import MACHINE_SKIPS
from inbox_agent.views.words import local_time, size_words, sortable_time

# A long complaint stays readable on the page; the whole text is one `show` away.
MESSAGE_TEXT_LIMIT = 4000
EXCERPT_LIMIT = 280

EVENT_WORDS: Mapping[str, str] = {
    "opened": "Case opened",
    "customer_message": "Customer wrote again",
    "message_skipped": "Mail filed without acknowledgement",
    "ack_queued": "Acknowledgement queued",
    "mail_sent": "Mail sent",
    "mail_failed": "Mail could not be sent",
    "mail_retried": "Failed mail put back in the outbox",
    "note": "Internal note",
    "assigned": "Assigned",
    "staff_reply": "Staff replied",
    "resolved": "Resolved",
    "reopened": "Reopened",
    "escalated": "Escalated",
    "staff_notified": "Staff notified",
    "staff_command_refused": "Staff command refused",
    "jurisdiction": "Regulatory deadlines set",
    "holding_reply": "Holding reply queued",
    "deadline_escalated": "Escalated ahead of a regulatory deadline",
    "window_told": "Customer told about the complaint window",
    "recategorized": "Category changed",
    "severity_changed": "Severity changed",
    "sender_checked": "Sender checked",
    "relayed": "Relayed by a web form",
    "forwarded": "Forwarded to us by staff",
    "filed_by_staff": "Filed as a complaint by staff",
    "logged_by_staff": "Logged by staff (phone, letter, branch, ...)",
    "flagged": "Flagged",
    "viewed_unmasked": "Personal data shown unmasked",
    "raw_purged": "Raw mail deleted (retention)",
}

# What each kind of mail we send is, in words: the timeline says "First acknowledgement
# sent", never the template name "ack_first" and a Message-ID.
MAIL_KIND_WORDS: Mapping[str, str] = {
    "ack_first": "first acknowledgement",
    "ack_followup": "acknowledgement of a follow-up",
    "ack_complete": "acknowledgement: evidence complete",
    "staff_reply": "staff answer",
    "resolution": "resolution mail",
    "staff_notify": "escalation notification to staff",
    "staff_escalation": "escalation notification to staff",
    "escalation": "escalation notification to staff",
    "reopen_ack": "acknowledgement of the reopening",
}
_MESSAGE_ID = re.compile(r"\s*<[^<>\s]+@[^<>\s]+>")
# Stored timestamps inside an event's text ("waiting 6.0h since 2026-12-01T07:02:49+00:00"):
# shown to the minute, as the rest of the page shows times.
_ISO_UTC = re.compile(r"\b(\d{4}-\d\d-\d\d)T(\d\d:\d\d):\d\d(?:\.\d+)?(?:\+00:00|Z)")


def event_detail_words(kind: str, detail: str) -> str:
    """An event's detail as staff read it: mail kinds in words, Message-IDs left out
    (the mail itself is on the timeline)."""
    if kind in ("ack_queued", "mail_sent", "mail_failed", "mail_retried"):
        first, _, rest = detail.partition(" ")
        if first in MAIL_KIND_WORDS or first.replace("_", "").isalpha():
            detail = f"{MAIL_KIND_WORDS.get(first, first.replace('_', ' '))} {rest}".strip()
    return _ISO_UTC.sub(r"\1 \2 UTC", _MESSAGE_ID.sub("", detail)).strip()


@dataclass(frozen=True)
class TimelineItem:
    """One line of a case's history: a stored mail or an event."""

    sort_key: str  # ISO-8601 UTC: orders mails and events together
    at: str  # for display, in the service's time zone
    kind: str  # "in" (mail received), "out" (mail we sent) or "event"
    label: str  # "Customer wrote", "Sent to customer", or the event in words
    who: str
    subject: str = ""
    text: str = ""  # masked; a mail's text or an event's detail
    attachments: tuple[str, ...] = ()  # "name (type, size)", masked
    note: str = ""  # e.g. why a mail was not acknowledged


def timeline(
    events: Sequence[Event], messages: Sequence[MessageRecord], tz: tzinfo
) -> tuple[TimelineItem, ...]:
    """Mails and events of a case in time order (a mail before the events it caused)."""
    items = [(message.received_at or message.date, 0, _message_item(message, tz)) for message in messages]
    items += [(event.at, 1, _event_item(event, tz)) for event in events]
    items.sort(key=lambda item: (sortable_time(item[0]), item[1]))
    return tuple(item for _, _, item in items)


def _message_item(message: MessageRecord, tz: tzinfo) -> TimelineItem:
    incoming = message.direction == "in"
    at = message.received_at or message.date
    return TimelineItem(
        sort_key=at,
        at=local_time(at, tz),
        kind="in" if incoming else "out",
        label="Mail received" if incoming else "Mail sent",
        who=mask_text(message.sender),
        subject=mask_text(message.subject),
        text=_capped(mask_text(message.text)),
        attachments=tuple(
            f"{mask_text(name)} ({content_type}, {size_words(size)})"
            for name, _stored, content_type, size in message.attachments
        ),
        note=f"not acknowledged: {message.skip}" if message.skip else "",
    )


def _event_item(event: Event, tz: tzinfo) -> TimelineItem:
    return TimelineItem(
        sort_key=event.at,
        at=local_time(event.at, tz),
        kind="event",
        label=EVENT_WORDS.get(event.kind, event.kind.replace("_", " ").capitalize()),
        who=mask_text(event.actor),
        text=_capped(mask_text(event_detail_words(event.kind, event.detail))),
    )


def excerpt(messages: Sequence[MessageRecord]) -> str:
    """The start of the customer's latest mail, on one line, masked. An out-of-office
    or a bounce is not the customer's latest word, nor is staff mail."""
    incoming = [
        message
        for message in messages
        if message.direction == "in"
        and message.text.strip()
        and message.skip not in MACHINE_SKIPS
        and message.skip != "staff"
    ]
    if not incoming:
        return ""
    text = " ".join(mask_text(incoming[-1].text).split())
    return text if len(text) <= EXCERPT_LIMIT else text[: EXCERPT_LIMIT - 1].rstrip() + "…"


def _capped(text: str) -> str:
    if len(text) <= MESSAGE_TEXT_LIMIT:
        return text
    rest = len(text) - MESSAGE_TEXT_LIMIT
    return f"{text[:MESSAGE_TEXT_LIMIT]}\n… ({rest} more characters: see `inbox-agent show`)"

"""One case as the web app shows it (pure): the whole thread in order, masked.

Customer mails as received (their text; HTML is never rendered), our mails exactly as
sent (the text of the bytes that went out, not the template name), mails still in the
outbox, staff notes and events with who and when; evidence received and missing, the
response clock and level, the category with its explanation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import Case, MessageRecord
from inbox_agent.mail.labels import Labels
from inbox_agent.policies.determination import determination_words
from inbox_agent.views.clock import ResponseClock, clock_words, deadline_words
from inbox_agent.views.explanation import explanation_lines
from inbox_agent.views.page import FLAG_WORDS, STATUS_WORDS, case_group
from inbox_agent.views.timeline import EVENT_WORDS, MAIL_KIND_WORDS, event_detail_words
from inbox_agent.views.words import local_time, size_words, sortable_time

# Events the thread already shows as the mail itself.
_SHOWN_AS_MAIL = frozenset({"ack_queued", "mail_sent"})


@dataclass(frozen=True)
class AttachmentLink:
    name: str  # the customer's file name, masked (shown as text only)
    stored: str  # the generated safe name: the download link's key
    content_type: str
    size: str
    is_image: bool


@dataclass(frozen=True)
class ThreadItem:
    sort_key: float
    at: str
    kind: str  # "in" | "out" | "queued" | "note" | "event"
    label: str
    who: str
    subject: str = ""
    text: str = ""
    attachments: tuple[AttachmentLink, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class SentText:
    """A mail of ours as it went out (or waits in the outbox): decoded from its bytes."""

    message_id: str
    kind: str
    subject: str
    text: str
    queued_at: str = ""  # set while the mail is still in the outbox
    state: str = ""  # "pending" | "failed" for queued mails


@dataclass(frozen=True)
class CasePage:
    case_id: str
    status: str
    status_label: str
    group: str
    escalation: str
    category: str
    category_label: str
    confidence: str
    explanation: tuple[str, ...]  # the categorizer's reasons, one per line
    matched: tuple[str, ...]
    needs_triage: bool
    severity: str
    customer: str
    customer_name: str
    language: str
    subject: str
    assignee: str
    flags: tuple[str, ...]
    received: tuple[tuple[str, str], ...]
    missing: tuple[str, ...]
    clock: str
    deadline: str
    overdue: bool
    opened: str
    thread: tuple[ThreadItem, ...]
    # The complaint window and the regulatory deadlines, met or missed (views/deadlines.py).
    regulatory: tuple[str, ...] = ()
    determination: str = ""  # how it was decided when resolved: "upheld; redress 25.00 CNY"


def build_case_page(
    case: Case,
    messages: Sequence[MessageRecord],
    sent: Mapping[str, SentText],
    queued: Sequence[SentText],
    *,
    clock: ResponseClock,
    labels: Labels,
    tz: tzinfo,
    regulatory: Sequence[str] = (),
) -> CasePage:
    """``sent``: our mails by Message-ID; ``queued``: our mails still in the outbox."""
    status = str(case.status)
    group = case_group(case, clock)
    escalated = case.escalation_level > 0 or case.status == "escalated"
    return CasePage(
        case_id=case.case_id,
        status=status,
        status_label=STATUS_WORDS.get(status, status.replace("_", " ")),
        group=group,
        escalation=f"L{max(case.escalation_level, 1)}" if escalated else "",
        category=case.category,
        category_label=labels.category(case.category),
        confidence=f"{case.confidence:.0%}",
        explanation=_explanation(case),
        matched=tuple(f"{category}: {term}" for category, term in case.matched),
        needs_triage="needs_triage" in case.flags,
        severity=case.severity,
        customer=mask_text(case.customer),
        customer_name=mask_text(case.customer_name),
        language=case.language,
        subject=mask_text(case.subject) or "(no subject)",
        assignee=case.assignee,
        flags=tuple(FLAG_WORDS.get(flag, flag.replace("_", " ")) for flag in case.flags),
        received=tuple((labels.evidence_text(key).label, mask_text(value)) for key, value in case.evidence),
        missing=tuple(labels.evidence_text(key).label for key in case.missing),
        clock=clock_words(clock) or "stopped: nobody is waiting for us",
        deadline=deadline_words(clock),
        overdue=clock.overdue,
        opened=local_time(case.created_at, tz),
        thread=thread(case, messages, sent, queued, tz),
        regulatory=tuple(regulatory),
        determination=determination_words(case.determination, case.redress),
    )


def _explanation(case: Case) -> tuple[str, ...]:
    """Why the category (views/explanation.py, as in ``show`` and the page), without the
    confidence and the curated terms: the side panel shows those on their own lines."""
    lines = explanation_lines(case)[1:]
    return tuple(line for line in lines if not line.startswith("curated terms"))


def _opened_words(detail: str) -> str:
    """The opened event in the thread: who and which category (the why is in the side panel)."""
    return "; ".join(detail.split("; ")[:2])


def thread(
    case: Case,
    messages: Sequence[MessageRecord],
    sent: Mapping[str, SentText],
    queued: Sequence[SentText],
    tz: tzinfo,
) -> tuple[ThreadItem, ...]:
    items = [_mail_item(message, sent, tz, case.subject) for message in messages]
    items += [_queued_item(mail, tz, case.subject) for mail in queued]
    for event in case.events:
        if event.kind not in _SHOWN_AS_MAIL:
            detail = _opened_words(event.detail) if event.kind == "opened" else event.detail
            items.append(_event_item(event.at, event.kind, event.actor, detail, tz))
    # At one instant: the customer's mail, then what it caused (events), then our mails.
    rank = {"in": 0, "note": 1, "event": 1, "out": 2, "queued": 2}
    return tuple(sorted(items, key=lambda item: (item.sort_key, rank[item.kind])))


def _ours(text: str, customer_subject: str) -> str:
    """Our mail as sent, with the customer strings it quotes masked: their subject, and
    their display name in the greeting, our first line ("Dear Li Lei 13812345678,",
    "李雷 13812345678，您好："). The rest is our own template text, shown exactly: masking
    it would garble it ("password → Settings" reads like a password to the masker)."""
    if customer_subject and customer_subject != mask_text(customer_subject):
        text = text.replace(customer_subject, mask_text(customer_subject))
    greeting, newline, rest = text.partition("\n")
    if greeting.startswith("Dear ") or greeting.rstrip().endswith("您好："):
        return f"{mask_text(greeting)}{newline}{rest}"
    return text


def _mail_item(
    message: MessageRecord, sent: Mapping[str, SentText], tz: tzinfo, customer_subject: str
) -> ThreadItem:
    at = message.received_at or message.date
    if message.direction == "in":
        return ThreadItem(
            sort_key=sortable_time(at),
            at=local_time(at, tz),
            kind="in",
            label="Staff mail" if message.skip == "staff" else "Customer wrote",
            who=mask_text(message.sender),
            subject=mask_text(message.subject),
            text=mask_text(message.text),
            attachments=tuple(_attachment(*item) for item in message.attachments),
            note=f"not acknowledged: {message.skip}" if message.skip and message.skip != "staff" else "",
        )
    ours = sent.get(message.message_id)
    kind_words = MAIL_KIND_WORDS.get(ours.kind, "mail") if ours else "mail"
    return ThreadItem(
        sort_key=sortable_time(at),
        at=local_time(at, tz),
        kind="out",
        label=f"We sent: {kind_words}",
        who=mask_text(message.sender),
        subject=mask_text(ours.subject if ours else message.subject),
        text=_ours(ours.text, customer_subject) if ours else "(the sent mail's bytes are no longer kept)",
    )


def _queued_item(mail: SentText, tz: tzinfo, customer_subject: str) -> ThreadItem:
    state = "could not be sent" if mail.state == "failed" else "queued, not sent yet"
    return ThreadItem(
        sort_key=sortable_time(mail.queued_at),
        at=local_time(mail.queued_at, tz),
        kind="queued",
        label=f"{MAIL_KIND_WORDS.get(mail.kind, 'mail').capitalize()} ({state})",
        who="",
        subject=mask_text(mail.subject),
        text=_ours(mail.text, customer_subject),
    )


def _event_item(at: str, kind: str, actor: str, detail: str, tz: tzinfo) -> ThreadItem:
    return ThreadItem(
        sort_key=sortable_time(at),
        at=local_time(at, tz),
        kind="note" if kind == "note" else "event",
        label=EVENT_WORDS.get(kind, kind.replace("_", " ").capitalize()),
        who=mask_text(actor),
        text=mask_text(event_detail_words(kind, detail)),
    )


def _attachment(name: str, stored: str, content_type: str, size: int) -> AttachmentLink:
    return AttachmentLink(
        name=mask_text(name) or stored,
        stored=stored,
        content_type=content_type,
        size=size_words(size),
        is_image=content_type in ("image/png", "image/jpeg", "image/gif", "image/webp"),
    )

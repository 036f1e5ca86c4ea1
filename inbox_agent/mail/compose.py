"""Replies rendered from the templates: requests, template contexts and subjects.

Pure but for the templates it renders: no I/O of its own and no clock reads, so the
same request always yields the same mail. Building the RFC 5322 message is ``mime``
(``build_email_bytes``, ``make_message_id`` and ``validated_addr_spec`` are
re-exported here); sample requests for the template check are ``samples``.

Every piece of customer text that reaches a subject or a one-line field went through
``single_line`` (no CR/LF, no other control characters). The customer's subject, which
every reply repeats, is masked too: a card number or one-time code typed into it is
not sent out again in our mail (nor kept in the Sent folder and the outbox).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from inbox_agent.domain.jurisdiction import NextStep
from inbox_agent.domain.languages import ENGLISH, SIMPLIFIED_CHINESE, TRADITIONAL_CHINESE, language_name
from inbox_agent.domain.languages import reply_language as _tag_language
from inbox_agent.domain.lifecycle import CASE_TAG_IN_SUBJECT
from inbox_agent.domain.mask import mask_text
from inbox_agent.mail.mime import build_email_bytes, make_message_id, validated_addr_spec
from inbox_agent.mail.text import normalise_newlines, single_line, truncate

if TYPE_CHECKING:
    from inbox_agent.mail.labels import Labels, TemplateSource

__all__ = [
    "ACK_KINDS",
    "AckRequest",
    "EvidenceItem",
    "HoldingRequest",
    "RenderedMail",
    "ResolutionRequest",
    "StaffNotificationRequest",
    "StaffReplyRequest",
    "ack_context",
    "build_email_bytes",
    "clean_subject",
    "format_duration",
    "make_message_id",
    "holding_context",
    "render_ack",
    "render_holding_reply",
    "render_resolution",
    "render_staff_notification",
    "render_staff_reply",
    "reply_language",
    "reply_subject",
    "resolution_context",
    "staff_notification_context",
    "staff_reply_context",
    "validated_addr_spec",
]

ACK_KINDS: tuple[str, ...] = ("ack_first", "ack_followup", "ack_complete")
MAX_SUBJECT_CHARS = 200
MAX_NAME_CHARS = 80
MAX_STAFF_EXCERPT_CHARS = 4000

_CASE_TAG = CASE_TAG_IN_SUBJECT
# Duration words of the Chinese replies; hours and minutes differ between the scripts.
_CHINESE_UNITS = {
    SIMPLIFIED_CHINESE: {"day": "天", "hour": "小时", "minute": "分钟"},
    TRADITIONAL_CHINESE: {"day": "天", "hour": "小時", "minute": "分鐘"},
}
# "Re:", "RE[2]:", "回复：", "答复:", "回覆:" (Traditional), repeated in any order.
_REPLY_PREFIX = re.compile(r"^\s*(?:re|回复|答复|回覆|答覆)\s*(?:\[\d+\])?\s*[:：]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence id as a template sees it."""

    id: str
    label: str
    help: str


@dataclass(frozen=True)
class AckRequest:
    case_id: str
    kind: str  # "ack_first" | "ack_followup" | "ack_complete"
    language: str  # "zh" | "zh-Hant" | "en"
    category: str
    severity: str
    response_hours: float
    received: tuple[str, ...]  # evidence ids supplied by THIS message (follow-ups)
    missing: tuple[str, ...]
    customer_name: str
    original_subject: str
    hotline: str
    # The incident is older than the service agreement's complaint window of this many
    # days (0 = it is not, or the customer was told already): the reply says so.
    window_days: int = 0
    incident_date: str = ""
    # "S/MIME" or "OpenPGP": the customer's mail arrived encrypted and could not be
    # read; the reply asks them to write again without encryption. "" otherwise.
    encrypted: str = ""
    # Staff logged the complaint from a call, a letter, a visit (policies/logged.py):
    # the reply thanks the customer for contacting us, not for writing.
    logged: bool = False


@dataclass(frozen=True)
class StaffNotificationRequest:
    case_id: str
    level: str  # "L1" | "L2" | "L3"
    category: str
    severity: str  # "urgent" | "high" | "normal"
    status: str
    waited_hours: float
    threshold_hours: float
    customer_address: str
    customer_name: str
    customer_language: str
    received: tuple[str, ...]  # every evidence id the case has so far
    missing: tuple[str, ...]
    last_message_subject: str
    last_message_text: str  # already masked by the caller (card numbers, passwords)


@dataclass(frozen=True)
class StaffReplyRequest:
    case_id: str
    language: str
    customer_name: str
    staff_name: str  # "" signs the reply as the team
    answer: str  # the staff member's text, passed to the template as data
    original_subject: str


@dataclass(frozen=True)
class ResolutionRequest:
    case_id: str
    language: str
    category: str
    customer_name: str
    summary: str  # what was done, written by staff; "" when there is nothing to add
    original_subject: str
    # Where the customer can go if not satisfied (config only; none configured = none
    # named).
    next_steps: tuple[NextStep, ...] = ()
    determination: str = ""  # how the complaint was decided (domain DETERMINATIONS); "" = not said
    redress: str = ""  # "25.00 CNY" paid or credited; "" = none


@dataclass(frozen=True)
class HoldingRequest:
    """The holding reply: the final answer takes longer; why, by when, and the options."""

    case_id: str
    language: str
    customer_name: str
    original_subject: str
    received_date: str  # local date of receipt, YYYY-MM-DD
    final_date: str  # the new date: the final-response deadline, YYYY-MM-DD (local)
    missing: tuple[str, ...]  # evidence still missing: one reason it takes longer
    next_steps: tuple[NextStep, ...] = ()


# --- rendering ---------------------------------------------------------------------------


def render_ack(templates: TemplateSource, req: AckRequest) -> RenderedMail:
    if req.kind not in ACK_KINDS:
        raise ValueError(f"unknown acknowledgement kind {req.kind!r}; expected one of {ACK_KINDS}")
    context = ack_context(templates, req)
    return _render_pair(templates, req.kind, context, req.original_subject)


def render_staff_reply(templates: TemplateSource, req: StaffReplyRequest) -> RenderedMail:
    return _render_pair(templates, "staff_reply", staff_reply_context(templates, req), req.original_subject)


def render_resolution(templates: TemplateSource, req: ResolutionRequest) -> RenderedMail:
    return _render_pair(templates, "resolution", resolution_context(templates, req), req.original_subject)


def render_holding_reply(templates: TemplateSource, req: HoldingRequest) -> RenderedMail:
    return _render_pair(templates, "holding_reply", holding_context(templates, req), req.original_subject)


def render_staff_notification(templates: TemplateSource, req: StaffNotificationRequest) -> RenderedMail:
    context = staff_notification_context(templates, req)
    urgency = " (urgent)" if req.severity == "urgent" else ""
    subject = (
        f"[{single_line(req.case_id)}] {single_line(req.level)} escalation{urgency}: "
        f"{context['category_label']}, waiting {context['waited']}"
    )
    return RenderedMail(
        subject=truncate(subject, MAX_SUBJECT_CHARS),
        text=templates.render("staff_escalation.txt.j2", **context),
        html=templates.render("staff_escalation.html.j2", **context),
    )


def _render_pair(
    templates: TemplateSource, kind: str, context: dict[str, Any], original_subject: str
) -> RenderedMail:
    language = context["language"]
    default_subject = templates.labels(language).phrase("default_subject")
    return RenderedMail(
        subject=reply_subject(context["case_id"], original_subject, default_subject),
        text=templates.render(f"{kind}.{language}.txt.j2", **context),
        html=templates.render(f"{kind}.{language}.html.j2", **context),
    )


# --- template contexts -------------------------------------------------------------------


def ack_context(templates: TemplateSource, req: AckRequest) -> dict[str, Any]:
    language = reply_language(req.language)
    labels = templates.labels(language)
    return {
        **_customer_context(labels, req.case_id, req.customer_name),
        "kind": req.kind,
        "category": req.category,
        "category_label": labels.category(req.category),
        "severity": req.severity,
        "is_security": req.category == "security",
        # A privacy complaint gets the same two protective steps, without the alarm.
        "is_privacy": req.category == "privacy",
        "response_hours": req.response_hours,
        "response_time": format_duration(req.response_hours, language),
        "received": _evidence_items(labels, req.received),
        "missing": _evidence_items(labels, req.missing),
        "original_subject": echoed_subject(req.original_subject),
        "hotline": single_line(req.hotline),
        "window_days": req.window_days,
        "incident_date": single_line(req.incident_date),
        "encrypted": single_line(req.encrypted),
        "logged": req.logged,
        "change_password_path": labels.phrase("change_password_path"),
        "freeze_path": labels.phrase("freeze_path"),
    }


def staff_reply_context(templates: TemplateSource, req: StaffReplyRequest) -> dict[str, Any]:
    labels = templates.labels(reply_language(req.language))
    return {
        **_customer_context(labels, req.case_id, req.customer_name),
        "staff_name": truncate(single_line(req.staff_name), MAX_NAME_CHARS),
        "answer": normalise_newlines(req.answer).strip(),
        "original_subject": echoed_subject(req.original_subject),
    }


def resolution_context(templates: TemplateSource, req: ResolutionRequest) -> dict[str, Any]:
    labels = templates.labels(reply_language(req.language))
    return {
        **_customer_context(labels, req.case_id, req.customer_name),
        "category": req.category,
        "category_label": labels.category(req.category),
        "summary": normalise_newlines(req.summary).strip(),
        "original_subject": echoed_subject(req.original_subject),
        "next_steps": _next_steps(req.next_steps, labels.language),
        "determination": req.determination,
        "redress": single_line(req.redress),
    }


def holding_context(templates: TemplateSource, req: HoldingRequest) -> dict[str, Any]:
    labels = templates.labels(reply_language(req.language))
    return {
        **_customer_context(labels, req.case_id, req.customer_name),
        "received_date": single_line(req.received_date),
        "final_date": single_line(req.final_date),
        "missing": _evidence_items(labels, req.missing),
        "next_steps": _next_steps(req.next_steps, labels.language),
        "original_subject": echoed_subject(req.original_subject),
    }


def _next_steps(steps: Sequence[NextStep], language: str) -> list[dict[str, str]]:
    return [
        {"kind": step.kind, "name": single_line(step.name(language)), "contact": single_line(step.contact)}
        for step in steps
    ]


def staff_notification_context(templates: TemplateSource, req: StaffNotificationRequest) -> dict[str, Any]:
    # Staff mail is in English whatever the customer wrote; the customer's language is stated.
    labels = templates.labels(ENGLISH)
    excerpt = normalise_newlines(req.last_message_text).strip()
    return {
        "case_id": single_line(req.case_id),
        "language": ENGLISH,
        "service_name": labels.phrase("service_name"),
        "level": single_line(req.level),
        "category": req.category,
        "category_label": labels.category(req.category),
        "severity": req.severity,
        "status": req.status,
        "waited": format_duration(req.waited_hours, ENGLISH),
        "threshold": format_duration(req.threshold_hours, ENGLISH),
        "customer_address": single_line(req.customer_address),
        "customer_name": truncate(single_line(req.customer_name), MAX_NAME_CHARS),
        "customer_language": language_name(reply_language(req.customer_language)),
        "received": _evidence_items(labels, req.received),
        "missing": _evidence_items(labels, req.missing),
        "last_message_subject": single_line(req.last_message_subject),
        "last_message_text": truncate(excerpt, MAX_STAFF_EXCERPT_CHARS),
    }


def _customer_context(labels: Labels, case_id: str, customer_name: str) -> dict[str, Any]:
    return {
        "case_id": single_line(case_id),
        "language": labels.language,
        # A display name may carry a phone or card number ("Li Lei 13812345678"): the
        # greeting must not repeat it.
        "customer_name": truncate(salutation_name(mask_text(single_line(customer_name))), MAX_NAME_CHARS),
        "service_name": labels.phrase("service_name"),
    }


def salutation_name(display_name: str) -> str:
    """A name as one would address the person: Outlook's "Last, First" display name
    ("Smith, John") becomes "John Smith"; anything else is kept as written."""
    last, comma, first = display_name.partition(",")
    if comma and last.strip() and first.strip() and "," not in first and last.strip().isascii():
        return f"{first.strip()} {last.strip()}"
    return display_name.strip()


def _evidence_items(labels: Labels, ids: Sequence[str]) -> list[EvidenceItem]:
    items: list[EvidenceItem] = []
    for evidence_id in dict.fromkeys(ids):  # de-duplicated, order kept
        text = labels.evidence_text(evidence_id)
        items.append(EvidenceItem(id=evidence_id, label=text.label, help=text.help))
    return items


def reply_language(language: str) -> str:
    """The templates a language tag gets: zh-Hant (zh-TW, zh-HK too), zh (zh-CN...), en
    for anything else (``domain.languages.reply_language``)."""
    return _tag_language(language, ENGLISH)


def format_duration(hours: float, language: str) -> str:
    """A duration in plain words: "30 minutes", "1 hour 30 minutes", "3 days 4 hours"."""
    total_minutes = max(0, round(hours * 60))
    # Up to two days people still think in hours ("within 48 hours").
    days, rest = divmod(total_minutes, 24 * 60) if total_minutes >= 72 * 60 else (0, total_minutes)
    whole_hours, minutes = divmod(rest, 60)
    parts: list[tuple[int, str]] = []
    if days:
        parts.append((days, "day"))
    if whole_hours:
        parts.append((whole_hours, "hour"))
    if (minutes and not days) or not parts:
        parts.append((minutes, "minute"))
    chinese_units = _CHINESE_UNITS.get(reply_language(language))
    if chinese_units:
        return "".join(f"{count}{chinese_units[unit]}" for count, unit in parts)
    return " ".join(f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in parts)


# --- subjects ----------------------------------------------------------------------------


@lru_cache(maxsize=64)  # a reply repeats the subject twice: in its Subject and its text
def echoed_subject(original: str) -> str:
    """The customer's subject as our mail repeats it: one line, secrets masked."""
    return single_line(mask_text(original))


def clean_subject(original: str) -> str:
    """The customer's subject without our case tags, reply prefixes or line breaks."""
    subject = _CASE_TAG.sub(" ", single_line(original))
    while True:
        stripped = _REPLY_PREFIX.sub("", subject)
        stripped = _CASE_TAG.sub(" ", stripped).strip()
        if stripped == subject:
            break
        subject = stripped
    return " ".join(subject.split())


def reply_subject(case_id: str, original_subject: str, default_subject: str) -> str:
    """``[WLT-2026-000123] <original subject>``, at most about MAX_SUBJECT_CHARS long."""
    topic = clean_subject(echoed_subject(original_subject)) or single_line(default_subject)
    return truncate(f"[{single_line(case_id)}] {topic}", MAX_SUBJECT_CHARS)

"""Outgoing mail: replies rendered from the templates, then built into RFC 5322 messages.

Pure: no I/O and no clock reads. The date, the Message-ID and every piece of text are
passed in, so the same request always yields the same bytes (the outbox stores them
once and retries send exactly those bytes).

Everything that ends up in a header went through ``_single_line`` (no CR/LF, no other
control characters): text a customer typed, even RFC 2047-encoded CR/LF that a decoder
turned back into real line breaks, can never start a header of its own.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from typing import TYPE_CHECKING, Any

from inbox_agent.domain.clock import to_utc
from inbox_agent.domain.model import CATEGORIES

if TYPE_CHECKING:
    from inbox_agent.mail.render import Labels, TemplateSet

ACK_KINDS: tuple[str, ...] = ("ack_first", "ack_followup", "ack_complete")
MAX_SUBJECT_CHARS = 200
MAX_NAME_CHARS = 80
MAX_REFERENCES = 10  # the newest ones; enough to thread, short enough to stay one header
MAX_STAFF_EXCERPT_CHARS = 4000
SAMPLE_CASE_ID = "WLT-2026-000123"

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_LEADING_TAG = re.compile(r"^(\[[!-Z\\^-~]{1,40}\]) (\S.*)$")  # "[WLT-2026-000123] rest"
_CASE_TAG = re.compile(r"\[\s*WLT-\d{4}-\d+\s*\]", re.IGNORECASE)
# "Re:", "RE[2]:", "回复：", "答复:", "回覆:" (Traditional), repeated in any order.
_REPLY_PREFIX = re.compile(r"^\s*(?:re|回复|答复|回覆|答覆)\s*(?:\[\d+\])?\s*[:：]\s*", re.IGNORECASE)
# Deliberately narrower than RFC 5322: a dot-atom local part and a host name. Quoted
# local parts and address literals are legal but never seen from real customers, and
# accepting them would make header injection checks much harder to reason about.
_ADDR_SPEC = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_CONTROL_IN_BODY = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but tab and newline
_MSG_ID = re.compile(r"^<[!-;=?-~]+@[!-;=?-~]+>$")  # printable ASCII without space, "<", ">"
_ID_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ":"
# Headers build_email_bytes sets itself; extra_headers may not replace them.
_OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-auto-response-suppress",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


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
    language: str  # "zh" | "en"
    category: str
    severity: str
    response_hours: float
    received: tuple[str, ...]  # evidence ids supplied by THIS message (follow-ups)
    missing: tuple[str, ...]
    customer_name: str
    original_subject: str
    hotline: str


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


# --- rendering ---------------------------------------------------------------------------


def render_ack(templates: TemplateSet, req: AckRequest) -> RenderedMail:
    if req.kind not in ACK_KINDS:
        raise ValueError(f"unknown acknowledgement kind {req.kind!r}; expected one of {ACK_KINDS}")
    context = ack_context(templates, req)
    return _render_pair(templates, req.kind, context, req.original_subject)


def render_staff_reply(templates: TemplateSet, req: StaffReplyRequest) -> RenderedMail:
    return _render_pair(templates, "staff_reply", staff_reply_context(templates, req), req.original_subject)


def render_resolution(templates: TemplateSet, req: ResolutionRequest) -> RenderedMail:
    return _render_pair(templates, "resolution", resolution_context(templates, req), req.original_subject)


def render_staff_notification(templates: TemplateSet, req: StaffNotificationRequest) -> RenderedMail:
    context = staff_notification_context(templates, req)
    urgency = " (urgent)" if req.severity == "urgent" else ""
    subject = (
        f"[{_single_line(req.case_id)}] {_single_line(req.level)} escalation{urgency}: "
        f"{context['category_label']}, waiting {context['waited']}"
    )
    return RenderedMail(
        subject=_truncate(subject, MAX_SUBJECT_CHARS),
        text=templates.render("staff_escalation.txt.j2", **context),
        html=templates.render("staff_escalation.html.j2", **context),
    )


def _render_pair(
    templates: TemplateSet, kind: str, context: dict[str, Any], original_subject: str
) -> RenderedMail:
    language = context["language"]
    default_subject = templates.labels(language).phrase("default_subject")
    return RenderedMail(
        subject=reply_subject(context["case_id"], original_subject, default_subject),
        text=templates.render(f"{kind}.{language}.txt.j2", **context),
        html=templates.render(f"{kind}.{language}.html.j2", **context),
    )


# --- template contexts -------------------------------------------------------------------


def ack_context(templates: TemplateSet, req: AckRequest) -> dict[str, Any]:
    language = reply_language(req.language)
    labels = templates.labels(language)
    return {
        **_customer_context(labels, req.case_id, req.customer_name),
        "kind": req.kind,
        "category": req.category,
        "category_label": labels.category(req.category),
        "severity": req.severity,
        "is_security": req.category == "security",
        "response_hours": req.response_hours,
        "response_time": format_duration(req.response_hours, language),
        "received": _evidence_items(labels, req.received),
        "missing": _evidence_items(labels, req.missing),
        "original_subject": _single_line(req.original_subject),
        "hotline": _single_line(req.hotline),
        "change_password_path": labels.phrase("change_password_path"),
        "freeze_path": labels.phrase("freeze_path"),
    }


def staff_reply_context(templates: TemplateSet, req: StaffReplyRequest) -> dict[str, Any]:
    labels = templates.labels(reply_language(req.language))
    return {
        **_customer_context(labels, req.case_id, req.customer_name),
        "staff_name": _truncate(_single_line(req.staff_name), MAX_NAME_CHARS),
        "answer": _normalise_newlines(req.answer).strip(),
        "original_subject": _single_line(req.original_subject),
    }


def resolution_context(templates: TemplateSet, req: ResolutionRequest) -> dict[str, Any]:
    labels = templates.labels(reply_language(req.language))
    return {
        **_customer_context(labels, req.case_id, req.customer_name),
        "category": req.category,
        "category_label": labels.category(req.category),
        "summary": _normalise_newlines(req.summary).strip(),
        "original_subject": _single_line(req.original_subject),
    }


def staff_notification_context(templates: TemplateSet, req: StaffNotificationRequest) -> dict[str, Any]:
    # Staff mail is in English whatever the customer wrote; the customer's language is stated.
    labels = templates.labels("en")
    excerpt = _normalise_newlines(req.last_message_text).strip()
    return {
        "case_id": _single_line(req.case_id),
        "language": "en",
        "service_name": labels.phrase("service_name"),
        "level": _single_line(req.level),
        "category": req.category,
        "category_label": labels.category(req.category),
        "severity": req.severity,
        "status": req.status,
        "waited": format_duration(req.waited_hours, "en"),
        "threshold": format_duration(req.threshold_hours, "en"),
        "customer_address": _single_line(req.customer_address),
        "customer_name": _truncate(_single_line(req.customer_name), MAX_NAME_CHARS),
        "customer_language": "Chinese" if reply_language(req.customer_language) == "zh" else "English",
        "received": _evidence_items(labels, req.received),
        "missing": _evidence_items(labels, req.missing),
        "last_message_subject": _single_line(req.last_message_subject),
        "last_message_text": _truncate(excerpt, MAX_STAFF_EXCERPT_CHARS),
    }


def _customer_context(labels: Labels, case_id: str, customer_name: str) -> dict[str, Any]:
    return {
        "case_id": _single_line(case_id),
        "language": labels.language,
        "customer_name": _truncate(_single_line(customer_name), MAX_NAME_CHARS),
        "service_name": labels.phrase("service_name"),
    }


def _evidence_items(labels: Labels, ids: Sequence[str]) -> list[EvidenceItem]:
    items: list[EvidenceItem] = []
    for evidence_id in dict.fromkeys(ids):  # de-duplicated, order kept
        text = labels.evidence_text(evidence_id)
        items.append(EvidenceItem(id=evidence_id, label=text.label, help=text.help))
    return items


def reply_language(language: str) -> str:
    """Replies exist in zh and en; zh-TW, zh-Hant and friends get the zh templates."""
    return "zh" if language.strip().lower().startswith("zh") else "en"


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
    if reply_language(language) == "zh":
        zh_units = {"day": "天", "hour": "小时", "minute": "分钟"}
        return "".join(f"{count}{zh_units[unit]}" for count, unit in parts)
    return " ".join(f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in parts)


# --- subjects ----------------------------------------------------------------------------


def clean_subject(original: str) -> str:
    """The customer's subject without our case tags, reply prefixes or line breaks."""
    subject = _CASE_TAG.sub(" ", _single_line(original))
    while True:
        stripped = _REPLY_PREFIX.sub("", subject)
        stripped = _CASE_TAG.sub(" ", stripped).strip()
        if stripped == subject:
            break
        subject = stripped
    return " ".join(subject.split())


def reply_subject(case_id: str, original_subject: str, default_subject: str) -> str:
    """``[WLT-2026-000123] <original subject>``, at most about MAX_SUBJECT_CHARS long."""
    topic = clean_subject(original_subject) or _single_line(default_subject)
    return _truncate(f"[{_single_line(case_id)}] {topic}", MAX_SUBJECT_CHARS)


# --- the message -------------------------------------------------------------------------


def make_message_id(domain: str, unique: str) -> str:
    if not _ID_PART.match(unique) or not _ID_PART.match(domain):
        raise ValueError(f"Message-ID parts must be printable ASCII atoms: {unique!r}@{domain!r}")
    return f"<{unique}@{domain}>"


def validated_addr_spec(address: str) -> str:
    """A single plain ``local@domain``; anything else (lists, names, CR/LF) is a ValueError."""
    candidate = address.strip()
    if _CONTROL_CHARS.search(address) or any(ch in candidate for ch in ',;<>"()[]\\ \t'):
        raise ValueError(f"not a single e-mail address: {address!r}")
    if candidate.count("@") != 1:
        raise ValueError(f"not a single e-mail address: {address!r}")
    local, domain = candidate.split("@")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"invalid domain in e-mail address: {address!r}") from exc
    spec = f"{local}@{domain}"
    # parseaddr is the second opinion: it must see exactly one address and no name.
    if not _ADDR_SPEC.match(spec) or parseaddr(spec) != ("", spec):
        raise ValueError(f"not a single e-mail address: {address!r}")
    return spec


def build_email_bytes(
    *,
    from_addr: str,
    from_name: str,
    to_addr: str | Sequence[str],
    subject: str,
    text: str,
    html: str,
    message_id: str,
    in_reply_to: str,
    references: Sequence[str],
    date: datetime,
    loop_header: str,
    loop_token: str,
    extra_headers: Mapping[str, str] | None = None,
) -> bytes:
    """A multipart/alternative reply as 7-bit clean bytes with CRLF line ends.

    Written out directly rather than through ``EmailMessage``: every header value is
    checked or encoded here anyway, and the email package's header registry and
    generator were a third of the cost of processing a complaint (bench/README.md).
    """
    if not _MSG_ID.match(message_id):
        raise ValueError(f"invalid Message-ID {message_id!r}; use make_message_id()")
    loop_name = _header_name(loop_header)
    token = _single_line(loop_token).strip()
    if not token or not token.isascii():
        raise ValueError("the loop token must be non-empty printable ASCII")
    recipients = [to_addr] if isinstance(to_addr, str) else list(to_addr)
    if not recipients:
        raise ValueError("a mail needs at least one recipient")

    headers: list[tuple[str, str]] = [
        ("From", formataddr((_single_line(from_name).strip(), validated_addr_spec(from_addr)), "utf-8")),
        ("To", ", ".join(validated_addr_spec(address) for address in recipients)),
        ("Subject", _encoded_subject(" ".join(_single_line(subject).split()))),
        ("Date", format_datetime(to_utc(date))),
        ("Message-ID", message_id),
    ]
    parent = in_reply_to.strip()
    if _MSG_ID.match(parent):
        headers.append(("In-Reply-To", parent))
    thread = _thread_references(references, parent)
    if thread:
        headers.append(("References", "\n ".join(thread)))
    # RFC 3834: mark the mail as automatic so well-behaved auto-responders stay quiet;
    # X-Auto-Response-Suppress does the same for Exchange/Outlook out-of-office.
    headers += [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"), (loop_name, token)]
    for name, value in (extra_headers or {}).items():
        checked = _header_name(name)
        if checked.lower() in _OWN_HEADERS or checked.lower() == loop_name.lower():
            raise ValueError(f"extra header {name!r} would replace a header build_email_bytes sets itself")
        headers.append((checked, _encoded_value(_single_line(value).strip(), checked)))

    parts = [_text_part("plain", _normalise_newlines(text)), _text_part("html", _normalise_newlines(html))]
    boundary = _boundary(message_id, parts)
    headers += [("MIME-Version", "1.0"), ("Content-Type", f'multipart/alternative; boundary="{boundary}"')]
    # Folded header values come with "\n " continuation lines; the wire wants CRLF.
    lines = [f"{name}: {value}".replace("\r\n", "\n").replace("\n", "\r\n") for name, value in headers]
    lines.append("")
    for part in parts:
        lines += [f"--{boundary}", part]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


def _encoded_value(value: str, name: str) -> str:
    if value.isascii():
        return value
    return Header(value, "utf-8", header_name=name, maxlinelen=78).encode(linesep="\n")


def _text_part(subtype: str, text: str) -> str:
    """One body part: plain 7bit when the text is short-lined ASCII, else base64 UTF-8."""
    lines = text.split("\n")
    if text.isascii() and all(len(line) <= 78 for line in lines) and not _CONTROL_IN_BODY.search(text):
        encoding, body = "7bit", "\r\n".join(lines)
    else:
        data = base64.b64encode("\r\n".join(lines).encode("utf-8")).decode("ascii")
        encoding, body = "base64", "\r\n".join(data[i : i + 76] for i in range(0, len(data), 76))
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{body}"
    )


def _boundary(message_id: str, parts: Sequence[str]) -> str:
    """Derived from the content (the same request gives the same bytes) and absent from it."""
    seed = hashlib.sha256("".join((message_id, *parts)).encode("utf-8")).hexdigest()
    boundary = f"=_{seed[:32]}"
    while any(boundary in part for part in parts):
        boundary += "_"
    return boundary


def _encoded_subject(subject: str) -> str:
    """The Subject value, folded and RFC 2047-encoded where needed.

    Written by hand because the policy's folder, for a plain ASCII subject longer than
    one line, breaks right after "Subject:" and parsers then keep a leading space. A
    leading "[WLT-…]" tag stays readable ASCII, so people and mail filters see the
    case id even in the raw mail.
    """
    if subject.isascii() and "=?" not in subject:
        plain = Header(subject, "us-ascii", header_name="Subject", maxlinelen=78).encode(linesep="\n")
        if all(len(line) <= 78 for line in plain.splitlines()):
            return plain
    header = Header(header_name="Subject", maxlinelen=78)
    tag = _LEADING_TAG.match(subject)
    if tag:
        header.append(tag.group(1), "us-ascii")
        header.append(tag.group(2), "utf-8")
    else:
        header.append(subject, "utf-8")
    return header.encode(linesep="\n")


def _thread_references(references: Sequence[str], parent: str) -> list[str]:
    """Valid ids only, de-duplicated, the parent last (RFC 5322 3.6.4), newest kept."""
    ids = [ref.strip() for ref in references if _MSG_ID.match(ref.strip())]
    if _MSG_ID.match(parent):
        ids.append(parent)
    unique = list(dict.fromkeys(reversed(ids)))[:MAX_REFERENCES]
    return list(reversed(unique))


def _header_name(name: str) -> str:
    if not _HEADER_NAME.match(name):
        raise ValueError(f"invalid header name {name!r}")
    return name


# --- text helpers ------------------------------------------------------------------------


def _single_line(value: str) -> str:
    """Control characters (CR, LF, TAB, NUL, Unicode line separators) become one space."""
    return _CONTROL_CHARS.sub(" ", value)


def _normalise_newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


# --- samples for TemplateSet.check_all ---------------------------------------------------
# They live here, next to the context builders, so a new template variable and its
# sample value are added in the same place.


def sample_ack_requests(language: str) -> list[AckRequest]:
    """Every kind x every category, plus a security case and a case with nothing missing."""

    def request(kind: str, category: str, missing: tuple[str, ...], received: tuple[str, ...]) -> AckRequest:
        return AckRequest(
            case_id=SAMPLE_CASE_ID,
            kind=kind,
            language=language,
            category=category,
            severity="urgent" if category == "security" else "normal",
            response_hours=1.0 if category == "security" else 24.0,
            received=received,
            missing=missing,
            customer_name="王小明" if language == "zh" else "Alex Morgan",
            original_subject="付款失败" if language == "zh" else "Payment failed",
            hotline="400-000-0000",
        )

    requests = [
        request(kind, category, ("transaction_id", "screenshot"), ("amount",))
        for kind in ACK_KINDS
        for category in CATEGORIES
    ]
    requests += [request(kind, "transaction_failed", (), ()) for kind in ACK_KINDS]
    requests += [request(kind, "security", (), ("transaction_date",)) for kind in ACK_KINDS]
    return requests


def sample_staff_reply_request(language: str) -> StaffReplyRequest:
    return StaffReplyRequest(
        case_id=SAMPLE_CASE_ID,
        language=language,
        customer_name="王小明" if language == "zh" else "Alex Morgan",
        staff_name="Chen Jing",
        answer="The refund of 128.00 was issued today.\nIt reaches your balance within 1 business day.",
        original_subject="Payment failed",
    )


def sample_resolution_request(language: str) -> ResolutionRequest:
    return ResolutionRequest(
        case_id=SAMPLE_CASE_ID,
        language=language,
        category="wrong_charge",
        customer_name="王小明" if language == "zh" else "Alex Morgan",
        summary="The duplicate charge was refunded.",
        original_subject="Charged twice",
    )


def sample_staff_notification_requests() -> list[StaffNotificationRequest]:
    def request(
        level: str, category: str, severity: str, missing: tuple[str, ...]
    ) -> StaffNotificationRequest:
        return StaffNotificationRequest(
            case_id=SAMPLE_CASE_ID,
            level=level,
            category=category,
            severity=severity,
            status="escalated",
            waited_hours=26.5,
            threshold_hours=24.0,
            customer_address="alex@example.com",
            customer_name="Alex Morgan",
            customer_language="zh",
            received=("amount", "transaction_date"),
            missing=missing,
            last_message_subject="Payment failed",
            last_message_text="My card ****1234 was charged twice.\nPlease refund.",
        )

    return [
        request("L1", "wrong_charge", "normal", ("transaction_id",)),
        request("L2", "security", "urgent", ()),
    ]


def sample_context(templates: TemplateSet, template_name: str) -> dict[str, Any]:
    """A context that renders ``template_name`` on its own (partials and layouts included)."""
    language = "zh" if ".zh." in template_name else "en"
    family = template_name.lstrip("_").split(".")[0]
    if family == "staff_escalation":
        return staff_notification_context(templates, sample_staff_notification_requests()[1])
    if family == "staff_reply":
        return staff_reply_context(templates, sample_staff_reply_request(language))
    if family == "resolution":
        return resolution_context(templates, sample_resolution_request(language))
    if family in {"report", "_report"}:
        from inbox_agent.views import page as report  # the staff page: sample cases of every kind

        return report.sample_context(templates)
    # Acknowledgements, their partials and the layout: a security case exercises every branch.
    kind = family if family in ACK_KINDS else "ack_first"
    security = next(r for r in sample_ack_requests(language) if r.kind == kind and r.category == "security")
    return ack_context(templates, security)

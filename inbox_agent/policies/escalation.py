"""The escalation sweep: cases and an instant in, decisions out. No I/O here.

Everything is recomputed from what the case stores (``awaiting_since``,
``escalation_level``, ``created_at``, the evidence), never from how long the daemon
has been running: a sweep after an outage catches up, a sweep at a replayed instant
(``escalate --now``) shows what would have happened, and a level recorded on the
case is never fired again, however often the sweep runs or the daemon restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from inbox_agent.config.loader import Config, EscalationLevel
from inbox_agent.domain.clock import iso, parse_iso, to_utc
from inbox_agent.domain.jurisdiction import DEADLINE_ERRORS, received_at
from inbox_agent.domain.lifecycle import with_event as _with_event
from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import LOOP_HEADER, Case, CaseStatus, Event, MessageRecord, OutgoingMail
from inbox_agent.mail.compose import (
    RenderedMail,
    StaffNotificationRequest,
    build_email_bytes,
    make_message_id,
    render_staff_notification,
)
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.notified import notified_detail, unguessable
from inbox_agent.policies.regulatory import deadline_notices
from inbox_agent.policies.sla import add_sla_time, business_hours_for, describe_business_hours

OUTSIDE_WINDOW_FLAG = "outside_complaint_window"
NOTIFICATION_KIND = "staff_notify"


@dataclass(frozen=True)
class LevelDeadline:
    level: EscalationLevel
    due: datetime  # UTC
    sla_seconds: float  # the level's threshold on the case's SLA clock


@dataclass(frozen=True)
class Fired:
    """One level that fired for one case in this sweep."""

    case_id: str
    category: str
    severity: str
    level: str
    due: datetime
    waited_seconds: float  # wall-clock time since the clock started
    threshold_seconds: float
    recipients: tuple[str, ...]
    outbox_id: str  # "" when the level has no recipients (recorded, nobody mailed)


@dataclass(frozen=True)
class CaseDecision:
    case: Case  # the case as it must be stored
    fired: tuple[Fired, ...]
    mails: tuple[OutgoingMail, ...]
    flagged: bool  # the complaint-window flag was set in this sweep


# --- deadlines ---------------------------------------------------------------------------


def clock_is_running(case: Case) -> bool:
    """The clock runs from a customer's message until staff respond or the case is resolved."""
    return bool(case.awaiting_since) and case.status != CaseStatus.RESOLVED


def level_deadlines(case: Case, config: Config) -> list[LevelDeadline]:
    """When each configured level is due for this case (empty when the clock is stopped).

    A later level is never due at or before an earlier one, whatever the configuration
    says: one whose own point comes too early is due one response-time limit after the
    level before it (so "+8h" then "300%" on a 1 h security case gives L2 at 9 h and L3
    at 10 h, never both in one sweep).
    """
    if not clock_is_running(case):
        return []
    sla = config.sla
    threshold = sla.response_seconds(case.category, case.severity)
    hours = business_hours_for(sla, case.category)
    start = parse_iso(case.awaiting_since)
    deadlines: list[LevelDeadline] = []
    previous = -1.0
    for level in config.escalation.levels:
        seconds = level.after_seconds(threshold)
        if seconds <= previous:
            seconds = previous + threshold
        deadlines.append(LevelDeadline(level, add_sla_time(start, seconds, hours), seconds))
        previous = seconds
    return deadlines


def due_levels(case: Case, config: Config, now: datetime) -> list[LevelDeadline]:
    """Levels due at ``now`` (due <= now, to the second) that the case has not had yet."""
    if not config.escalation.enabled:
        return []
    now = to_utc(now)
    return [
        deadline
        for deadline in level_deadlines(case, config)
        if deadline.level.number > case.escalation_level and deadline.due <= now
    ]


def outside_complaint_window(case: Case, config: Config) -> bool:
    """The incident (evidence ``transaction_date``) is older than the complaint window
    was when the complaint was received; counted in whole local days of the service."""
    value = case.evidence_map.get("transaction_date", "")
    if not value or not case.created_at:
        return False
    try:
        incident = date.fromisoformat(value[:10])
    except ValueError:
        return False
    opened = received_at(case).astimezone(ZoneInfo(config.sla.timezone)).date()
    return (opened - incident) > timedelta(seconds=config.sla.complaint_window)


def needs_attention(case: Case, config: Config, now: datetime) -> bool:
    """Cheap test: does sweeping this case change anything? (Saves reading its messages.)"""
    if case.status == CaseStatus.RESOLVED:
        return False
    if OUTSIDE_WINDOW_FLAG not in case.flags and outside_complaint_window(case, config):
        return True
    return bool(due_levels(case, config, now))


def triage(cases: Sequence[Case], config: Config, now: datetime) -> tuple[list[Case], dict[str, str]]:
    """The cases a sweep changes at ``now``, and by case id why a case's escalation
    deadlines cannot be computed (its SLA calendar does not know the year; a limit longer
    than the business-hours scan): that case misses only its own levels, never the others'."""
    changing: list[Case] = []
    unknown: dict[str, str] = {}
    for case in (case for case in cases if case.status != CaseStatus.RESOLVED):
        try:
            due = bool(due_levels(case, config, now))
        except DEADLINE_ERRORS as exc:
            due, unknown[case.case_id] = False, f"escalation deadlines unknown: {exc}"
        if due or (OUTSIDE_WINDOW_FLAG not in case.flags and outside_complaint_window(case, config)):
            changing.append(case)
    return changing, unknown


# --- the sweep ---------------------------------------------------------------------------


# Skip codes of mail a machine wrote (stages/guard.py): never "the customer's last message".
MACHINE_SKIPS = frozenset({"auto_reply", "bounce", "loop", "list", "own_mail", "no_reply", "no_sender"})


def last_customer_message(case: Case, messages: Sequence[MessageRecord]) -> MessageRecord | None:
    """The newest mail the customer wrote on the case (staff mail, our replies and
    auto-replies such as an out-of-office from the customer's address excluded)."""
    theirs = [
        m
        for m in messages
        if m.direction == "in" and m.sender == case.customer and m.skip not in MACHINE_SKIPS
    ]
    return max(theirs, key=lambda m: m.received_at) if theirs else None


def sweep_case(
    case: Case,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    last_message: MessageRecord | None,
    salt: str = "",
) -> CaseDecision | None:
    """What the sweep does to one case at ``now``; None when nothing changes. ``salt``
    makes the notifications' Message-IDs unguessable (policies/notified.py)."""
    now = to_utc(now)
    at = iso(now)
    if case.status == CaseStatus.RESOLVED:
        return None
    flagged = OUTSIDE_WINDOW_FLAG not in case.flags and outside_complaint_window(case, config)
    if flagged:
        window_days = config.sla.complaint_window / 86400
        detail = (
            f"incident on {case.evidence_map.get('transaction_date')} is older than the "
            f"{window_days:g}-day complaint window"
        )
        case = _with_event(
            case,
            Event(at=at, kind="flagged", actor="system", detail=f"{OUTSIDE_WINDOW_FLAG}: {detail}"),
            flags=(*case.flags, OUTSIDE_WINDOW_FLAG),
        )
    fired: list[Fired] = []
    mails: list[OutgoingMail] = []
    try:
        due = due_levels(case, config, now)
    except DEADLINE_ERRORS:
        due = []  # reported by triage(); the complaint-window flag above still applies
    for deadline in due:
        case, one, mail = _fire(case, deadline, config, templates, now, last_message, salt)
        fired.append(one)
        if mail is not None:
            mails.append(mail)
    if not flagged and not fired:
        return None
    return CaseDecision(case=case, fired=tuple(fired), mails=tuple(mails), flagged=flagged)


def sweep(
    cases: Sequence[Case],
    config: Config,
    templates: TemplateSet,
    now: datetime,
    last_messages: dict[str, MessageRecord | None],
    salt: str = "",
) -> list[CaseDecision]:
    """Every case that changes at ``now``, the most urgent first (security, then oldest)."""
    decisions = [
        decision
        for case in cases
        if (decision := sweep_case(case, config, templates, now, last_messages.get(case.case_id), salt))
    ]
    return sorted(decisions, key=lambda d: (d.case.category != "security", d.case.awaiting_since))


def _fire(
    case: Case,
    deadline: LevelDeadline,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    last_message: MessageRecord | None,
    salt: str,
) -> tuple[Case, Fired, OutgoingMail | None]:
    level = deadline.level
    waited = (now - parse_iso(case.awaiting_since)).total_seconds()
    outbox_id = notification_id(case, level) if level.recipients else ""
    escalated = replace(case, status=CaseStatus.ESCALATED, escalation_level=level.number)
    # The notification's Message-ID stays out of case.message_ids: those end up in the
    # References of replies to the customer, who need not learn about escalations. A
    # staff answer to it finds the case by the [case id] in its subject.
    mail = (
        notification_mail(escalated, deadline, config, templates, now, last_message, salt)
        if level.recipients
        else None
    )
    # The recipients and the Message-ID are recorded: a reply to this very mail proves
    # its sender is one of them (policies/notified.py).
    notified = (
        notified_detail(level.recipients, mail.message_id)
        if mail is not None
        else "notified nobody (no recipients configured)"
    )
    detail = (
        f"{level.name}: waiting {_hours(waited)} since {case.awaiting_since}, "
        f"due {iso(deadline.due)}; {notified}"
    )
    escalated = _with_event(escalated, Event(at=iso(now), kind="escalated", actor="system", detail=detail))
    fired = Fired(
        case_id=case.case_id,
        category=case.category,
        severity=case.severity,
        level=level.name,
        due=deadline.due,
        waited_seconds=waited,
        threshold_seconds=deadline.sla_seconds,
        recipients=level.recipients,
        outbox_id=outbox_id,
    )
    return escalated, fired, mail


# --- the notification --------------------------------------------------------------------


def notification_id(case: Case, level: EscalationLevel) -> str:
    """Derived from the case, the start of this wait and the level: re-running a sweep
    yields the same id (never a second mail); a new wait after a staff answer a new one."""
    started = parse_iso(case.awaiting_since).strftime("%Y%m%dT%H%M%SZ")
    return f"{case.case_id}.escalation.{level.name}.{started}"


def notification_mail(
    case: Case,
    deadline: LevelDeadline,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    last_message: MessageRecord | None,
    salt: str = "",
    *,
    unique: str = "",
    first_notice: str = "",
) -> OutgoingMail:
    """``unique`` (default: the level's id) and ``first_notice`` let an escalation ahead of
    a regulatory deadline (policies/regulatory_sweep.py) use the same mail."""
    level = deadline.level
    request = _notification_request(case, config, now, last_message, level.name)
    found = ((first_notice,) if first_notice else ()) + notices(case, config, now)
    rendered = _with_notices(render_staff_notification(templates, request), found)
    unique = unique or notification_id(case, level)
    message_id = make_message_id(config.message_id_domain, unguessable(unique, salt))
    raw = build_email_bytes(
        from_addr=config.mailbox.address,
        from_name=config.acknowledge.from_name,
        to_addr=level.recipients,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=message_id,
        in_reply_to="",
        references=(),
        date=now,
        loop_header=LOOP_HEADER,
        loop_token=config.loop_token,
        # Staff answer by replying: the reply must come back to the complaint mailbox,
        # where the [case id] in the subject files it as a staff response on the case.
        extra_headers={"Reply-To": config.mailbox.address},
    )
    return OutgoingMail(
        outbox_id=unique,
        case_id=case.case_id,
        kind=NOTIFICATION_KIND,
        message_id=message_id,
        sender=config.mailbox.address,
        recipients=level.recipients,
        raw=raw,
    )


def _notification_request(
    case: Case, config: Config, now: datetime, last_message: MessageRecord | None, level: str
) -> StaffNotificationRequest:
    """The template's fields; customer text masked (staff mail leaves the wallet's systems).
    The limit is the case's response-time limit, the same at every level (a level's own
    point on the clock is not a limit)."""
    return StaffNotificationRequest(
        case_id=case.case_id,
        level=level,
        category=case.category,
        severity=case.severity,
        status=str(case.status),
        waited_hours=(now - parse_iso(case.awaiting_since)).total_seconds() / 3600,
        threshold_hours=config.sla.response_seconds(case.category, case.severity) / 3600,
        # As on the page: "13812345678@163.com" or a phone number as the name is a phone number.
        customer_address=mask_text(case.customer),
        customer_name=mask_text(case.customer_name),
        customer_language=case.language,
        received=tuple(key for key, value in case.evidence if value),
        missing=case.missing,
        last_message_subject=mask_text(last_message.subject if last_message else case.subject),
        last_message_text=mask_text(last_message.text if last_message else ""),
    )


def notices(case: Case, config: Config, now: datetime | None = None) -> tuple[str, ...]:
    """What staff must know beyond the template's fields."""
    found: list[str] = list(deadline_notices(case, config, now or parse_iso(case.created_at)))
    if OUTSIDE_WINDOW_FLAG in case.flags:
        window_days = config.sla.complaint_window / 86400
        found.append(
            f"Outside the complaint window: the incident date "
            f"{case.evidence_map.get('transaction_date', '?')} is more than {window_days:g} days "
            f"before the complaint was opened ({case.created_at[:10]})."
        )
    hours = business_hours_for(config.sla, case.category)
    if hours is not None:
        found.append(f"The limit counts business hours only: {describe_business_hours(hours)}.")
    return tuple(found)


def _with_notices(rendered: RenderedMail, found: tuple[str, ...]) -> RenderedMail:
    """Put the notices at the top of both parts (and the window flag in the subject)."""
    if not found:
        return rendered
    text = "".join(f"NOTE: {notice}\n" for notice in found) + "\n" + rendered.text
    paragraphs = "".join(
        f'<p style="margin:0 0 12px; padding:8px 12px; background-color:#fef3c7;">{escape(notice)}</p>'
        for notice in found
    )
    html = rendered.html
    body = html.find("<body")
    content = html.find(">", html.find("<div", body)) if body >= 0 else -1
    if content >= 0:
        html = html[: content + 1] + "\n" + paragraphs + html[content + 1 :]
    subject = rendered.subject
    if any(notice.startswith("Outside the complaint window") for notice in found):
        subject = f"{subject} [outside complaint window]"
    return RenderedMail(subject=subject, text=text, html=html)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}h"

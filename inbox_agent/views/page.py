"""The staff page: `inbox-agent report --html FILE`.

Staff open one self-contained HTML file on a laptop and see what needs them first:
escalated and overdue cases, then cases waiting for staff, then cases waiting for
the customer, then the rest; resolved cases only as a count unless asked for.

The core is pure: cases + their messages + "now" -> ``ReportPage`` (plain frozen
records, every customer string already masked) -> HTML through the autoescaped
``report.html.j2``. Only ``write_report`` and ``cmd_report`` touch the store and
the file system.

Why the page is built this way: customers paste HTML, scripts and card numbers into
complaints, and the page is opened in a browser. So every customer string goes
through ``mask_text`` here and through Jinja's autoescaping in the template, the
page carries a Content-Security-Policy that forbids scripts and every remote load,
and it needs no JavaScript at all (timelines fold with ``<details>``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord

if TYPE_CHECKING:
    from inbox_agent.adapters.tinydb_store import Store
    from inbox_agent.config.loader import Config
    from inbox_agent.mail.render import Labels, TemplateSet

TEMPLATE_NAME = "report.html.j2"
STAFF_LANGUAGE = "en"  # the staff side (notifications, CLI, this page) is in English

# A long complaint stays readable on the page; the whole text is one `show` away.
MESSAGE_TEXT_LIMIT = 4000
EXCERPT_LIMIT = 280

SEVERITY_RANK: Mapping[str, int] = {"urgent": 0, "high": 1, "normal": 2}

STATUS_WORDS: Mapping[str, str] = {
    CaseStatus.OPEN: "open",
    CaseStatus.WAITING_CUSTOMER: "waiting for customer",
    CaseStatus.WAITING_STAFF: "waiting for staff",
    CaseStatus.ESCALATED: "escalated",
    CaseStatus.RESOLVED: "resolved",
}

EVENT_WORDS: Mapping[str, str] = {
    "opened": "Case opened",
    "customer_message": "Customer wrote again",
    "message_skipped": "Mail filed without acknowledgement",
    "ack_queued": "Acknowledgement queued",
    "mail_sent": "Mail sent",
    "mail_failed": "Mail could not be sent",
    "note": "Internal note",
    "assigned": "Assigned",
    "staff_reply": "Staff replied",
    "resolved": "Resolved",
    "reopened": "Reopened",
    "escalated": "Escalated",
    "staff_notified": "Staff notified",
    "staff_command_refused": "Staff command refused",
}

FLAG_WORDS: Mapping[str, str] = {
    "outside_complaint_window": "incident older than the complaint window",
}


# ---------------------------------------------------------------- the page model


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


@dataclass(frozen=True)
class CaseView:
    """What staff see of one case; every customer string is masked already."""

    case_id: str
    group: str  # the section: "attention" | "waiting_staff" | "waiting_customer" | "open" | "resolved"
    status: str
    status_label: str
    escalation: str  # "L2"; "" when not escalated
    category: str
    category_label: str
    severity: str
    customer: str
    customer_name: str
    language: str
    subject: str
    assignee: str
    flags: tuple[str, ...]
    missing: tuple[str, ...]  # evidence labels still missing
    received: tuple[tuple[str, str], ...]  # (evidence label, masked value)
    overdue: bool
    clock: str  # "waiting 5 h 20 min (limit 1 d)" / "" when the response clock is stopped
    deadline: str  # "overdue by 2 h" / "due in 3 h" / ""
    opened: str
    updated: str
    excerpt: str  # the start of the customer's latest mail
    timeline: tuple[TimelineItem, ...]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    hint: str  # one line on why these cases are here
    cases: tuple[CaseView, ...]


@dataclass(frozen=True)
class ReportPage:
    title: str
    generated_at: str
    timezone: str
    sections: tuple[Section, ...]
    counts: tuple[tuple[str, str, int], ...]  # (key, words, number) for the summary bar
    resolved_hidden: int  # resolved cases left off the page

    @property
    def shown(self) -> int:
        return sum(len(section.cases) for section in self.sections)

    @property
    def case_ids(self) -> tuple[str, ...]:
        """The cases in page order (what a reader meets from top to bottom)."""
        return tuple(view.case_id for section in self.sections for view in section.cases)


SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "attention",
        "Escalated and overdue",
        "Past their response time or escalated: answer these first.",
    ),
    ("waiting_staff", "Waiting for staff", "Evidence complete; the customer waits for an answer."),
    (
        "waiting_customer",
        "Waiting for the customer",
        "We asked for missing evidence; the response clock still runs until staff answer.",
    ),
    ("open", "Open", "Filed, not yet acknowledged or classified further."),
    ("resolved", "Resolved", "Closed cases, most recent first."),
)


# ---------------------------------------------------------------- pure core


@dataclass(frozen=True)
class ResponseClock:
    """A case's response clock at the moment of the report."""

    waited: float | None  # seconds of SLA time since the unanswered message; None = stopped
    limit: float  # the case's response-time limit, in seconds of SLA time
    business_hours: bool = False  # the clock only runs in business hours

    @property
    def overdue_by(self) -> float:
        return 0.0 if self.waited is None else self.waited - self.limit

    @property
    def overdue(self) -> bool:
        return self.waited is not None and self.waited > self.limit


ClockOf = Callable[[Case], ResponseClock]


def wall_clock(now: datetime, response_seconds: Callable[[str], float]) -> ClockOf:
    """A 24/7 clock: the limit comes from the category alone. Tests and samples use it;
    ``sla_clock`` is the configured one (severity limits, business hours)."""

    def clock_of(case: Case) -> ResponseClock:
        limit = response_seconds(case.category)
        since = _parse(case.awaiting_since) if _clock_runs(case) else None
        if since is None:
            return ResponseClock(waited=None, limit=limit)
        return ResponseClock(waited=max(0.0, (now - since).total_seconds()), limit=limit)

    return clock_of


def _clock_runs(case: Case) -> bool:
    # The clock runs from a customer's message until staff respond or the case is resolved.
    return bool(case.awaiting_since) and case.status != CaseStatus.RESOLVED


def case_group(case: Case, clock: ResponseClock) -> str:
    if case.status == CaseStatus.RESOLVED:
        return "resolved"
    if case.status == CaseStatus.ESCALATED or case.escalation_level > 0 or clock.overdue:
        return "attention"
    if case.status == CaseStatus.WAITING_STAFF:
        return "waiting_staff"
    if case.status == CaseStatus.WAITING_CUSTOMER:
        return "waiting_customer"
    return "open"


def _priority(case: Case, clock: ResponseClock, group: str) -> tuple[Any, ...]:
    """Sort key inside a section: the case staff should open first sorts first."""
    severity = SEVERITY_RANK.get(case.severity, len(SEVERITY_RANK))
    if group == "attention":
        # Highest escalation level first; security (urgent) goes to the front of its tier.
        escalated = 0 if case.status == CaseStatus.ESCALATED or case.escalation_level else 1
        return (-case.escalation_level, escalated, severity, -clock.overdue_by, case.seq)
    if group == "resolved":
        return (_negated_time(case.updated_at), case.seq)
    # Nearest deadline first: limit - waited grows more negative as a case ages.
    remaining = clock.limit - clock.waited if clock.waited is not None else float("inf")
    return (severity, remaining, case.seq)


def _negated_time(text: str) -> float:
    moment = _parse(text)
    return -moment.timestamp() if moment else 0.0


def build_page(
    cases: Iterable[Case],
    messages: Mapping[str, Sequence[MessageRecord]],
    *,
    now: datetime,
    clock_of: ClockOf,
    labels: Labels,
    tz: tzinfo = UTC,
    include_resolved: bool = False,
    title: str = "Complaint cases",
    resolved_not_read: int = 0,
) -> ReportPage:
    """The page model: cases grouped and ordered, customer text masked.

    ``messages`` maps a case id to its stored mails (a case without an entry shows
    its events only); ``clock_of`` measures a case's response clock at ``now``
    (``wall_clock`` or ``sla_clock``). ``resolved_not_read``: resolved cases the
    caller left out of ``cases`` but wants counted.
    """
    grouped: dict[str, list[tuple[tuple[Any, ...], CaseView]]] = {key: [] for key, _, _ in SECTIONS}
    resolved_hidden = resolved_not_read  # resolved cases the caller counted but did not pass
    for case in cases:
        clock = clock_of(case)
        group = case_group(case, clock)
        if group == "resolved" and not include_resolved:
            resolved_hidden += 1
            continue
        view = case_view(case, messages.get(case.case_id, ()), clock, group, labels, tz)
        grouped[group].append((_priority(case, clock, group), view))
    sections = tuple(
        Section(
            key=key,
            title=section_title,
            hint=hint,
            cases=tuple(view for _, view in sorted(grouped[key], key=lambda item: item[0])),
        )
        for key, section_title, hint in SECTIONS
        if key == "attention" or grouped[key]
    )
    every_view = [view for section in sections for view in section.cases]
    counts = (
        ("escalated", "escalated", sum(1 for view in every_view if view.escalation)),
        ("overdue", "overdue", sum(1 for view in every_view if view.overdue)),
        ("waiting_staff", "waiting for staff", len(grouped["waiting_staff"])),
        ("waiting_customer", "waiting for customer", len(grouped["waiting_customer"])),
        ("open", "open", len(grouped["open"])),
        ("resolved", "resolved", resolved_hidden + len(grouped["resolved"])),
    )
    return ReportPage(
        title=title,
        generated_at=_local(iso(now), tz),
        timezone=str(tz),
        sections=sections,
        counts=counts,
        resolved_hidden=resolved_hidden,
    )


def case_view(
    case: Case,
    messages: Sequence[MessageRecord],
    clock: ResponseClock,
    group: str,
    labels: Labels,
    tz: tzinfo,
) -> CaseView:
    status = str(case.status)
    escalated = case.escalation_level > 0 or case.status == CaseStatus.ESCALATED
    return CaseView(
        case_id=case.case_id,
        group=group,
        status=status,
        status_label=STATUS_WORDS.get(status, status.replace("_", " ")),
        escalation=f"L{max(case.escalation_level, 1)}" if escalated else "",
        category=case.category,
        category_label=labels.category(case.category),
        severity=case.severity,
        customer=mask_text(case.customer),
        customer_name=mask_text(case.customer_name),
        language=case.language,
        subject=mask_text(case.subject) or "(no subject)",
        assignee=case.assignee,
        flags=tuple(FLAG_WORDS.get(flag, flag.replace("_", " ")) for flag in case.flags),
        missing=tuple(labels.evidence_text(evidence_id).label for evidence_id in case.missing),
        received=tuple(
            (labels.evidence_text(evidence_id).label, mask_text(value))
            for evidence_id, value in case.evidence
        ),
        overdue=clock.overdue,
        clock=_clock_words(clock),
        deadline=_deadline_words(clock),
        opened=_local(case.created_at, tz),
        updated=_local(case.updated_at, tz),
        excerpt=_excerpt(messages),
        timeline=timeline(case.events, messages, tz),
    )


def timeline(
    events: Sequence[Event], messages: Sequence[MessageRecord], tz: tzinfo
) -> tuple[TimelineItem, ...]:
    """Mails and events of a case in time order (a mail before the events it caused)."""
    items = [(message.received_at or message.date, 0, _message_item(message, tz)) for message in messages]
    items += [(event.at, 1, _event_item(event, tz)) for event in events]
    items.sort(key=lambda item: (_sortable(item[0]), item[1]))
    return tuple(item for _, _, item in items)


def _message_item(message: MessageRecord, tz: tzinfo) -> TimelineItem:
    incoming = message.direction == "in"
    at = message.received_at or message.date
    return TimelineItem(
        sort_key=at,
        at=_local(at, tz),
        kind="in" if incoming else "out",
        label="Mail received" if incoming else "Mail sent",
        who=mask_text(message.sender),
        subject=mask_text(message.subject),
        text=_capped(mask_text(message.text)),
        attachments=tuple(
            f"{mask_text(name)} ({content_type}, {_size_words(size)})"
            for name, _stored, content_type, size in message.attachments
        ),
        note=f"not acknowledged: {message.skip}" if message.skip else "",
    )


def _event_item(event: Event, tz: tzinfo) -> TimelineItem:
    return TimelineItem(
        sort_key=event.at,
        at=_local(event.at, tz),
        kind="event",
        label=EVENT_WORDS.get(event.kind, event.kind.replace("_", " ").capitalize()),
        who=mask_text(event.actor),
        text=_capped(mask_text(event.detail)),
    )


def _excerpt(messages: Sequence[MessageRecord]) -> str:
    incoming = [message for message in messages if message.direction == "in" and message.text.strip()]
    if not incoming:
        return ""
    text = " ".join(mask_text(incoming[-1].text).split())
    return text if len(text) <= EXCERPT_LIMIT else text[: EXCERPT_LIMIT - 1].rstrip() + "…"


def _capped(text: str) -> str:
    if len(text) <= MESSAGE_TEXT_LIMIT:
        return text
    rest = len(text) - MESSAGE_TEXT_LIMIT
    return f"{text[:MESSAGE_TEXT_LIMIT]}\n… ({rest} more characters: see `inbox-agent show`)"


def _clock_words(clock: ResponseClock) -> str:
    if clock.waited is None:
        return ""
    words = f"waiting {describe_duration(clock.waited)} (limit {describe_duration(clock.limit)})"
    return f"{words}, business hours" if clock.business_hours else words


def _deadline_words(clock: ResponseClock) -> str:
    if clock.waited is None:
        return ""
    if clock.overdue:
        return f"overdue by {describe_duration(clock.overdue_by)}"
    return f"due in {describe_duration(clock.limit - clock.waited)}"


def describe_duration(seconds: float) -> str:
    """Coarse on purpose: staff need "2 d 3 h", not seconds."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def _size_words(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _parse(text: str) -> datetime | None:
    try:
        return parse_iso(text)
    except (ValueError, TypeError):
        return None


def _sortable(text: str) -> float:
    moment = _parse(text)
    return moment.timestamp() if moment else 0.0


def _local(text: str, tz: tzinfo) -> str:
    """ISO UTC -> "2026-11-20 18:05" in the service's time zone; unparseable text as is."""
    moment = _parse(text)
    if moment is None:
        return text
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def service_timezone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


# ---------------------------------------------------------------- rendering


def render_page(templates: TemplateSet, page: ReportPage) -> str:
    return templates.render(TEMPLATE_NAME, page=page)


def sample_context(templates: TemplateSet) -> dict[str, Any]:
    """The context ``check``/the template tests render ``report.html.j2`` with."""
    from inbox_agent.mail.compose import SAMPLE_CASE_ID

    now = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    cases = sample_cases(now, first_case_id=SAMPLE_CASE_ID)
    messages = {cases[0].case_id: sample_messages(cases[0])}
    page = build_page(
        cases,
        messages,
        now=now,
        clock_of=wall_clock(now, lambda category: 3600.0 if category == "security" else 86400.0),
        labels=templates.labels(STAFF_LANGUAGE),
        include_resolved=True,
    )
    return {"page": page}


def sample_cases(now: datetime, *, first_case_id: str = "WLT-2026-000123") -> list[Case]:
    """A small, varied set: an escalated security case, one waiting for staff, one resolved."""
    year = first_case_id.split("-")[1]
    first_seq = int(first_case_id.rsplit("-", 1)[1])
    opened = iso(now - timedelta(hours=3))
    yesterday = iso(now - timedelta(hours=20))
    security = Case(
        case_id=first_case_id,
        seq=first_seq,
        customer="sarah.thompson@example.net",
        customer_name="Sarah Thompson",
        subject="Someone paid with my wallet",
        language="en",
        category="security",
        categories=("security", "wrong_charge"),
        confidence=0.92,
        matched=(("security", "unauthorized"),),
        severity="urgent",
        status=CaseStatus.ESCALATED,
        created_at=opened,
        updated_at=iso(now - timedelta(hours=1)),
        evidence=(("amount", "USD 249.00"), ("transaction_date", "2026-11-21")),
        missing=("transaction_id", "screenshot"),
        awaiting_since=opened,
        assignee="chen.jing",
        escalation_level=2,
        events=(
            Event(at=opened, kind="opened", actor="sarah.thompson@example.net", detail="category security"),
            Event(at=opened, kind="ack_queued", actor="system", detail="ack_first"),
            Event(at=iso(now - timedelta(hours=1)), kind="escalated", actor="system", detail="L2"),
        ),
    )
    waiting = Case(
        case_id=f"WLT-{year}-{first_seq + 1:06d}",
        seq=first_seq + 1,
        customer="li.wei@example.cn",
        customer_name="李伟",
        subject="提现三天未到账",
        language="zh",
        category="funds_not_received",
        categories=("funds_not_received",),
        confidence=0.81,
        matched=(("funds_not_received", "未到账"),),
        severity="normal",
        status=CaseStatus.WAITING_STAFF,
        created_at=yesterday,
        updated_at=yesterday,
        evidence=(("amount", "CNY 1,200.00"), ("transaction_id", "TX20261118000042")),
        awaiting_since=yesterday,
        flags=("outside_complaint_window",),
        events=(Event(at=yesterday, kind="opened", actor="li.wei@example.cn"),),
    )
    resolved = Case(
        case_id=f"WLT-{year}-{first_seq + 2:06d}",
        seq=first_seq + 2,
        customer="amir.k@example.org",
        customer_name="Amir K.",
        subject="Charged twice for one order",
        language="en",
        category="wrong_charge",
        categories=("wrong_charge",),
        confidence=0.88,
        matched=(("wrong_charge", "charged twice"),),
        severity="normal",
        status=CaseStatus.RESOLVED,
        created_at=iso(now - timedelta(days=3)),
        updated_at=iso(now - timedelta(days=1)),
        events=(Event(at=iso(now - timedelta(days=1)), kind="resolved", actor="staff@wallet.example"),),
    )
    return [security, waiting, resolved]


def sample_messages(case: Case) -> list[MessageRecord]:
    return [
        MessageRecord(
            key=f"<sample@example.net>|{'0' * 64}",
            case_id=case.case_id,
            direction="in",
            message_id="<sample@example.net>",
            raw_sha256="0" * 64,
            sender=case.customer,
            subject=case.subject,
            date=case.created_at,
            received_at=case.created_at,
            source="sample",
            text="There is a payment of USD 249.00 today that I never made. "
            "My card 4111 1111 1111 1111 is linked to the wallet. <b>Please block it.</b>",
            attachments=(("statement.png", "a1b2c3.png", "image/png", 48213),),
        )
    ]


# ---------------------------------------------------------------- edges: store, file, CLI


def sla_clock(config: Config, now: datetime) -> ClockOf:
    """The clock the escalation sweep uses (inbox_agent.policies.sla): the shorter of the
    category's and the severity's limit, counted in business hours where configured,
    so the page and the escalation mails never disagree about "overdue"."""
    from inbox_agent.policies.sla import business_hours_for, sla_elapsed

    settings = config.sla

    def clock_of(case: Case) -> ResponseClock:
        limit = settings.response_seconds(case.category, case.severity)
        hours = business_hours_for(settings, case.category)
        since = _parse(case.awaiting_since) if _clock_runs(case) else None
        if since is None:
            return ResponseClock(waited=None, limit=limit, business_hours=hours is not None)
        return ResponseClock(
            waited=sla_elapsed(since, now, hours), limit=limit, business_hours=hours is not None
        )

    return clock_of


def write_report(
    store: Store,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    path: Path,
    *,
    include_resolved: bool = False,
) -> int:
    """Render the page and replace ``path`` atomically (0600); return the cases shown.

    Safe to call from the daemon every few minutes: a reader never sees a torn page.
    """
    from inbox_agent.adapters.tinydb_store import atomic_write

    # Resolved cases are only counted unless asked for: the index knows how many, and
    # the page costs what the open cases cost, however many years of cases are stored.
    cases = list(store.iter_cases(None if include_resolved else store.index.active_cases))
    shown = [case for case in cases if include_resolved or case.status != CaseStatus.RESOLVED]
    messages = {case.case_id: store.case_messages(case.case_id) for case in shown}
    page = build_page(
        cases,
        messages,
        resolved_not_read=0 if include_resolved else len(store.index.resolved_cases),
        now=now,
        clock_of=sla_clock(config, now),
        labels=templates.labels(STAFF_LANGUAGE),
        tz=service_timezone(config.sla.timezone),
        include_resolved=include_resolved,
    )
    atomic_write(Path(path), render_page(templates, page).encode("utf-8"))
    return page.shown


def add_report_parser(sub: Any) -> None:
    """Register `report` on the CLI's subparsers (``sub`` from ``add_subparsers``)."""
    report = sub.add_parser("report", help="escalated and overdue cases as an HTML page for staff")
    report.add_argument("--html", required=True, metavar="FILE", help="write the page here (mode 0600)")
    report.add_argument(
        "--include-resolved", action="store_true", help="list resolved cases too (default: only a count)"
    )
    report.add_argument("--now", metavar="ISO-8601", help="judge overdue cases at this moment (replay)")


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    from inbox_agent.domain.clock import SystemClock
    from inbox_agent.entrypoints.daemon import open_store
    from inbox_agent.mail.render import TemplateError, TemplateSet

    try:
        now = parse_iso(args.now) if args.now else SystemClock().now()
    except ValueError:
        sys.stderr.write(f"--now: not an ISO-8601 time: {args.now!r}\n")
        return 2
    try:
        templates = TemplateSet(config.templates_dir)
        shown = write_report(
            open_store(config),
            config,
            templates,
            now,
            Path(args.html),
            include_resolved=args.include_resolved,
        )
    except TemplateError as exc:
        sys.stderr.write(f"template error: {exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"cannot write {args.html}: {exc.strerror or exc}\n")
        return 1
    sys.stdout.write(f"{args.html}: {shown} cases\n")
    return 0

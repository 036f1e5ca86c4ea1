"""The staff page: `inbox-agent report --html FILE`.

Staff open one self-contained HTML file on a laptop and see what needs them first:
escalated and overdue cases, then cases waiting for staff, then cases waiting for
the customer, then the rest; resolved cases only as a count unless asked for.

The core is pure: cases + their messages + "now" -> ``ReportPage`` (plain frozen
records, every customer string already masked) -> HTML through the autoescaped
``report.html.j2``. Reading the store is ``services.page``; writing the file is the entry point's.

Why the page is built this way: customers paste HTML, scripts and card numbers into
complaints, and the page is opened in a browser. So every customer string goes
through ``mask_text`` here and through Jinja's autoescaping in the template, the
page carries a Content-Security-Policy that forbids scripts and every remote load,
and it needs no JavaScript at all (timelines fold with ``<details>``).

Its parts: ``clock`` (a case's response clock), ``timeline`` (its mails and events),
``words`` (times and durations in words) and ``page_samples`` (the sample cases
``check`` renders the page with); their public names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import SEVERITY_ORDER, severity_rank
from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import Case, CaseStatus, MessageRecord
from inbox_agent.mail.samples import SAMPLE_CASE_ID
from inbox_agent.views.clock import (
    ClockOf,
    ResponseClock,
    clock_words,
    deadline_words,
    sla_clock,
    wall_clock,
)
from inbox_agent.views.explanation import explanation_lines
from inbox_agent.views.page_samples import sample_cases, sample_messages
from inbox_agent.views.timeline import (
    EVENT_WORDS,
    EXCERPT_LIMIT,
    MESSAGE_TEXT_LIMIT,
    TimelineItem,
    excerpt,
    timeline,
)
from inbox_agent.views.words import describe_duration, local_time, parse_time

if TYPE_CHECKING:
    from inbox_agent.mail.labels import Labels
    from inbox_agent.mail.render import TemplateSet

__all__ = [
    "EVENT_WORDS",
    "EXCERPT_LIMIT",
    "FLAG_WORDS",
    "MESSAGE_TEXT_LIMIT",
    "SECTIONS",
    "STAFF_LANGUAGE",
    "STATUS_WORDS",
    "TEMPLATE_NAME",
    "TEMPLATE_SAMPLES",
    "CaseView",
    "ClockOf",
    "ReportPage",
    "ResponseClock",
    "Section",
    "TimelineItem",
    "build_page",
    "case_group",
    "case_view",
    "describe_duration",
    "render_page",
    "sample_cases",
    "sample_context",
    "sample_messages",
    "service_timezone",
    "sla_clock",
    "timeline",
    "wall_clock",
]

TEMPLATE_NAME = "report.html.j2"
STAFF_LANGUAGE = "en"  # the staff side (notifications, CLI, this page) is in English

STATUS_WORDS: Mapping[str, str] = {
    CaseStatus.OPEN: "open",
    CaseStatus.WAITING_CUSTOMER: "waiting for customer",
    CaseStatus.WAITING_STAFF: "waiting for staff",
    CaseStatus.ESCALATED: "escalated",
    CaseStatus.RESOLVED: "resolved",
}

FLAG_WORDS: Mapping[str, str] = {
    "outside_complaint_window": "incident older than the complaint window",
    "encrypted": "a mail arrived encrypted: its text could not be read",
}


# ---------------------------------------------------------------- the page model


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
    regulatory: tuple[str, ...] = ()  # complaint window and regulatory deadlines (views/deadlines.py)
    # Why the category: confidence, triage, deciding n-grams, curated terms (views/explanation.py).
    why: tuple[str, ...] = ()


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
        "We asked for evidence or answered; a case shows \u201cwaiting\u201d only while its response clock runs.",
    ),
    ("open", "Open", "Filed, not yet acknowledged or classified further."),
    ("resolved", "Resolved", "Closed cases, most recent first."),
)

# Section key -> (sort key, view) of each case in it, in the order the cases came.
Grouped = dict[str, list[tuple[tuple[Any, ...], CaseView]]]


# ---------------------------------------------------------------- pure core


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
    severity = _severity_order(case.severity)
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
    moment = parse_time(text)
    return -moment.timestamp() if moment else 0.0


def _severity_order(severity: str) -> int:
    """The most severe first (``lifecycle.SEVERITY_ORDER`` reversed); unknown ones last."""
    if severity not in SEVERITY_ORDER:
        return len(SEVERITY_ORDER)
    return len(SEVERITY_ORDER) - 1 - severity_rank(severity)


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
    grouped, left_off = _grouped_views(cases, messages, clock_of, labels, tz, include_resolved)
    resolved_hidden = resolved_not_read + left_off
    sections = _sections(grouped)
    return ReportPage(
        title=title,
        generated_at=local_time(iso(now), tz),
        timezone=str(tz),
        sections=sections,
        counts=_counts(sections, grouped, resolved_hidden),
        resolved_hidden=resolved_hidden,
    )


def _grouped_views(
    cases: Iterable[Case],
    messages: Mapping[str, Sequence[MessageRecord]],
    clock_of: ClockOf,
    labels: Labels,
    tz: tzinfo,
    include_resolved: bool,
) -> tuple[Grouped, int]:
    """Each case's view in its section, and how many resolved cases were left off."""
    grouped: Grouped = {key: [] for key, _, _ in SECTIONS}
    left_off = 0
    for case in cases:
        clock = clock_of(case)
        group = case_group(case, clock)
        if group == "resolved" and not include_resolved:
            left_off += 1
            continue
        view = case_view(case, messages.get(case.case_id, ()), clock, group, labels, tz)
        grouped[group].append((_priority(case, clock, group), view))
    return grouped, left_off


def _sections(grouped: Grouped) -> tuple[Section, ...]:
    """The sections in page order, each sorted; "attention" is shown even when empty."""
    return tuple(
        Section(
            key=key,
            title=section_title,
            hint=hint,
            cases=tuple(view for _, view in sorted(grouped[key], key=lambda item: item[0])),
        )
        for key, section_title, hint in SECTIONS
        if key == "attention" or grouped[key]
    )


def _counts(
    sections: Sequence[Section], grouped: Grouped, resolved_hidden: int
) -> tuple[tuple[str, str, int], ...]:
    """The summary bar: (key, words, number)."""
    every_view = [view for section in sections for view in section.cases]
    return (
        ("escalated", "escalated", sum(1 for view in every_view if view.escalation)),
        ("overdue", "overdue", sum(1 for view in every_view if view.overdue)),
        ("waiting_staff", "waiting for staff", len(grouped["waiting_staff"])),
        ("waiting_customer", "waiting for customer", len(grouped["waiting_customer"])),
        ("open", "open", len(grouped["open"])),
        ("resolved", "resolved", resolved_hidden + len(grouped["resolved"])),
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
        clock=clock_words(clock),
        deadline=deadline_words(clock),
        opened=local_time(case.created_at, tz),
        updated=local_time(case.updated_at, tz),
        excerpt=excerpt(messages),
        timeline=timeline(case.events, messages, tz),
        regulatory=clock.regulatory,
        why=tuple(explanation_lines(case)),
    )


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


# What ``TemplateSet.check_all(extra_samples=...)`` and the template tests need to render
# the page's template family ("report": report.html.j2 and any _report.* partial).
TEMPLATE_SAMPLES: Mapping[str, Callable[[TemplateSet], dict[str, Any]]] = {"report": sample_context}

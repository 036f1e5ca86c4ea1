"""The web app's queue (pure): cases -> filtered, searched, sorted, paged rows.

The order is the staff page's (``views.page``): escalated and overdue first, then
waiting for staff, waiting for the customer, open, resolved; inside a group the case
staff should open first. Every customer string in a row is masked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from inbox_agent.domain.lifecycle import SEVERITY_ORDER, severity_rank
from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import Case, CaseStatus
from inbox_agent.views.clock import ClockOf, ResponseClock, clock_words, deadline_words
from inbox_agent.views.page import STATUS_WORDS, case_group
from inbox_agent.views.words import describe_duration, local_time, parse_time

GROUPS: tuple[tuple[str, str], ...] = (
    ("attention", "Escalated and overdue"),
    ("waiting_staff", "Waiting for staff"),
    ("waiting_customer", "Waiting for the customer"),
    ("open", "Open"),
    ("resolved", "Resolved"),
)
SORTS = ("priority", "deadline", "newest", "oldest", "updated")
NEEDS_TRIAGE = "needs_triage"

# The regulatory deadline of a case: a function case -> (sortable deadline, words), or
# None when no deadline of its jurisdiction is open (``views.deadlines.queue_deadline``
# at the queue's minute; the default, for callers without a configuration, has none).
RegulatoryDeadline = Callable[[Case], "tuple[float, str] | None"]


def no_regulatory_deadline(case: Case) -> tuple[float, str] | None:
    return None


@dataclass(frozen=True)
class QueueQuery:
    group: str = ""  # one of GROUPS' keys, "" = all
    category: str = ""
    level: str = ""  # "1".."3": that escalation level or above
    severity: str = ""
    assignee: str = ""  # a name, "unassigned", or "" = anyone
    language: str = ""
    older_than_days: int = 0
    needs_triage: bool = False
    regulatory_deadline: bool = False  # only cases with a regulatory deadline
    search: str = ""
    sort: str = "priority"
    page: int = 1


@dataclass(frozen=True)
class QueueRow:
    case_id: str
    group: str
    status_label: str
    escalation: str  # "L2" or ""
    category: str
    category_label: str
    needs_triage: bool
    severity: str
    customer: str
    subject: str
    assignee: str
    language: str
    age: str
    clock: str
    deadline: str
    overdue: bool
    regulatory_deadline: str
    updated: str


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    total: int  # cases matching the query
    page: int
    pages: int
    counts: tuple[tuple[str, str, int], ...]  # (group, words, cases) over the whole store
    query: QueueQuery = field(default_factory=QueueQuery)


@dataclass(frozen=True)
class _Candidate:
    case: Case
    clock: ResponseClock
    group: str
    deadline: tuple[float, str] | None
    text: str  # lower-cased searchable text
    priority: tuple[Any, ...]


@dataclass(frozen=True)
class RankedCases:
    """Every case with its clock, group and priority at one instant, in priority order:
    computed once per store generation and minute, then filtered per request."""

    candidates: tuple[_Candidate, ...]
    counts: tuple[tuple[str, str, int], ...]
    now: datetime


def candidates(
    cases: Sequence[tuple[Case, str]],
    *,
    clock_of: ClockOf,
    regulatory_deadline: RegulatoryDeadline = no_regulatory_deadline,
) -> list[_Candidate]:
    """Each case with its clock, group and priority (``cases``: (case, searchable text))."""
    return [_candidate(case, text, clock_of, regulatory_deadline) for case, text in cases]


def ranked(groups: Sequence[Sequence[_Candidate]], now: datetime) -> RankedCases:
    """Candidates computed in parts (one per store shard) in one priority order."""
    every = sorted((c for group in groups for c in group), key=lambda c: c.priority)
    counts = tuple((key, words, sum(1 for c in every if c.group == key)) for key, words in GROUPS)
    return RankedCases(tuple(every), counts, now)


def rank_cases(
    cases: Sequence[tuple[Case, str]],
    *,
    now: datetime,
    clock_of: ClockOf,
    regulatory_deadline: RegulatoryDeadline = no_regulatory_deadline,
) -> RankedCases:
    """``cases``: (case, lower-cased searchable text) pairs."""
    return ranked([candidates(cases, clock_of=clock_of, regulatory_deadline=regulatory_deadline)], now)


def queue_page(
    ranked: RankedCases,
    query: QueueQuery,
    *,
    category_label: Callable[[str], str],
    tz: tzinfo,
    page_size: int,
) -> QueuePage:
    now = ranked.now
    tests = _filters(query, now)
    chosen = [c for c in ranked.candidates if all(test(c) for test in tests)]
    if query.sort != "priority":
        chosen.sort(key=_sort_key(query.sort))
    pages = max(1, -(-len(chosen) // page_size))
    page = min(max(1, query.page), pages)
    shown = chosen[(page - 1) * page_size : page * page_size]
    rows = tuple(_row(c, now, category_label, tz) for c in shown)
    return QueuePage(rows=rows, total=len(chosen), page=page, pages=pages, counts=ranked.counts, query=query)


def build_queue(
    cases: Sequence[tuple[Case, str]],
    query: QueueQuery,
    *,
    now: datetime,
    clock_of: ClockOf,
    category_label: Callable[[str], str],
    tz: tzinfo,
    page_size: int,
    regulatory_deadline: RegulatoryDeadline = no_regulatory_deadline,
) -> QueuePage:
    """Rank and page in one call (tests; the web app keeps the ranking between requests)."""
    ranked = rank_cases(cases, now=now, clock_of=clock_of, regulatory_deadline=regulatory_deadline)
    return queue_page(ranked, query, category_label=category_label, tz=tz, page_size=page_size)


def _candidate(
    case: Case, text: str, clock_of: ClockOf, regulatory_deadline: RegulatoryDeadline
) -> _Candidate:
    clock = clock_of(case)
    group = case_group(case, clock)
    return _Candidate(case, clock, group, regulatory_deadline(case), text, _priority(case, clock, group))


def _filters(query: QueueQuery, now: datetime) -> list[Callable[[_Candidate], bool]]:
    """One test per filter in use (the queue page with no filter runs none)."""
    tests: list[Callable[[_Candidate], bool]] = []
    if query.group:
        tests.append(lambda c: c.group == query.group)
    if query.category:
        tests.append(lambda c: c.case.category == query.category)
    if query.level:
        tests.append(lambda c: c.case.escalation_level >= int(query.level))
    if query.severity:
        tests.append(lambda c: c.case.severity == query.severity)
    if query.assignee == "unassigned":
        tests.append(lambda c: not c.case.assignee)
    elif query.assignee:
        tests.append(lambda c: c.case.assignee == query.assignee)
    if query.language:
        tests.append(lambda c: c.case.language == query.language)
    if query.older_than_days:
        tests.append(lambda c: _age_seconds(c.case, now) >= query.older_than_days * 86400)
    if query.needs_triage:
        tests.append(lambda c: NEEDS_TRIAGE in c.case.flags)
    if query.regulatory_deadline:
        tests.append(lambda c: c.deadline is not None)
    # Every word of the search appears somewhere (case id, customer, subject, mail text,
    # evidence such as a transaction id).
    words = query.search.lower().split()
    if words:
        tests.append(lambda c: all(word in c.text for word in words))
    return tests


def _age_seconds(case: Case, now: datetime) -> float:
    created = parse_time(case.created_at)
    return (now - created).total_seconds() if created else 0.0


_GROUP_RANK = {key: rank for rank, (key, _) in enumerate(GROUPS)}


def _priority(case: Case, clock: ResponseClock, group: str) -> tuple[Any, ...]:
    severity = len(SEVERITY_ORDER) - 1 - severity_rank(case.severity)
    remaining = clock.limit - clock.waited if clock.waited is not None else float("inf")
    if group == "attention":
        escalated = 0 if case.status == CaseStatus.ESCALATED or case.escalation_level else 1
        return (0, -case.escalation_level, escalated, severity, -clock.overdue_by, case.seq)
    if group == "resolved":
        return (_GROUP_RANK["resolved"], -_timestamp(case.updated_at), case.seq)
    return (_GROUP_RANK[group], severity, remaining, case.seq)


def _timestamp(text: str) -> float:
    moment = parse_time(text)
    return moment.timestamp() if moment else 0.0


def _sort_key(sort: str) -> Callable[[_Candidate], Any]:
    if sort == "newest":
        return lambda c: (-c.case.seq,)
    if sort == "oldest":
        return lambda c: (c.case.seq,)
    if sort == "updated":
        return lambda c: (-_timestamp(c.case.updated_at), c.case.seq)
    if sort == "deadline":  # the nearest regulatory deadline first; cases without one last
        return lambda c: (c.deadline is None, c.deadline[0] if c.deadline else 0.0, c.priority)
    return lambda c: c.priority


def _row(c: _Candidate, now: datetime, category_label: Callable[[str], str], tz: tzinfo) -> QueueRow:
    case, clock = c.case, c.clock
    escalated = case.escalation_level > 0 or case.status == CaseStatus.ESCALATED
    status = str(case.status)
    return QueueRow(
        case_id=case.case_id,
        group=c.group,
        status_label=STATUS_WORDS.get(status, status.replace("_", " ")),
        escalation=f"L{max(case.escalation_level, 1)}" if escalated else "",
        category=case.category,
        category_label=category_label(case.category),
        needs_triage=NEEDS_TRIAGE in case.flags,
        severity=case.severity,
        customer=mask_text(case.customer),
        subject=mask_text(case.subject) or "(no subject)",
        assignee=case.assignee,
        language=case.language,
        age=describe_duration(_age_seconds(case, now)),
        clock=clock_words(clock),
        deadline=deadline_words(clock),
        overdue=clock.overdue,
        regulatory_deadline=c.deadline[1] if c.deadline else "",
        updated=local_time(case.updated_at, tz),
    )

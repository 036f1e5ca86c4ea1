"""Regulatory clocks: what a jurisdiction requires, and whether a case met it.

Pure. A jurisdiction has four clocks, each counted from the receipt of the complaint in
calendar days or in business days of the jurisdiction's own calendar:

- ``acknowledgement``: the customer is told the complaint arrived;
- ``substantive``: the answer (or, where the rules allow it, a holding reply saying why
  it takes longer and by when the final answer comes);
- ``holding``: when the holding reply goes out if the case is still open, before
  ``substantive`` runs out;
- ``final``: the final response (the resolution mail).

The presets and their sources are in docs/REGULATORY.md; config may override any clock
or define a jurisdiction of its own. Met or missed is read from the case's events, so
it can be shown and exported for any case at any time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from inbox_agent.domain.calendar import (
    CalendarNotCovered,
    NoWorkingTime,
    WorkCalendar,
    add_business_days,
    add_calendar_days,
)
from inbox_agent.domain.clock import parse_iso, to_utc
from inbox_agent.domain.languages import TRADITIONAL_CHINESE, is_chinese
from inbox_agent.domain.model import Case

CLOCKS: tuple[str, ...] = ("acknowledgement", "substantive", "holding", "final")
UNITS: tuple[str, ...] = ("calendar", "business")
_RULE = re.compile(r"^\s*(\d{1,4})\s+(calendar|business)\s+days?\s*$", re.IGNORECASE)

HOLDING_EVENT = "holding_reply"  # the event the sweep records when it queues the holding reply
DEADLINE_EVENT = "deadline_escalated"  # the event of an escalation ahead of a regulatory deadline
ACK_KINDS = ("ack_first", "ack_followup", "ack_complete")
# Every kind of mail that goes to the customer (``mail_sent`` names it first): any of them
# tells the customer the complaint arrived, so any of them acknowledges it.
CUSTOMER_MAIL_KINDS = (*ACK_KINDS, "staff_reply", "resolution", HOLDING_EVENT)
# Events of a mail to the customer queued or sent on the case.
ANSWER_EVENTS = ("ack_queued", "staff_reply", "resolved", HOLDING_EVENT)
# Why one deadline may not be computable; the other clocks of the case still are.
DEADLINE_ERRORS = (CalendarNotCovered, NoWorkingTime)


@dataclass(frozen=True)
class ClockRule:
    days: int
    unit: str  # "calendar" | "business"

    def __str__(self) -> str:
        return f"{self.days} {self.unit} day{'' if self.days == 1 else 's'}"


def parse_clock_rule(text: str) -> ClockRule:
    """ "15 calendar days", "2 business days"; ValueError otherwise."""
    match = _RULE.match(text)
    if not match:
        raise ValueError(f'expected "N calendar days" or "N business days", got {text!r}')
    return ClockRule(int(match.group(1)), match.group(2).lower())


@dataclass(frozen=True)
class NextStep:
    """Where a customer who is not satisfied can go; every word comes from config."""

    kind: str  # "internal" | "platform" | "regulator" | "police" | "legal" | "other"
    name_en: str
    name_zh: str
    contact: str  # an address, a hotline, a web page
    name_zh_hant: str = ""  # for Traditional Chinese mail; without it, name_zh

    def name(self, language: str) -> str:
        if not is_chinese(language):
            return self.name_en or self.name_zh or self.name_zh_hant
        # A Chinese reader reads a name in the other script better than an English one.
        traditional = language == TRADITIONAL_CHINESE and self.name_zh_hant
        return traditional or self.name_zh or self.name_zh_hant or self.name_en


@dataclass(frozen=True)
class Jurisdiction:
    key: str  # "PSD2"
    title: str
    source: str  # the primary source, cited
    calendar: str  # the name of its WorkCalendar
    clocks: Mapping[str, ClockRule]
    next_steps: tuple[NextStep, ...] = ()
    extension: ClockRule | None = None  # a further extension allowed only with approval (CN)

    def deadline(self, clock: str, calendar: WorkCalendar, received: datetime) -> datetime | None:
        rule = self.clocks.get(clock)
        if rule is None:
            return None
        if rule.unit == "calendar":
            return add_calendar_days(calendar, received, rule.days)
        return add_business_days(calendar, received, rule.days)


@dataclass(frozen=True)
class ClockState:
    clock: str
    rule: ClockRule
    deadline: datetime
    done_at: datetime | None  # when the step that satisfies it happened
    state: str  # "met" | "missed" | "open" | "overdue" | "not needed"


def received_at(case: Case) -> datetime:
    """The complaint's receipt: when its first mail reached the mailbox, not when the
    daemon filed it (after an outage or a backlog that is later, and every deadline
    counted from it would be later than the regulation allows)."""
    opened = parse_iso(case.created_at)
    return min(parse_iso(case.received_at), opened) if case.received_at else opened


def step_times(case: Case) -> dict[str, datetime]:
    """When each clock's step first happened, from the case's events."""
    found: dict[str, datetime] = {}

    def first(clock: str, at: str) -> None:
        if clock not in found:
            found[clock] = parse_iso(at)

    for event in case.events:
        kind, detail = event.kind, event.detail
        if kind in ANSWER_EVENTS or (kind == "mail_sent" and detail.split(" ", 1)[0] in CUSTOMER_MAIL_KINDS):
            # A staff answer, the resolution or the holding reply tells the customer the
            # complaint arrived as surely as the automatic acknowledgement does.
            first("acknowledgement", event.at)
        if kind in ("staff_reply", "resolved"):
            first("substantive", event.at)
            if kind == "resolved":
                first("final", event.at)
        elif kind == HOLDING_EVENT:
            first("holding", event.at)
            first("substantive", event.at)  # a holding reply is the answer the rules allow in time
    return found


def clock_states(
    case: Case, jurisdiction: Jurisdiction, calendar: WorkCalendar, now: datetime
) -> tuple[list[ClockState], dict[str, str]]:
    """Every clock of the case at ``now`` whose deadline can be computed, and for each one
    that cannot (a business-day deadline in a year the calendar does not know) the
    reason: one unknown deadline never hides the others."""
    now, received, done = to_utc(now), received_at(case), step_times(case)
    found: dict[str, datetime] = {}
    unknown: dict[str, str] = {}
    for clock in CLOCKS:
        try:
            deadline = jurisdiction.deadline(clock, calendar, received)
        except DEADLINE_ERRORS as exc:
            unknown[clock] = str(exc)
            continue
        if deadline is not None:
            found[clock] = deadline
    if "holding" in found and "substantive" in unknown:
        # The holding reply is judged against the substantive deadline it stands in for.
        del found["holding"]
        unknown["holding"] = unknown["substantive"]
    states = [
        ClockState(
            clock, jurisdiction.clocks[clock], found[clock], done.get(clock), _state(clock, found, done, now)
        )
        for clock in CLOCKS
        if clock in found
    ]
    return states, unknown


def _state(clock: str, found: Mapping[str, datetime], done: Mapping[str, datetime], now: datetime) -> str:
    # The holding reply goes out at the holding point; it is in time as long as it
    # reaches the customer before the substantive deadline it stands in for.
    deadline = found.get("substantive", found[clock]) if clock == "holding" else found[clock]
    at = done.get(clock)
    if at is not None:
        return "met" if at <= deadline else "missed"
    if clock == "holding" and _holding_not_needed(found, done):
        return "not needed"
    if now <= deadline:
        return "open"
    # Past the deadline without the step: still overdue while the case is open, missed
    # for good once the final answer went out.
    return "missed" if "final" in done else "overdue"


def _holding_not_needed(found: Mapping[str, datetime], done: Mapping[str, datetime]) -> bool:
    """No holding reply was sent, and none was needed: the final answer came before the
    holding point, or the substantive answer (a staff reply, the resolution) came in time."""
    final, answered = done.get("final"), done.get("substantive")
    if final is not None and final <= found["holding"]:
        return True
    substantive = found.get("substantive")
    return answered is not None and substantive is not None and answered <= substantive


def days_between(start: datetime, end: datetime) -> float:
    return round((to_utc(end) - to_utc(start)).total_seconds() / 86400, 2)

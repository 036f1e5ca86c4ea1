"""A case's response clock as the page shows it: how long the customer has waited.

``sla_clock`` is the configured clock, the one the escalation sweep uses;
``wall_clock`` is a plain 24/7 clock for tests and samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from inbox_agent.domain.model import Case, CaseStatus
from inbox_agent.policies.sla import business_hours_for, sla_elapsed
from inbox_agent.views.deadlines import deadline_lines
from inbox_agent.views.words import describe_duration, parse_time

if TYPE_CHECKING:
    from inbox_agent.config.loader import Config


@dataclass(frozen=True)
class ResponseClock:
    """A case's response clock at the moment of the report."""

    waited: float | None  # seconds of SLA time since the unanswered message; None = stopped
    limit: float  # the case's response-time limit, in seconds of SLA time
    business_hours: bool = False  # the clock only runs in business hours
    regulatory: tuple[str, ...] = ()  # complaint window and regulatory deadlines, one line each

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
        since = parse_time(case.awaiting_since) if _clock_runs(case) else None
        if since is None:
            return ResponseClock(waited=None, limit=limit)
        return ResponseClock(waited=max(0.0, (now - since).total_seconds()), limit=limit)

    return clock_of


def sla_clock(config: Config, now: datetime) -> ClockOf:
    """The clock the escalation sweep uses (inbox_agent.policies.sla): the shorter of the
    category's and the severity's limit, counted in business hours where configured,
    so the page and the escalation mails never disagree about "overdue"."""
    settings = config.sla

    def clock_of(case: Case) -> ResponseClock:
        limit = settings.response_seconds(case.category, case.severity)
        hours = business_hours_for(settings, case.category)
        since = parse_time(case.awaiting_since) if _clock_runs(case) else None
        regulatory = tuple(deadline_lines(case, config, now))
        waited = None if since is None else sla_elapsed(since, now, hours)
        return ResponseClock(
            waited=waited, limit=limit, business_hours=hours is not None, regulatory=regulatory
        )

    return clock_of


def _clock_runs(case: Case) -> bool:
    # The clock runs from a customer's message until staff respond or the case is resolved.
    return bool(case.awaiting_since) and case.status != CaseStatus.RESOLVED


def clock_words(clock: ResponseClock) -> str:
    if clock.waited is None:
        return ""
    words = f"waiting {describe_duration(clock.waited)} (limit {describe_duration(clock.limit)})"
    return f"{words}, business hours" if clock.business_hours else words


def deadline_words(clock: ResponseClock) -> str:
    if clock.waited is None:
        return ""
    if clock.overdue:
        return f"overdue by {describe_duration(clock.overdue_by)}"
    return f"due in {describe_duration(clock.limit - clock.waited)}"

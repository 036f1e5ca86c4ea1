"""Regulatory clocks on a case (pure): which jurisdiction, its deadlines and their state,
when the holding reply is due, when a deadline escalates ahead of the internal ladder,
and the complaint-window notice.

Deadlines are derived from the case (``created_at``, ``jurisdiction``) and the config,
so ``show``, ``cases``, the page, the notifications and ``export`` agree; the opening
event records them as computed at the time. A calendar that does not cover a
deadline's year is never guessed around: that clock is in ``CaseClocks.unknown`` with
its reason, ``CaseClocks.error`` says it in one line, and the sweep logs it on every
run; the other clocks of the case are computed and acted on as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from inbox_agent.config.loader import Config
from inbox_agent.domain.calendar import WorkCalendar
from inbox_agent.domain.clock import iso, parse_iso, to_utc
from inbox_agent.domain.jurisdiction import (
    HOLDING_EVENT,
    ClockState,
    Jurisdiction,
    NextStep,
    clock_states,
)
from inbox_agent.domain.model import Case, CaseStatus


@dataclass(frozen=True)
class CaseClocks:
    jurisdiction: Jurisdiction | None
    calendar: WorkCalendar | None
    states: tuple[ClockState, ...] = ()  # the clocks whose deadline is known
    error: str = ""  # why some deadlines cannot be computed, one line ("" = all are)
    unknown: tuple[tuple[str, str], ...] = ()  # (clock, why its deadline is unknown)

    def state(self, clock: str) -> ClockState | None:
        return next((s for s in self.states if s.clock == clock), None)

    @property
    def next_open(self) -> ClockState | None:
        """The earliest deadline still open or overdue."""
        pending = [s for s in self.states if s.state in ("open", "overdue")]
        return min(pending, key=lambda s: s.deadline) if pending else None


def assigned_jurisdiction(config: Config, sender: str, recipients: tuple[str, ...], language: str) -> str:
    return config.regulatory.jurisdiction_for(sender, recipients, language)


def case_clocks(case: Case, config: Config, now: datetime) -> CaseClocks:
    found = config.regulatory.lookup(case.jurisdiction) if case.jurisdiction else None
    if found is None:
        return CaseClocks(None, None)
    jurisdiction, calendar = found
    states, unknown = clock_states(case, jurisdiction, calendar, now)
    return CaseClocks(jurisdiction, calendar, tuple(states), _unknown_line(unknown), tuple(unknown.items()))


def _unknown_line(unknown: dict[str, str]) -> str:
    """ "holding, final: calendar 'cn' does not cover 2027 ...": the clocks per reason."""
    by_reason: dict[str, list[str]] = {}
    for clock, reason in unknown.items():
        by_reason.setdefault(reason, []).append(clock)
    return "; ".join(f"{', '.join(clocks)}: {reason}" for reason, clocks in by_reason.items())


def opening_detail(case: Case, config: Config) -> str:
    """The jurisdiction and its deadlines as computed when the case opened (for the record)."""
    clocks = case_clocks(case, config, parse_iso(case.created_at))
    if clocks.jurisdiction is None:
        return f"{case.jurisdiction}: unknown jurisdiction"
    if clocks.error and not clocks.states:
        return f"{case.jurisdiction}: deadlines unknown: {clocks.error}"
    parts = [f"{s.clock} {iso(s.deadline)} ({s.rule})" for s in clocks.states]
    unknown = [f"unknown: {clocks.error}"] if clocks.error else []
    return f"{case.jurisdiction}: " + "; ".join(parts + unknown)


def deadline_notices(case: Case, config: Config, now: datetime) -> tuple[str, ...]:
    """The regulatory deadlines as lines for staff notifications."""
    clocks = case_clocks(case, config, now)
    if clocks.jurisdiction is None:
        return ()
    if clocks.error and not clocks.states:
        return (f"Regulatory deadlines ({case.jurisdiction}) UNKNOWN: {clocks.error}",)
    parts = [f"{s.clock} {local_time(s.deadline, clocks)} ({s.state})" for s in clocks.states]
    unknown = [f"UNKNOWN {clocks.error}"] if clocks.error else []
    return (f"Regulatory deadlines ({case.jurisdiction}): " + "; ".join(parts + unknown) + ".",)


def local_time(moment: datetime, clocks: CaseClocks) -> str:
    """ "2026-10-15 18:00 Asia/Shanghai": a deadline as the jurisdiction's calendar reads it."""
    zone = clocks.calendar.zone if clocks.calendar else ZoneInfo("UTC")
    return f"{to_utc(moment).astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"


# --- the holding reply ------------------------------------------------------------------


def holding_reply_due(case: Case, config: Config, now: datetime) -> CaseClocks | None:
    """The case's clocks when the holding reply must go out at ``now``: the holding point
    is reached, the final deadline it promises has not passed, the case is not resolved
    and no holding reply was sent; else None.

    Once the final deadline has passed, a holding reply would promise the customer a date
    already gone: none is sent (the clock shows overdue or missed for staff). A holding
    reply after the substantive deadline but before the final one is still sent: late,
    and recorded as missed, but it tells the customer when the answer comes."""
    if not config.regulatory.holding_reply or case.status == CaseStatus.RESOLVED or not case.jurisdiction:
        return None
    if any(event.kind == HOLDING_EVENT for event in case.events):
        return None
    clocks = case_clocks(case, config, now)
    holding, final = clocks.state("holding"), clocks.state("final")
    # An unknown final deadline cannot be promised: no holding reply until it is known.
    if holding is None or final is None or not holding.deadline <= to_utc(now) <= final.deadline:
        return None
    return clocks


# --- escalation ahead of a deadline -----------------------------------------------------


def deadline_escalation_due(case: Case, config: Config, now: datetime) -> ClockState | None:
    """The open regulatory deadline within ``escalate_before`` of ``now`` that has not
    been escalated yet (one escalation per clock); None when there is none, and always
    None with ``[escalation] enabled = false`` (never escalate, never notify staff)."""
    if not config.escalation.enabled or case.status == CaseStatus.RESOLVED or not case.jurisdiction:
        return None
    clocks = case_clocks(case, config, now)
    done = {event.detail.split(":", 1)[0] for event in case.events if event.kind == "deadline_escalated"}
    lead = timedelta(seconds=config.regulatory.escalate_before)
    for state in sorted(clocks.states, key=lambda s: s.deadline):
        if state.clock == "holding" or state.state not in ("open", "overdue") or state.clock in done:
            continue
        if to_utc(now) >= state.deadline - lead:
            return state
    return None


# --- next steps and the complaint window ------------------------------------------------


def next_steps_for(case: Case, config: Config) -> tuple[NextStep, ...]:
    found = config.regulatory.lookup(case.jurisdiction) if case.jurisdiction else None
    return found[0].next_steps if found else ()


def incident_age_days(evidence: dict[str, str], opened: datetime, config: Config) -> int | None:
    """Whole local days between the incident (evidence ``transaction_date``) and the
    case's opening; None when there is no readable incident date."""
    value = evidence.get("transaction_date", "")
    try:
        incident = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return (to_utc(opened).astimezone(ZoneInfo(config.sla.timezone)).date() - incident).days


def outside_window(evidence: dict[str, str], opened: datetime, config: Config) -> bool:
    age = incident_age_days(evidence, opened, config)
    return age is not None and age * 86400 > config.sla.complaint_window

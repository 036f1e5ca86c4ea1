"""A case's regulatory deadlines and complaint window as staff read them (pure): lines
for ``show``, a cell for ``cases`` and the page, a document for ``--json``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from inbox_agent.domain.clock import iso
from inbox_agent.domain.model import Case
from inbox_agent.policies.escalation import OUTSIDE_WINDOW_FLAG
from inbox_agent.policies.regulatory import CaseClocks, case_clocks, local_time

if TYPE_CHECKING:
    from inbox_agent.config.loader import Config


def deadline_lines(case: Case, config: Config, now: datetime) -> list[str]:
    """ "deadline substantive (15 business days): 2026-10-12 18:00 Europe/Berlin, met" ..."""
    lines: list[str] = []
    if OUTSIDE_WINDOW_FLAG in case.flags:
        window = config.sla.complaint_window / 86400
        told = any(event.kind == "window_told" for event in case.events)
        lines.append(
            f"complaint window: the incident ({case.evidence_map.get('transaction_date', '?')}) is older than "
            f"the {window:g}-day window; customer {'told' if told else 'not told yet'}"
        )
    if not case.jurisdiction:
        return lines
    clocks = case_clocks(case, config, now)
    if clocks.jurisdiction is None:
        return [*lines, f"jurisdiction: {case.jurisdiction} (not in the configuration: no deadlines)"]
    lines.append(f"jurisdiction: {case.jurisdiction} ({clocks.jurisdiction.title})")
    if clocks.jurisdiction.extension:
        lines.append(f"final may be extended to {clocks.jurisdiction.extension} with approval (not applied)")
    for state in clocks.states:
        done = f", done {local_time(state.done_at, clocks)}" if state.done_at else ""
        lines.append(
            f"deadline {state.clock} ({state.rule}): {local_time(state.deadline, clocks)}, {state.state}{done}"
        )
    # A deadline its calendar cannot compute is said, never guessed; the others stand.
    lines += [f"deadline {clock}: UNKNOWN: {why}" for clock, why in clocks.unknown]
    return lines


def next_deadline(case: Case, config: Config, now: datetime) -> str:
    """The earliest open deadline in one cell: "final 2026-10-30 00:00 Asia/Shanghai (overdue)"."""
    if not case.jurisdiction:
        return ""
    clocks = case_clocks(case, config, now)
    if clocks.error:
        return "UNKNOWN (calendar)"
    state = clocks.next_open
    if state is None:
        return ""
    return f"{state.clock} {local_time(state.deadline, clocks)} ({state.state})"


def queue_deadline(case: Case, config: Config, now: datetime) -> tuple[float, str] | None:
    """The web queue's "Regulatory deadline" cell and sort key: the earliest open
    deadline (seconds since the epoch, words), or None when the case has none open."""
    if not case.jurisdiction:
        return None
    clocks = case_clocks(case, config, now)
    if clocks.error:
        return (float("-inf"), "UNKNOWN (calendar)")  # first when sorted: someone must look
    state = clocks.next_open
    if state is None:
        return None
    return (state.deadline.timestamp(), f"{state.clock} {local_time(state.deadline, clocks)} ({state.state})")


def deadlines_doc(case: Case, config: Config, now: datetime) -> dict[str, Any]:
    clocks: CaseClocks = case_clocks(case, config, now)
    return {
        "jurisdiction": case.jurisdiction,
        "error": clocks.error,
        "unknown": dict(clocks.unknown),
        "clocks": [
            {
                "clock": s.clock,
                "rule": str(s.rule),
                "deadline": iso(s.deadline),
                "done_at": iso(s.done_at) if s.done_at else "",
                "state": s.state,
            }
            for s in clocks.states
        ],
    }

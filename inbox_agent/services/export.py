"""The regulator report: one row per case received in a period, with each regulatory
clock's deadline, when it was met, the days it took and met or missed; and a summary
per jurisdiction and clock. Reads the store only (no lock, nothing written).

"received" is when the complaint reached the mailbox (where the clocks count from). A
deadline in a year its calendar does not cover is exported as "unknown", with the
error in the row, never guessed; the case's other clocks are exported as usual.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.jurisdiction import CLOCKS, days_between, received_at, step_times
from inbox_agent.domain.model import DETERMINATIONS, Case, CaseStatus
from inbox_agent.policies.regulatory import case_clocks
from inbox_agent.services.ports import CaseStore

STATES: tuple[str, ...] = ("met", "missed", "overdue", "open", "not needed", "unknown")


@dataclass(frozen=True)
class Export:
    rows: tuple[dict[str, str], ...]
    summary: tuple[dict[str, str | int], ...]  # jurisdiction, clock, and a count per state
    # Per jurisdiction and category, the resolved cases by determination, the share
    # upheld (in full or in part) and the redress paid per currency: a complaints return.
    determinations: tuple[dict[str, str | int], ...] = ()


def columns() -> tuple[str, ...]:
    per_clock = tuple(
        f"{clock}_{field}" for clock in CLOCKS for field in ("deadline", "done", "days", "result")
    )
    base = ("case", "jurisdiction", "received", "acknowledged", "holding_reply", "final_response")
    return (*base, *per_clock, "category", "severity", "outcome", "determination", "redress", "error")


def export_cases(
    store: CaseStore, config: Config, start: date, end: date, jurisdiction: str, now: datetime
) -> Export:
    """Cases received from ``start`` to ``end`` (inclusive, the service's local dates)."""
    zone = ZoneInfo(config.sla.timezone)
    chosen = [
        case
        for case in store.iter_cases()
        if start <= received_at(case).astimezone(zone).date() <= end
        and (not jurisdiction or case.jurisdiction == jurisdiction)
    ]
    chosen.sort(key=lambda case: case.seq)
    rows = tuple(case_row(case, config, now) for case in chosen)
    return Export(rows=rows, summary=summarise(rows), determinations=summarise_determinations(rows))


def case_row(case: Case, config: Config, now: datetime) -> dict[str, str]:
    received = received_at(case)
    steps = step_times(case)
    row = dict.fromkeys(columns(), "")
    row |= {
        "case": case.case_id,
        "jurisdiction": case.jurisdiction,
        "received": iso(received),
        "acknowledged": _when(steps.get("acknowledgement")),
        "holding_reply": _when(steps.get("holding")),
        "final_response": _when(steps.get("final")),
        "category": case.category,
        "severity": case.severity,
        "outcome": "resolved" if case.status == CaseStatus.RESOLVED else f"open ({case.status})",
        "determination": case.determination,
        "redress": case.redress,
    }
    clocks = case_clocks(case, config, now)
    row["error"] = clocks.error
    for clock, _why in clocks.unknown:  # only the clock its calendar cannot compute
        row[f"{clock}_result"] = "unknown"
    for state in clocks.states:
        row[f"{state.clock}_deadline"] = iso(state.deadline)
        row[f"{state.clock}_done"] = _when(state.done_at)
        row[f"{state.clock}_days"] = f"{days_between(received, state.done_at):g}" if state.done_at else ""
        row[f"{state.clock}_result"] = state.state
    return row


def summarise(rows: Iterable[dict[str, str]]) -> tuple[dict[str, str | int], ...]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        for clock in CLOCKS:
            result = row[f"{clock}_result"]
            if result:
                counts[(row["jurisdiction"], clock, result)] += 1
    keys = sorted({(j, c) for j, c, _ in counts}, key=lambda key: (key[0], CLOCKS.index(key[1])))
    summary: list[dict[str, str | int]] = []
    for jurisdiction, clock in keys:
        line: dict[str, str | int] = {"jurisdiction": jurisdiction, "clock": clock}
        line |= {state: counts[(jurisdiction, clock, state)] for state in STATES}
        line["total"] = sum(counts[(jurisdiction, clock, state)] for state in STATES)
        summary.append(line)
    return tuple(summary)


def summarise_determinations(rows: Iterable[dict[str, str]]) -> tuple[dict[str, str | int], ...]:
    """The resolved rows by jurisdiction and category: how many of each determination
    ("not_recorded": resolved without one), the share upheld and the redress paid."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        if row["outcome"] == "resolved":
            groups.setdefault((row["jurisdiction"], row["category"]), []).append(row)
    lines: list[dict[str, str | int]] = []
    for (jurisdiction, category), resolved in sorted(groups.items()):
        counts = Counter(row["determination"] or "not_recorded" for row in resolved)
        decided = sum(counts[d] for d in ("upheld", "partly_upheld", "not_upheld"))
        upheld = counts["upheld"] + counts["partly_upheld"]
        line: dict[str, str | int] = {
            "jurisdiction": jurisdiction,
            "category": category,
            "resolved": len(resolved),
        }
        line |= {name: counts[name] for name in (*DETERMINATIONS, "not_recorded")}
        line["upheld_share"] = f"{upheld / decided:.0%}" if decided else ""
        line["redress"] = _redress_totals(row["redress"] for row in resolved)
        lines.append(line)
    return tuple(lines)


def _redress_totals(amounts: Iterable[str]) -> str:
    """ "25.00 CNY", "10.00 CNY", "5.00 USD" → "35.00 CNY; 5.00 USD"."""
    cents: dict[str, int] = {}  # whole cents: no float sums
    for amount in amounts:
        if amount:
            number, currency = amount.split()
            cents[currency] = cents.get(currency, 0) + round(float(number) * 100)
    return "; ".join(f"{cents[c] / 100:.2f} {c}" for c in sorted(cents))


def _when(moment: datetime | None) -> str:
    return iso(moment) if moment is not None else ""

"""What the regulatory clocks cost the sweep: microseconds to compute every clock of one
case, per preset, over cases received on each day of a year (Golden Week, Christmas
and both DST changes included).

    python bench/regulatory_clocks.py            # 2026, every preset
    python bench/regulatory_clocks.py --year 2025

The sweep computes them for every active case with a jurisdiction on each run
(``[escalation] sweep_interval``), so this times the per-case work of that loop.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inbox_agent.domain.calendar import CalendarNotCovered  # noqa: E402
from inbox_agent.domain.jurisdiction import clock_states  # noqa: E402
from inbox_agent.domain.jurisdiction_presets import PRESET_CALENDARS, PRESET_JURISDICTIONS  # noqa: E402
from inbox_agent.domain.model import Case, CaseStatus  # noqa: E402


def case_at(received: datetime, jurisdiction: str) -> Case:
    at = received.isoformat(timespec="seconds")
    return Case(
        case_id="WLT-2026-000001",
        seq=1,
        customer="a@example.com",
        customer_name="",
        subject="",
        language="en",
        category="other",
        categories=("other",),
        confidence=1.0,
        matched=(),
        severity="normal",
        status=CaseStatus.WAITING_STAFF,
        created_at=at,
        updated_at=at,
        jurisdiction=jurisdiction,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()
    print(f"per case: every clock of one case received at 10:00 UTC on each day of {args.year}")
    print(f"{'preset':<10} {'cases':>6} {'median us':>10} {'p99 us':>8} {'uncovered':>10}")
    for key, jurisdiction in PRESET_JURISDICTIONS.items():
        calendar = PRESET_CALENDARS[jurisdiction.calendar]
        timings: list[float] = []
        uncovered = 0
        start = datetime(args.year, 1, 1, 10, tzinfo=UTC)
        for day in range(365):
            case = case_at(start + timedelta(days=day), key)
            began = time.perf_counter()
            try:
                clock_states(case, jurisdiction, calendar, start + timedelta(days=day + 1))
            except CalendarNotCovered:
                uncovered += 1
                continue
            timings.append((time.perf_counter() - began) * 1e6)
        timings.sort()
        p99 = timings[int(len(timings) * 0.99) - 1] if timings else 0.0
        median = statistics.median(timings) if timings else 0.0
        print(f"{key:<10} {len(timings):>6} {median:>10.1f} {p99:>8.1f} {uncovered:>10}")


if __name__ == "__main__":
    main()

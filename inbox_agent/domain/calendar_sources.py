"""The public-holiday libraries behind one door: which days a named source keeps free.

Two libraries do no I/O and may be used by the pure core: ``chinesecalendar`` (mainland
China, including the make-up working days, 调休, that the State Council declares every
year: a Saturday or Sunday that is a working day) and ``holidays`` (every other
country, and the TARGET2/ECB calendar of the euro area). Nothing else imports them.

A source answers ``day_kind(day)``: "work", "free" or None (the source says nothing;
the calendar's weekend decides). It raises ``SourceNotCovered`` for a year it has no
data for: ``chinesecalendar`` only knows the years the State Council has published.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

import chinese_calendar

if TYPE_CHECKING:
    import holidays

SOURCES_HELP = (
    '"none", "cn" (chinesecalendar), "holidays:XX" (a country code such as US, DE, AE) or "holidays:ECB"'
)
# Financial calendars of the ``holidays`` library rather than a country's public holidays.
FINANCIAL = frozenset({"ECB", "NYSE", "IFEU", "BVMF", "XNSE", "XTAE"})


class SourceNotCovered(Exception):
    """The source has no data for ``year``."""

    def __init__(self, source: str, year: int, detail: str) -> None:
        self.source, self.year = source, year
        super().__init__(f"holiday source {source!r} does not cover {year}: {detail}")


DayKind = Callable[[date], str | None]


def source_problem(source: str) -> str:
    """ "" when ``source`` names a known source, else why not (for the config loader)."""
    if source in ("none", "cn"):
        return ""
    if not source.startswith("holidays:"):
        return f"unknown holiday source {source!r} (use {SOURCES_HELP})"
    try:
        _holiday_table(source.split(":", 1)[1], 2000)
    except (NotImplementedError, KeyError, AttributeError) as exc:
        return f"unknown holiday source {source!r}: {exc}"
    return ""


def day_kind(source: str, day: date) -> str | None:
    if source == "none":
        return None
    if source == "cn":
        try:
            return "work" if chinese_calendar.is_workday(day) else "free"
        except NotImplementedError as exc:
            raise SourceNotCovered(source, day.year, str(exc)) from None
    code = source.split(":", 1)[1]
    table = _holiday_table(code, day.year)
    return "free" if day in table else None


@lru_cache(maxsize=64)
def _holiday_table(code: str, year: int) -> holidays.HolidayBase:
    # Imported on first use: the library takes ~0.1 s to import, which every command
    # would pay even with no regulatory clock configured.
    import holidays

    if code.upper() in FINANCIAL:
        table = holidays.financial_holidays(code.upper(), years=year)
    else:
        table = holidays.country_holidays(code.upper(), years=year)
    start, end = getattr(table, "start_year", None), getattr(table, "end_year", None)
    if (start is not None and year < start) or (end is not None and year > end):
        raise SourceNotCovered(f"holidays:{code}", year, f"the library covers {start}-{end}")
    return table


def check_covered(source: str, year: int) -> None:
    """Raise ``SourceNotCovered`` unless the source has data for ``year``."""
    day_kind(source, date(year, 1, 2))
    day_kind(source, date(year, 12, 30))

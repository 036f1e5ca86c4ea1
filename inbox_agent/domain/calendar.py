"""Working calendars: which local days are working days, and the working windows of a day.

Pure. A calendar has a time zone (zoneinfo: DST moves the UTC position of 09:00, never
the length of a working hour), one or more windows per day (09:00-12:00 and
13:30-18:00: a lunch break), a weekend, a holiday source (``calendar_sources``: the
make-up working days of mainland China come from there) and the days the config adds:
extra holidays, extra working days, and years declared by hand when the library does
not know them yet.

A day in a year that neither the source nor the config covers raises
``CalendarNotCovered`` naming the calendar and the year: a deadline is never computed
from a guess.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from inbox_agent.domain.calendar_sources import SourceNotCovered, check_covered, day_kind
from inbox_agent.domain.clock import to_utc, wall_clock_instant

MAX_DAYS_SCANNED = 3660  # a calendar without a working day in ten years is broken, not slow


class CalendarNotCovered(Exception):
    """The calendar has no data for a year a deadline falls in."""

    def __init__(self, calendar: str, year: int, detail: str = "") -> None:
        self.calendar, self.year = calendar, year
        hint = (
            f"calendar {calendar!r} does not cover {year}"
            f"{': ' + detail if detail else ''}; declare that year's holidays and working days "
            f"in [regulatory.calendar.{calendar}] (declared_years, holidays, workdays) "
            "or update the calendar library"
        )
        super().__init__(hint)


class NoWorkingTime(ValueError):
    """No working day (or hour) within the scan bound: a broken calendar or a limit far
    longer than the scan, never a hang. A ValueError, as it always was."""


@dataclass(frozen=True)
class WorkCalendar:
    name: str
    timezone: str = "UTC"
    windows: tuple[tuple[int, int], ...] = ((9 * 60, 18 * 60),)  # minutes after local midnight
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): 5 = Saturday
    source: str = "none"  # calendar_sources: "none", "cn", "holidays:US", "holidays:ECB"
    holidays: frozenset[date] = frozenset()  # declared days off
    workdays: frozenset[date] = frozenset()  # declared working days (a make-up Saturday)
    declared_years: frozenset[int] = frozenset()  # years the config covers by itself

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # --- days ---------------------------------------------------------------------------

    def check_year(self, year: int) -> None:
        """Raise CalendarNotCovered unless ``year`` is covered (source or config)."""
        if year in self.declared_years:
            return
        try:
            check_covered(self.source, year)
        except SourceNotCovered as exc:
            raise CalendarNotCovered(self.name, year, str(exc)) from None

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if day.year in self.declared_years:
            return day.weekday() not in self.weekend
        try:
            kind = day_kind(self.source, day)
        except SourceNotCovered as exc:
            raise CalendarNotCovered(self.name, day.year, str(exc)) from None
        if kind is not None:
            return kind == "work"
        return day.weekday() not in self.weekend

    def local_date(self, moment: datetime) -> date:
        return to_utc(moment).astimezone(self.zone).date()

    def working_day_after(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``day`` itself never counts)."""
        found = 0
        for offset in range(1, MAX_DAYS_SCANNED):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                found += 1
                if found == count:
                    return candidate
        raise NoWorkingTime(f"calendar {self.name!r}: no {count} working days within {MAX_DAYS_SCANNED} days")

    # --- instants -----------------------------------------------------------------------

    def instant(self, day: date, minute: int) -> datetime:
        """Local wall-clock time on ``day`` as UTC ("24:00" is the next midnight)."""
        return wall_clock_instant(day, minute, self.zone)

    def end_of_day(self, day: date) -> datetime:
        """The next local midnight: a calendar-day deadline ends there."""
        return self.instant(day, 24 * 60)

    def close_of_business(self, day: date) -> datetime:
        """The end of the day's last working window: a business-day deadline ends there."""
        return self.instant(day, self.windows[-1][1])

    def windows_on(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [(self.instant(day, start), self.instant(day, end)) for start, end in self.windows]

    def windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (UTC) from the local day of ``moment`` on, in order: the
        same interface as ``policies.sla.BusinessHours``, so the SLA clock can run on it."""
        day = self.local_date(moment)
        for offset in range(MAX_DAYS_SCANNED):
            yield from self.windows_on(day + timedelta(days=offset))
        raise NoWorkingTime(f"calendar {self.name!r}: no working hours within {MAX_DAYS_SCANNED} days")

    def describe(self) -> str:
        """ "09:00-12:00, 13:30-18:00 on working days of cn (Asia/Shanghai)" for staff."""
        spans = ", ".join(f"{_hhmm(start)}-{_hhmm(end)}" for start, end in self.windows)
        source = "" if self.source == "none" else f" of {self.source}"
        return f"{spans} on working days{source} ({self.timezone}), calendar {self.name}"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def add_calendar_days(calendar: WorkCalendar, start: datetime, days: int) -> datetime:
    """End of the local day ``days`` calendar days after the day of ``start``. Holidays do
    not move it, so it needs no holiday data: a year the holiday source does not know yet
    must not make a calendar-day deadline unknown."""
    day = calendar.local_date(start) + timedelta(days=days)
    return calendar.end_of_day(day)


def add_business_days(calendar: WorkCalendar, start: datetime, days: int) -> datetime:
    """Close of business on the ``days``-th working day after the day of ``start``
    (the day of receipt does not count, whether it is a working day or not)."""
    if days <= 0:
        return calendar.close_of_business(calendar.local_date(start))
    return calendar.close_of_business(calendar.working_day_after(calendar.local_date(start), days))


def add_working_hours(calendar: WorkCalendar, start: datetime, hours: float) -> datetime:
    """The instant at which ``hours`` of working time (inside the windows) have passed."""
    start, remaining = to_utc(start), timedelta(hours=hours)
    for window_start, window_end in calendar.windows_from(start):
        begin = max(window_start, start)
        if begin >= window_end:
            continue
        if remaining <= window_end - begin:
            return begin + remaining
        remaining -= window_end - begin
    raise AssertionError("windows_from never ends without raising")  # pragma: no cover

"""Response-time clocks: how much SLA time has passed, and when a limit is reached.

Pure. Every instant goes in and comes out timezone-aware in UTC; business hours are
laid out day by day in the service's local zone (zoneinfo), so a DST change moves the
UTC position of "09:00" but never the length of a business hour, and a 24/7 clock is
plain UTC arithmetic that a DST change cannot touch at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from inbox_agent.config.loader import SlaSettings
from inbox_agent.domain.calendar import NoWorkingTime, WorkCalendar
from inbox_agent.domain.clock import to_utc, wall_clock_instant

# A calendar with working days always has one within a few weeks, even with a long
# holiday list; the bound only turns a broken calendar into an error, not a hang.
MAX_DAYS_SCANNED = 3660


@dataclass(frozen=True)
class BusinessHours:
    """When the SLA clock runs for business-hours categories."""

    zone: ZoneInfo
    working_days: frozenset[int]  # date.weekday(): 0 = Monday
    start_minute: int  # minutes after local midnight
    end_minute: int  # 1440 = the next midnight
    holidays: frozenset[date]

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The business hours of one local day as a UTC interval; None on a day off."""
        if day.weekday() not in self.working_days or day in self.holidays:
            return None
        return self._instant(day, self.start_minute), self._instant(day, self.end_minute)

    def _instant(self, day: date, minute: int) -> datetime:
        # Wall-clock time in the local zone first, then UTC: this is what keeps 09:00
        # at 09:00 on both sides of a DST change.
        return wall_clock_instant(day, minute, self.zone)

    def windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Business-hour intervals (UTC) from the local day of ``moment`` on, in order."""
        day = to_utc(moment).astimezone(self.zone).date()
        for offset in range(MAX_DAYS_SCANNED):
            window = self.window(day + timedelta(days=offset))
            if window is not None:
                yield window
        raise NoWorkingTime(f"no business hours within {MAX_DAYS_SCANNED} days of {moment.isoformat()}")


# What the SLA clock runs on: the [sla] fields, or a real calendar (``[sla] calendar``:
# make-up working days, several windows a day). Both answer ``windows_from``.
Hours = BusinessHours | WorkCalendar


def business_hours_for(settings: SlaSettings, category: str) -> Hours | None:
    """The calendar the category's clock follows; None when it runs around the clock."""
    if not settings.uses_business_hours(category):
        return None
    if settings.work_calendar is not None:
        return settings.work_calendar
    return BusinessHours(
        zone=ZoneInfo(settings.timezone),
        working_days=settings.working_days,
        start_minute=settings.day_start_minute,
        end_minute=settings.day_end_minute,
        holidays=settings.holidays,
    )


def add_sla_time(start: datetime, seconds: float, hours: Hours | None) -> datetime:
    """The instant (UTC) at which ``seconds`` of SLA time have passed since ``start``."""
    start = to_utc(start)
    remaining = timedelta(seconds=seconds)
    if hours is None:
        return start + remaining
    for window_start, window_end in hours.windows_from(start):
        begin = max(window_start, start)
        if begin >= window_end:
            continue
        available = window_end - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("windows_from never ends without raising")  # pragma: no cover


def sla_elapsed(start: datetime, end: datetime, hours: Hours | None) -> float:
    """Seconds of SLA time between two instants (0 when ``end`` is not after ``start``)."""
    start, end = to_utc(start), to_utc(end)
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds()
    total = timedelta()
    for window_start, window_end in hours.windows_from(start):
        if window_start >= end:
            break
        begin, finish = max(window_start, start), min(window_end, end)
        if finish > begin:
            total += finish - begin
    return total.total_seconds()


def describe_business_hours(hours: Hours) -> str:
    """ "09:00-18:00 Mon-Fri (Asia/Shanghai), not on holidays" for staff mail and tables."""
    if isinstance(hours, WorkCalendar):
        return hours.describe()
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    days = ", ".join(names[day] for day in sorted(hours.working_days))
    if sorted(hours.working_days) == [0, 1, 2, 3, 4]:
        days = "Mon-Fri"
    start = f"{hours.start_minute // 60:02d}:{hours.start_minute % 60:02d}"
    end = f"{hours.end_minute // 60:02d}:{hours.end_minute % 60:02d}"
    holidays = ", not on holidays" if hours.holidays else ""
    return f"{start}-{end} {days} ({hours.zone.key}){holidays}"

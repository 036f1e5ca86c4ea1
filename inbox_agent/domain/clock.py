"""Time is injected so SLA logic is testable and `escalate --now` can replay any moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that only moves when told to; used by tests and `--now`."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.instant = self.instant + timedelta(**delta)


def to_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# The text depends on the instant alone, and equal datetimes are the same instant (or, both
# naive, the same fields): a batch stamps the same few instants on every event, message
# and outbox entry it writes, and formatting each anew was 3 % of the daemon's time.
@lru_cache(maxsize=256)
def iso(moment: datetime) -> str:
    return to_utc(moment).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    return to_utc(datetime.fromisoformat(text))


def wall_clock_instant(day: date, minute: int, zone: tzinfo) -> datetime:
    """The UTC instant at which the local clock of ``zone`` shows ``minute`` after
    midnight on ``day`` ("24:00" is the next midnight).

    A wall time that does not exist (inside the spring-forward gap) is the instant the
    clock jumps: hours set to start at 02:30 start when the clock leaps from 02:00 to
    03:00, not half an hour after it (what Python's fold=0 reading gives). A wall time
    that happens twice (autumn) is its first occurrence.
    """
    if minute >= 24 * 60:
        day, minute = day + timedelta(days=1), minute - 24 * 60
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    before, after = local.utcoffset(), local.replace(fold=1).utcoffset()
    if before is None or after is None or before >= after:
        return local.astimezone(UTC)
    # In a gap fold=0 reads the time with the offset before the jump (an instant after
    # it) and fold=1 with the offset after (an instant before it): the jump is between.
    return _jump_between(local.replace(fold=1).astimezone(UTC), local.astimezone(UTC), zone)


def _jump_between(early: datetime, late: datetime, zone: tzinfo) -> datetime:
    """The first whole second, between two UTC instants, at the offset ``late`` has."""
    offset = late.astimezone(zone).utcoffset()
    low, high = int(early.timestamp()), int(late.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)

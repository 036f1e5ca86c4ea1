"""Time is injected so SLA logic is testable and `escalate --now` can replay any moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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

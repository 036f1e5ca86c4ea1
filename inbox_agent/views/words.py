"""Times, durations and sizes in the words staff read on the page."""

from __future__ import annotations

from datetime import datetime, tzinfo

from inbox_agent.domain.clock import parse_iso


def parse_time(text: str) -> datetime | None:
    """A stored ISO-8601 time; None for empty or unparseable text."""
    try:
        return parse_iso(text)
    except (ValueError, TypeError):
        return None


def sortable_time(text: str) -> float:
    moment = parse_time(text)
    return moment.timestamp() if moment else 0.0


def local_time(text: str, tz: tzinfo) -> str:
    """ISO UTC -> "2026-11-20 18:05" in the service's time zone; unparseable text as is."""
    moment = parse_time(text)
    if moment is None:
        return text
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def describe_duration(seconds: float) -> str:
    """Coarse on purpose: staff need "2 d 3 h", not seconds."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def size_words(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"

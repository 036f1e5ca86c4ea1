"""Retention (pure): which resolved cases have kept their raw mail long enough.

The case, its events and the message records (metadata and capped text) stay; the
raw ``.eml`` files and attachments — the full personal data — go once a case has
been resolved for ``storage.retention_days``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from inbox_agent.domain.clock import parse_iso
from inbox_agent.domain.model import Case, CaseStatus

PURGED_FLAG = "raw_purged"


def due_for_purge(cases: Iterable[Case], now: datetime, days: int) -> list[Case]:
    """Resolved cases whose last change is older than the retention period."""
    if days <= 0:
        return []
    horizon = now - timedelta(days=days)
    return [
        case
        for case in cases
        if case.status == CaseStatus.RESOLVED
        and PURGED_FLAG not in case.flags
        and parse_iso(case.updated_at) < horizon
    ]

"""Retention (pure): which resolved cases have kept their raw mail long enough.

The case, its events and the message records (metadata and capped text) stay; the
raw ``.eml`` files and attachments — the full personal data — go once a case has
been resolved for ``storage.retention_days``.

Mail we wrote for the case and have not sent is part of that data too. A case with
a mail still waiting to go out waits as well: the customer gets the reply first, and
once sent the reply is one of the case's messages, erased with the rest. A mail the
server refused for good will never be sent; it is erased with the case.

Mail filed under no case (auto-replies, bounces, list mail) has no resolution to
wait for: its raw mail goes once it was received longer ago than the same period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from inbox_agent.domain.clock import parse_iso
from inbox_agent.domain.model import Case, CaseStatus, MessageRecord
from inbox_agent.domain.outbox import PENDING

PURGED_FLAG = "raw_purged"


def due_for_purge(cases: Iterable[Case], now: datetime, days: int) -> list[Case]:
    """Resolved cases whose last change is older than the retention period. Cases
    purged before are among them: one reopened by the customer and resolved again, or
    one whose reply went out after the purge, holds raw mail again (the caller knows)."""
    if days <= 0:
        return []
    horizon = now - timedelta(days=days)
    return [
        case for case in cases if case.status == CaseStatus.RESOLVED and parse_iso(case.updated_at) < horizon
    ]


def still_sending(outbox: Iterable[dict[str, Any]]) -> set[str]:
    """Cases with a mail still waiting in the outbox (to be sent or retried)."""
    return {entry["case_id"] for entry in outbox if entry["status"] == PENDING}


def unfiled_due_for_purge(messages: Iterable[MessageRecord], now: datetime, days: int) -> list[MessageRecord]:
    """Mail filed under no case, received more than ``days`` ago, whose raw mail was not
    erased yet. A record without a receipt time (none is written so) is dated by its
    Date header; with neither its age is unknown, and it is kept."""
    if days <= 0:
        return []
    horizon = now - timedelta(days=days)
    due = []
    for message in messages:
        if message.case_id or PURGED_FLAG in message.flags:
            continue
        received = _moment(message.received_at) or _moment(message.date)
        if received is not None and received < horizon:
            due.append(message)
    return due


def _moment(text: str) -> datetime | None:
    try:
        return parse_iso(text) if text else None
    except ValueError:
        return None

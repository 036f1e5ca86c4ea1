"""The case lifecycle in one place: case ids, events, status changes, severity order.

Every module that changes a case goes through these functions, so an event always
moves ``updated_at``, a staff response always stops the clock, and the id format is
spelled once.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from inbox_agent.domain.model import Case, CaseStatus, Event

CASE_PREFIX = "WLT"
# A case id anywhere in a text (a subject tag, a body): "WLT-2026-000123".
CASE_ID_IN_TEXT = re.compile(rf"\b{CASE_PREFIX}-\d{{4}}-\d{{6}}\b")
# The "[WLT-2026-000123]" tag our subjects carry (lenient: people edit subjects).
CASE_TAG_IN_SUBJECT = re.compile(rf"\[\s*{CASE_PREFIX}-\d{{4}}-\d+\s*\]", re.IGNORECASE)

# Least to most severe. A higher rank wins when a follow-up raises the severity, and
# sorts first on the staff page.
SEVERITY_ORDER: tuple[str, ...] = ("normal", "high", "urgent")


def case_id_for(seq: int, year: int) -> str:
    return f"{CASE_PREFIX}-{year}-{seq:06d}"


def seq_of(case_id: str) -> int | None:
    """The sequence number of a well-formed case id; None for anything else."""
    try:
        prefix, _year, number = case_id.split("-")
        if prefix != CASE_PREFIX:
            return None
        return int(number)
    except ValueError:
        return None


def message_key(message_id: str, raw_sha256: str) -> str:
    """A Message-ID alone is not unique enough (reused ids): pair it with the content hash."""
    return f"{message_id}|{raw_sha256}" if message_id else raw_sha256


def severity_rank(severity: str) -> int:
    """0 for "normal" (and anything unknown), up to 2 for "urgent"."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else 0


def with_event(case: Case, event: Event, **changes: Any) -> Case:
    """The case with ``event`` appended; every event moves ``updated_at``."""
    return replace(case, events=case.events + (event,), updated_at=event.at, **changes)


def add_event(case: Case, at: str, kind: str, actor: str, detail: str = "", **changes: Any) -> Case:
    return with_event(case, Event(at=at, kind=kind, actor=actor, detail=detail), **changes)


def add_message_ids(existing: tuple[str, ...], *new: str) -> tuple[str, ...]:
    """Message-IDs of a case, in order of arrival, each once."""
    result = list(existing)
    for message_id in new:
        if message_id and message_id not in result:
            result.append(message_id)
    return tuple(result)


def staff_answered(case: Case) -> dict[str, Any]:
    """The changes a staff response makes: the customer's wait is over, so the clock
    stops and the escalation ladder starts again from the bottom next time."""
    if case.status == CaseStatus.RESOLVED:
        return {"awaiting_since": ""}
    return {"status": CaseStatus.WAITING_CUSTOMER, "awaiting_since": "", "escalation_level": 0}


def reopened(at: str) -> dict[str, Any]:
    """The changes a reopen makes: a new wait for staff, escalated again from L1."""
    # The earlier determination stays in the "resolved" event; the case is undecided again.
    return {
        "status": CaseStatus.WAITING_STAFF,
        "awaiting_since": at,
        "escalation_level": 0,
        "determination": "",
        "redress": "",
    }


def status_after_customer_message(case: Case, missing: tuple[str, ...]) -> CaseStatus:
    """A customer's mail leaves the case waiting for them while evidence is missing,
    otherwise for staff. An escalated case stays escalated."""
    if case.status == CaseStatus.ESCALATED:
        return case.status
    return CaseStatus.WAITING_CUSTOMER if missing else CaseStatus.WAITING_STAFF

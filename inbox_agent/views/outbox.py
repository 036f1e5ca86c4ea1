"""The web app's outbox page (pure): outbox entries -> rows staff read.

Only mail that needs a person is listed: mail refused for good (``failed``) and mail
retried after an error. Mail simply waiting for the next send is counted, not listed.
The recipients are the customers staff answer by name on the case page; the reason is
the server's answer, masked as everything on the page is (a server may quote the
mail it refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.outbox import FAILED, SHOWN_ERROR, error_line
from inbox_agent.views.words import local_time


@dataclass(frozen=True)
class OutboxRow:
    outbox_id: str
    case_id: str
    kind: str
    recipients: str
    failed: bool  # refused for good: sent again only when someone retries it
    attempts: int
    queued: str  # local time
    next_attempt: str  # local time; "" for failed mail
    error: str


def needs_a_person(entry: dict[str, Any]) -> bool:
    """Failed, or pending after an error: a wrong password, a relay that refuses."""
    return entry["status"] == FAILED or bool(entry.get("attempts") or entry.get("last_error"))


def outbox_rows(entries: Iterable[dict[str, Any]], tz: tzinfo) -> list[OutboxRow]:
    """Failed mail first, then mail retried after an error; each oldest first."""
    chosen = sorted(
        (entry for entry in entries if needs_a_person(entry)),
        key=lambda entry: (entry["status"] != FAILED, entry.get("queued_at", "")),
    )
    return [_row(entry, tz) for entry in chosen]


def _row(entry: dict[str, Any], tz: tzinfo) -> OutboxRow:
    failed = entry["status"] == FAILED
    return OutboxRow(
        outbox_id=entry["outbox_id"],
        case_id=entry["case_id"],
        kind=entry["kind"],
        recipients=", ".join(entry.get("recipients", ())),
        failed=failed,
        attempts=int(entry.get("attempts", 0)),
        queued=local_time(entry.get("queued_at", ""), tz),
        next_attempt="" if failed else local_time(entry.get("next_attempt_at", ""), tz),
        error=mask_text(error_line(entry.get("last_error") or "(no reason recorded)", SHOWN_ERROR)),
    )

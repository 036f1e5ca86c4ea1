"""The durable outbox: entries, retry schedule, and the accepted-mail log.

A queued mail is a document in the store (queued in the same commit as the case
change that caused it) plus its raw bytes in the blob store. The sender job hands
due mails to the transport; every mail the server accepted is appended to
the accepted-mail log (``adapters.sent_log``, fsynced) at once, before the batch's "sent" marks are
committed. A crash between the server's 250 and that append is the only window in
which a mail can go out twice — and then with the same Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inbox_agent.domain.backoff import capped_delay
from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.domain.model import OutgoingMail, SendOutcome, SendResult

PENDING = "pending"
FAILED = "failed"


@dataclass(frozen=True)
class NotOffered(SendResult):
    """RETRY for a mail the server never saw: the connection was lost under an earlier
    mail of its batch and could not be opened again. Not an attempt of its own, so it
    keeps its attempt count and schedule (a relay's per-connection limit must not push
    every later mail of a backlog into backoff)."""

    outcome: SendOutcome = SendOutcome.RETRY


@dataclass(frozen=True)
class PartlyRefused(SendResult):
    """SENT to some recipients, refused for good by the server for the others:
    ``refused`` pairs each refused address with the server's answer, so the case
    can say who did not get the mail (an escalation to two staff, one address gone)."""

    outcome: SendOutcome = SendOutcome.SENT
    refused: tuple[tuple[str, str], ...] = ()


# Like a mail server (RFC 5321 4.5.4.1: "at least 4-5 days"): a recipient still
# refusing with 4xx after this long is given up on, visibly, instead of being retried
# for ever (and keeping its case from retention for ever).
GIVE_UP_AFTER = timedelta(days=5)


def new_entry(mail: OutgoingMail, raw_sha256: str, now: datetime) -> dict[str, Any]:
    return {
        "outbox_id": mail.outbox_id,
        "case_id": mail.case_id,
        "kind": mail.kind,
        "message_id": mail.message_id,
        "sender": mail.sender,
        "recipients": list(mail.recipients),
        "raw_sha256": raw_sha256,
        "subject": mail.subject,
        "status": PENDING,
        "attempts": 0,
        "queued_at": iso(now),
        "next_attempt_at": iso(now),
        "last_error": "",
    }


def is_due(entry: dict[str, Any], now: datetime) -> bool:
    return entry["status"] == PENDING and entry["next_attempt_at"] <= iso(now)


def after_result(
    entry: dict[str, Any], result: SendResult, now: datetime, initial: float, maximum: float
) -> dict[str, Any] | None:
    """The entry's next state; None once it is sent (it leaves the outbox)."""
    if result.outcome == SendOutcome.SENT:
        return None
    if isinstance(result, NotOffered):
        return {**entry, "last_error": result.detail[:500]}  # attempts and next attempt kept
    attempts = int(entry["attempts"]) + 1
    updated = {**entry, "attempts": attempts, "last_error": result.detail[:500]}
    if result.outcome == SendOutcome.FAILED:
        updated["status"] = FAILED
        return updated
    if entry.get("queued_at") and now - parse_iso(entry["queued_at"]) > GIVE_UP_AFTER:
        updated["status"] = FAILED
        updated["last_error"] = f"gave up after {GIVE_UP_AFTER.days} days of retrying: {result.detail}"[:500]
        return updated
    delay = capped_delay(attempts, initial, maximum)
    updated["next_attempt_at"] = iso(now + timedelta(seconds=delay))
    return updated

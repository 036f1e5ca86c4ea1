"""The durable outbox: entries, retry schedule, and the accepted-mail log.

A queued mail is a document in the store (queued in the same commit as the case
change that caused it) plus its raw bytes in the blob store. The sender job hands
due mails to the transport; every mail the server accepted is appended to
the accepted-mail log (``adapters.sent_log``, fsynced) at once, before the batch's "sent" marks are
committed. A crash between the server's 250 and that append is the only window in
which a mail can go out twice — and then with the same Message-ID.

A mail refused for good (``failed``) stays in the outbox, visible, until ops put it
back (``requeued``, `inbox-agent outbox retry`) or retention erases it with its case.
"""

from __future__ import annotations

from collections.abc import Iterable
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


# What `status` shows of a server's answer: a reason to read at a glance, the whole of
# it is on the case (the ``mail_failed`` event) and in the outbox entry.
SHOWN_ERROR = 200
REDACTED = "********"


def error_line(text: str, limit: int = 500, secrets: Iterable[str] = ()) -> str:
    """A send error as it is stored and shown: one line, at most ``limit`` characters,
    and never a secret of ours (a server or a library may echo what it was sent; the
    entry is printed by `status`, `show` and `outbox list`)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def is_due(entry: dict[str, Any], now: datetime) -> bool:
    return entry["status"] == PENDING and entry["next_attempt_at"] <= iso(now)


def after_result(
    entry: dict[str, Any], result: SendResult, now: datetime, initial: float, maximum: float
) -> dict[str, Any] | None:
    """The entry's next state; None once it is sent (it leaves the outbox)."""
    if result.outcome == SendOutcome.SENT:
        return None
    if isinstance(result, NotOffered):
        return {**entry, "last_error": error_line(result.detail)}  # attempts and next attempt kept
    attempts = int(entry["attempts"]) + 1
    updated = {**entry, "attempts": attempts, "last_error": error_line(result.detail)}
    if result.outcome == SendOutcome.FAILED:
        updated["status"] = FAILED
        return updated
    # Counted from the last time ops put the mail back, if they did: a mail retried on
    # day 6 is not given up on at its first 4xx.
    since = entry.get("requeued_at") or entry.get("queued_at")
    if since and now - parse_iso(since) > GIVE_UP_AFTER:
        updated["status"] = FAILED
        updated["last_error"] = error_line(
            f"gave up after {GIVE_UP_AFTER.days} days of retrying: {result.detail}"
        )
        return updated
    delay = capped_delay(attempts, initial, maximum)
    updated["next_attempt_at"] = iso(now + timedelta(seconds=delay))
    return updated


def requeued(entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A failed entry put back to pending once ops fixed the cause: tried at the next
    send, its attempts and backoff from the start and its give-up clock restarted. The
    bytes, and so the Message-ID, stay those queued; the old error moves to the case's
    ``mail_retried`` event, so `status` does not show it as the reason of a new retry."""
    return {
        **entry,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": iso(now),
        "requeued_at": iso(now),
        "last_error": "",
    }


def troubles(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Outbox mail that is not simply waiting for its first send, grouped by state and
    reason (a wrong SMTP password gives every queued mail the same one): failed mail,
    and pending mail with an error from an earlier attempt. Each group: ``status``,
    ``error`` (one short line), ``mails``, ``attempts`` (the most), ``next_attempt_at``
    (the earliest; "" for failed mail, which is not tried again until retried) and
    ``outbox_ids``. Failed groups first, then by next attempt."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        failed = entry["status"] == FAILED
        if not failed and not (int(entry.get("attempts", 0)) or entry.get("last_error")):
            continue
        error = error_line(entry.get("last_error") or "(no reason recorded)", SHOWN_ERROR)
        group = groups.setdefault(
            (entry["status"], error),
            {
                "status": entry["status"],
                "error": error,
                "mails": 0,
                "attempts": 0,
                "next_attempt_at": "",
                "outbox_ids": [],
            },
        )
        group["mails"] += 1
        group["attempts"] = max(group["attempts"], int(entry.get("attempts", 0)))
        group["outbox_ids"].append(entry["outbox_id"])
        if not failed and (
            not group["next_attempt_at"] or entry["next_attempt_at"] < group["next_attempt_at"]
        ):
            group["next_attempt_at"] = entry["next_attempt_at"]
    return sorted(groups.values(), key=lambda g: (g["status"] != FAILED, g["next_attempt_at"], g["error"]))

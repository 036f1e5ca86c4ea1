"""The durable outbox: entries, retry schedule, and the accepted-mail log.

A queued mail is a document in the store (queued in the same commit as the case
change that caused it) plus its raw bytes in the blob store. The sender job hands
due mails to the transport; every mail the server accepted is appended to
``outbox-sent.log`` (and fsynced) at once, before the batch's "sent" marks are
committed. A crash between the server's 250 and that append is the only window in
which a mail can go out twice — and then with the same Message-ID.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from inbox_agent.adapters.tinydb_store import FILE_MODE
from inbox_agent.domain.clock import iso
from inbox_agent.domain.model import OutgoingMail, SendOutcome, SendResult

PENDING = "pending"
FAILED = "failed"


def new_entry(mail: OutgoingMail, raw_sha256: str, now: datetime) -> dict[str, Any]:
    return {
        "outbox_id": mail.outbox_id,
        "case_id": mail.case_id,
        "kind": mail.kind,
        "message_id": mail.message_id,
        "sender": mail.sender,
        "recipients": list(mail.recipients),
        "raw_sha256": raw_sha256,
        "status": PENDING,
        "attempts": 0,
        "queued_at": iso(now),
        "next_attempt_at": iso(now),
        "last_error": "",
    }


def is_due(entry: dict[str, Any], now: datetime) -> bool:
    return entry["status"] == PENDING and entry["next_attempt_at"] <= iso(now)


def retry_delay(attempts: int, initial: float, maximum: float) -> float:
    """Capped exponential backoff: initial, 2x, 4x ... up to maximum seconds."""
    return min(maximum, initial * (2 ** max(0, attempts - 1)))


def after_result(
    entry: dict[str, Any], result: SendResult, now: datetime, initial: float, maximum: float
) -> dict[str, Any] | None:
    """The entry's next state; None once it is sent (it leaves the outbox)."""
    if result.outcome == SendOutcome.SENT:
        return None
    attempts = int(entry["attempts"]) + 1
    updated = {**entry, "attempts": attempts, "last_error": result.detail[:500]}
    if result.outcome == SendOutcome.FAILED:
        updated["status"] = FAILED
        return updated
    delay = retry_delay(attempts, initial, maximum)
    updated["next_attempt_at"] = iso(now + timedelta(seconds=delay))
    return updated


class SentLog:
    """Append-only list of outbox ids the server accepted but not yet marked sent."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> set[str]:
        try:
            return {line for line in self.path.read_text(encoding="utf-8").splitlines() if line}
        except FileNotFoundError:
            return set()

    def append(self, outbox_id: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, (outbox_id + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

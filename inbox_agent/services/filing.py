"""Carrying out one pipeline decision inside a unit of work (intake and quarantine
retry share it, so a retried mail is filed exactly as a fresh one)."""

from __future__ import annotations

import logging
from datetime import datetime

from inbox_agent.domain.clock import iso
from inbox_agent.pipeline.decision import Decision, raw_sha256
from inbox_agent.services.unit_of_work import UnitOfWork

log = logging.getLogger("inbox_agent.services.filing")


def file_decision(uow: UnitOfWork, decision: Decision, now: datetime) -> None:
    """Blobs and attachments are written now (content-addressed, idempotent); the case,
    the message record and the outgoing mail go into the unit's one commit."""
    for blob in decision.blobs:
        uow.keep_blob(blob)
    for safe_name, payload in decision.attachments:
        uow.keep_attachment(safe_name, payload)
    for related in decision.related:  # another case the mail only added an event to
        uow.put_case(related)
    if decision.case is not None:
        uow.put_case(decision.case)
    if decision.message is not None:
        uow.add_message(decision.message)
    for mail in decision.outgoing:
        uow.queue_mail(mail, now)


def quarantine(
    uow: UnitOfWork, decision: Decision, *, raw: bytes | None, source: str, size: int, now: datetime
) -> None:
    """Keep a mail that could not be processed, with the stage and the reason, for
    `inbox-agent quarantine` to show and retry."""
    for blob in decision.blobs:
        uow.keep_blob(blob)
    sha = raw_sha256(raw) if raw is not None else ""
    entry_id = (sha or raw_sha256(source.encode()))[:12]
    uow.changes.quarantine[entry_id] = {
        "id": entry_id,
        "key": f"q|{sha or source}",
        "at": iso(now),
        "stage": decision.quarantine_stage,
        "reason": decision.quarantine_reason,
        "raw_sha256": sha,
        "source": source,
        "size": size,
    }
    log.warning("quarantined %s at %s: %s", source, decision.quarantine_stage, decision.quarantine_reason)

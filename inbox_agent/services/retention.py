"""Retention: raw mail and attachments of cases resolved long ago are deleted.

The case, its events and the message records (metadata and capped text) stay; the raw ``.eml`` files and attachments — the full personal data —
go once a case has been resolved for ``storage.retention_days``. A blob that a case
still inside its retention period also refers to is kept.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from inbox_agent.adapters.tinydb_store import Changes, Store
from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.domain.model import Case, CaseStatus, Event

log = logging.getLogger("inbox_agent.services.retention")
PURGED_FLAG = "raw_purged"


@dataclass(frozen=True)
class PurgeReport:
    cases: int
    blobs: int
    attachments: int


def due_for_purge(cases: Iterable[Case], now: datetime, days: int) -> list[Case]:
    """Pure: resolved cases whose last change is older than the retention period."""
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


def purge(store: Store, now: datetime, days: int) -> PurgeReport:
    with store.write_lock():
        cases = list(store.iter_cases())
        doomed = due_for_purge(cases, now, days)
        if not doomed:
            return PurgeReport(0, 0, 0)
        doomed_ids = {case.case_id for case in doomed}
        keep_blobs: set[str] = set()
        keep_attachments: set[str] = set()
        drop_blobs: set[str] = set()
        drop_attachments: set[str] = set()
        for case in cases:
            for message in store.case_messages(case.case_id):
                blobs, attachments = (
                    (drop_blobs, drop_attachments)
                    if case.case_id in doomed_ids
                    else (keep_blobs, keep_attachments)
                )
                blobs.add(message.raw_sha256)
                attachments.update(item[1] for item in message.attachments)
        removed_blobs = sum(_unlink(store.blob_path(sha)) for sha in drop_blobs - keep_blobs)
        removed_attachments = sum(
            _unlink(store.attachments_dir / name[:2] / name) for name in drop_attachments - keep_attachments
        )
        changes = Changes()
        at = iso(now)
        for case in doomed:
            event = Event(at=at, kind="raw_purged", actor="system", detail=f"retention {days} days")
            changes.put_case(replace(case, flags=case.flags + (PURGED_FLAG,), events=case.events + (event,)))
        store.commit(changes)
    log.info(
        "retention: purged raw mail of %d cases (%d files)", len(doomed), removed_blobs + removed_attachments
    )
    return PurgeReport(len(doomed), removed_blobs, removed_attachments)


def _unlink(path: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return 1
    return 0

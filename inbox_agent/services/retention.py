"""The retention use case: delete the raw mail and attachments of cases resolved
longer than ``storage.retention_days`` ago, and mark those cases, in one commit.

A blob that a case still inside its retention period also refers to is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import add_event
from inbox_agent.domain.model import Case
from inbox_agent.policies.retention import PURGED_FLAG, due_for_purge
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unit_of_work import UnitOfWork

log = logging.getLogger("inbox_agent.services.retention")


@dataclass(frozen=True)
class PurgeReport:
    cases: int
    blobs: int
    attachments: int


def purge(store: CaseStore, now: datetime, days: int) -> PurgeReport:
    with UnitOfWork(store) as uow:
        cases = list(store.iter_cases())
        doomed = due_for_purge(cases, now, days)
        if not doomed:
            return PurgeReport(0, 0, 0)
        blobs, attachments = _files_only_of(store, cases, {case.case_id for case in doomed})
        removed_blobs = store.delete_blobs(blobs)
        removed_attachments = sum(store.delete_attachment(name) for name in attachments)
        for case in doomed:
            uow.put_case(_purged(case, now, days))
        uow.commit()
    log.info(
        "retention: purged raw mail of %d cases (%d files)", len(doomed), removed_blobs + removed_attachments
    )
    return PurgeReport(len(doomed), removed_blobs, removed_attachments)


def _files_only_of(store: CaseStore, cases: list[Case], doomed: set[str]) -> tuple[set[str], set[str]]:
    """Blob hashes and attachment names that only the doomed cases refer to."""
    keep: tuple[set[str], set[str]] = (set(), set())
    drop: tuple[set[str], set[str]] = (set(), set())
    for case in cases:
        blobs, attachments = drop if case.case_id in doomed else keep
        for message in store.case_messages(case.case_id):
            blobs.add(message.raw_sha256)
            attachments.update(item[1] for item in message.attachments)
    return drop[0] - keep[0], drop[1] - keep[1]


def _purged(case: Case, now: datetime, days: int) -> Case:
    # Through the lifecycle: the purge is an event, and moves updated_at like any other.
    return add_event(
        case, iso(now), "raw_purged", "system", f"retention {days} days", flags=case.flags + (PURGED_FLAG,)
    )

"""The retention use case: delete the raw mail and attachments of cases resolved
longer than ``storage.retention_days`` ago, and mark those cases, in one commit.

A blob that a case still inside its retention period also refers to is kept. A case
with a mail still waiting in the outbox is left for a later run (the reply goes out
first); the mails of a case that the server refused for good leave the outbox with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import add_event
from inbox_agent.domain.model import Case
from inbox_agent.policies.retention import PURGED_FLAG, due_for_purge, still_sending
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unit_of_work import UnitOfWork

log = logging.getLogger("inbox_agent.services.retention")


@dataclass(frozen=True)
class PurgeReport:
    cases: int
    blobs: int
    attachments: int
    deferred: int = 0  # due, but a mail of the case still waits in the outbox
    unsent_dropped: int = 0  # mails the server refused for good, erased with their case


def purge(store: CaseStore, now: datetime, days: int) -> PurgeReport:
    with UnitOfWork(store) as uow:
        cases = list(store.iter_cases())
        due = _holding_raw_mail(store, due_for_purge(cases, now, days))
        outbox = store.outbox_entries()
        sending = still_sending(outbox)
        doomed = [case for case in due if case.case_id not in sending]
        deferred = len(due) - len(doomed)
        if not doomed:
            return PurgeReport(0, 0, 0, deferred)
        doomed_ids = {case.case_id for case in doomed}
        unsent = [entry for entry in outbox if entry["case_id"] in doomed_ids]
        blobs, attachments = _files_only_of(store, cases, doomed_ids, outbox)
        removed_blobs = store.delete_blobs(blobs)
        removed_attachments = sum(store.delete_attachment(name) for name in attachments)
        uow.changes.outbox_removed.update(entry["outbox_id"] for entry in unsent)
        for case in doomed:
            dropped = sum(1 for entry in unsent if entry["case_id"] == case.case_id)
            uow.put_case(_purged(case, now, days, dropped))
        uow.commit()
    log.info(
        "retention: purged raw mail of %d cases (%d files)", len(doomed), removed_blobs + removed_attachments
    )
    return PurgeReport(len(doomed), removed_blobs, removed_attachments, deferred, len(unsent))


def _files_only_of(
    store: CaseStore, cases: list[Case], doomed: set[str], outbox: list[dict[str, Any]]
) -> tuple[set[str], set[str]]:
    """Blob hashes and attachment names that only the doomed cases refer to: their
    messages and their mails left in the outbox. Files are stored by content, so the
    same company logo can belong to a doomed case and to mail filed under no case (a
    colleague's out-of-office): that mail keeps it, or `verify` finds it missing."""
    keep: tuple[set[str], set[str]] = (set(), set())
    drop: tuple[set[str], set[str]] = (set(), set())
    filed = [(case.case_id, store.case_messages(case.case_id)) for case in cases]
    for case_id, messages in [*filed, ("", store.unfiled_messages())]:
        blobs, attachments = drop if case_id in doomed else keep
        for message in messages:
            blobs.add(message.raw_sha256)
            attachments.update(item[1] for item in message.attachments)
    for entry in outbox:
        (drop if entry["case_id"] in doomed else keep)[0].add(entry["raw_sha256"])
    return drop[0] - keep[0], drop[1] - keep[1]


def _holding_raw_mail(store: CaseStore, cases: list[Case]) -> list[Case]:
    """The cases not purged yet, and those purged before that hold raw mail again (the
    customer reopened the case, or a reply went out late): the flag alone would keep
    that mail forever."""
    again = {
        case.case_id: {message.raw_sha256 for message in store.case_messages(case.case_id)}
        for case in cases
        if PURGED_FLAG in case.flags
    }
    held = store.held_blobs(set().union(*again.values())) if again else set()
    return [case for case in cases if case.case_id not in again or again[case.case_id] & held]


def _purged(case: Case, now: datetime, days: int, unsent_dropped: int) -> Case:
    # Through the lifecycle: the purge is an event, and moves updated_at like any other.
    detail = f"retention {days} days"
    if unsent_dropped:
        detail += f"; {unsent_dropped} mail(s) the server refused, never sent, erased too"
    flags = case.flags if PURGED_FLAG in case.flags else case.flags + (PURGED_FLAG,)
    return add_event(case, iso(now), "raw_purged", "system", detail, flags=flags)

"""The retention use case: delete the raw mail and attachments of cases resolved
longer than ``storage.retention_days`` ago, and of mail filed under no case received
longer ago than that; mark those cases and messages, in one commit.

A file that a case still inside its retention period, or newer mail of no case, also
refers to is kept. A case with a mail still waiting in the outbox is left for a later
run (the reply goes out first); the mails of a case that the server refused for good
leave the outbox with it. Mail of no case is marked on its record (``raw_purged`` in its
flags, as a case is), so `verify` and `backup` no longer expect its files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import add_event
from inbox_agent.domain.model import Case, MessageRecord
from inbox_agent.policies.retention import PURGED_FLAG, due_for_purge, still_sending, unfiled_due_for_purge
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
    unfiled: int = 0  # mails filed under no case (auto-replies, bounces, lists) erased


def purge(store: CaseStore, now: datetime, days: int) -> PurgeReport:
    with UnitOfWork(store) as uow:
        cases = list(store.iter_cases())
        due = _holding_raw_mail(store, due_for_purge(cases, now, days))
        outbox = store.outbox_entries()
        sending = still_sending(outbox)
        doomed = [case for case in due if case.case_id not in sending]
        deferred = len(due) - len(doomed)
        unfiled = store.unfiled_messages()
        expired = unfiled_due_for_purge(unfiled, now, days)
        if not doomed and not expired:
            return PurgeReport(0, 0, 0, deferred)
        doomed_ids = {case.case_id for case in doomed}
        unsent = [entry for entry in outbox if entry["case_id"] in doomed_ids]
        blobs, attachments = _files_only_of(store, cases, doomed_ids, unfiled, expired, outbox)
        removed_blobs = store.delete_blobs(blobs)
        removed_attachments = sum(store.delete_attachment(name) for name in attachments)
        uow.changes.outbox_removed.update(entry["outbox_id"] for entry in unsent)
        for case in doomed:
            dropped = sum(1 for entry in unsent if entry["case_id"] == case.case_id)
            uow.put_case(_purged(case, now, days, dropped))
        for message in expired:
            uow.add_message(replace(message, flags=(*message.flags, PURGED_FLAG)))
        uow.commit()
    log.info(
        "retention: purged raw mail of %d cases and %d mails of no case (%d files)",
        len(doomed),
        len(expired),
        removed_blobs + removed_attachments,
    )
    return PurgeReport(
        len(doomed), removed_blobs, removed_attachments, deferred, len(unsent), unfiled=len(expired)
    )


def _files_only_of(
    store: CaseStore,
    cases: list[Case],
    doomed: set[str],
    unfiled: list[MessageRecord],
    expired: list[MessageRecord],
    outbox: list[dict[str, Any]],
) -> tuple[set[str], set[str]]:
    """Blob hashes and attachment names that only the doomed cases and the expired mail
    of no case refer to: their messages and the doomed cases' mails left in the outbox.
    Files are stored by content, so the same company logo can belong to a doomed case,
    an out-of-office of last year and one of yesterday: what still needs it keeps it, or
    `verify` finds it missing. Mail of no case purged before needs nothing, nor does
    a case purged before, but for the messages whose raw mail it holds again (mail
    after it was reopened): else a logo its old complaint shared with an out-of-office
    would stay for as long as the case record does."""
    keep: tuple[set[str], set[str]] = (set(), set())
    drop: tuple[set[str], set[str]] = (set(), set())
    filed = {case.case_id: store.case_messages(case.case_id) for case in cases}
    purged = {case.case_id for case in cases if PURGED_FLAG in case.flags} - doomed
    held = store.held_blobs({m.raw_sha256 for case_id in purged for m in filed[case_id]}) if purged else set()
    for case_id, messages in filed.items():
        if case_id in doomed:
            _claim(drop, messages)
        else:
            _claim(keep, [m for m in messages if case_id not in purged or m.raw_sha256 in held])
    expired_keys = {message.key for message in expired}
    _claim(drop, expired)
    _claim(keep, [m for m in unfiled if m.key not in expired_keys and PURGED_FLAG not in m.flags])
    for entry in outbox:
        (drop if entry["case_id"] in doomed else keep)[0].add(entry["raw_sha256"])
    # A quarantined mail is never filed as well (the same bytes are a duplicate of it),
    # but its bytes are all there is of it: never erased by retention.
    keep[0].update(entry["raw_sha256"] for entry in store.quarantine_entries() if entry.get("raw_sha256"))
    return drop[0] - keep[0], drop[1] - keep[1]


def _claim(files: tuple[set[str], set[str]], messages: Iterable[MessageRecord]) -> None:
    for message in messages:
        files[0].add(message.raw_sha256)
        files[1].update(item[1] for item in message.attachments)


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

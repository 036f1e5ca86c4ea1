"""Quarantine retry and drop.

Retry runs a quarantined mail through the intake pipeline again (after Mailman 3's
shunt queue: the service that put a mail aside owns putting it back). Success files
it exactly as a fresh mail and removes the entry, in one commit.

Drop is for mail staff decide is nothing to keep (junk, a test, a mail sent to the
wrong address): the entry goes, its bytes are erased, and a record of who dropped it,
when and why stays in the dropped log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import Decision, Incoming
from inbox_agent.pipeline.process import process
from inbox_agent.services.filing import file_decision
from inbox_agent.services.intake import batch_view
from inbox_agent.services.ports import CaseStore, DroppedLog
from inbox_agent.services.unit_of_work import UnitOfWork


class RetryRefused(Exception):
    """The entry does not exist, or its mail was never downloaded."""


@dataclass(frozen=True)
class RetryResult:
    entry_id: str
    decision: Decision

    @property
    def still_failing(self) -> bool:
        return self.decision.outcome == "quarantined"


def retry_quarantined(
    store: CaseStore,
    config: Config,
    templates: TemplateSet,
    entry_id: str,
    now: datetime,
    dropped: DroppedLog | None = None,
) -> RetryResult:
    with UnitOfWork(store) as uow:
        entry = next((e for e in store.quarantine_entries() if e["id"] == entry_id), None)
        if entry is None:
            record = dropped_record(dropped, entry_id) if dropped is not None else None
            if record is not None:
                raise RetryRefused(
                    f"{entry_id} was dropped by {record['dropped_by']} at {record['dropped_at']} "
                    f"({record['drop_reason']}); its bytes are erased"
                )
            raise RetryRefused(f"no quarantine entry {entry_id}")
        if not entry.get("raw_sha256"):
            raise RetryRefused(
                "this mail was never downloaded (too large); raise mailbox.max_message_size and re-deliver it"
            )
        view = batch_view(store)
        view.known_hashes = set(view.known_hashes) - {entry["raw_sha256"]}
        incoming = Incoming(store.get_blob(entry["raw_sha256"]), entry["source"], parse_iso(entry["at"]))
        decision = process(incoming, view, config, templates, now)
        if decision.outcome != "quarantined":
            file_decision(uow, decision, now)
            uow.changes.quarantine_removed.add(entry["id"])
            uow.changes.next_case_seq = view.next_seq
            uow.commit()
    return RetryResult(entry_id, decision)


class DropRefused(Exception):
    """No such entry, or no reason given."""


@dataclass(frozen=True)
class DropResult:
    record: dict[str, Any]  # what stays of the mail: who dropped it, when, why, and what it was
    erased: int  # raw mails erased now (0: the bytes were gone already)
    again: bool  # dropped before: only bytes a cut-off drop left behind were erased


def drop_quarantined(
    store: CaseStore, dropped: DroppedLog, entry_id: str, reason: str, actor: str, now: datetime
) -> DropResult:
    """Staff decide a quarantined mail is nothing to keep (junk, a test, a mail sent to
    the wrong address): its record goes to the dropped log first, then the entry leaves
    the store in one commit, then its bytes are erased. Cut off anywhere, the same
    command again finishes it (the record is found, the bytes erased); re-delivered,
    the same mail is quarantined anew, as any new mail."""
    why = " ".join(reason.split())
    if not why:
        raise DropRefused("say why (--reason): the record of a dropped mail keeps it")
    with UnitOfWork(store) as uow:
        entry = next((e for e in store.quarantine_entries() if e["id"] == entry_id), None)
        if entry is None:
            earlier = dropped_record(dropped, entry_id)
            if earlier is None:
                raise DropRefused(f"no quarantine entry {entry_id}")
            return DropResult(earlier, _erase(store, earlier), again=True)
        record = {key: entry.get(key, "") for key in DROPPED_FIELDS} | {
            "dropped_at": iso(now),
            "dropped_by": actor,
            "drop_reason": why[:500],
        }
        dropped.record(record)  # durable before the entry goes: a drop is never unrecorded
        uow.changes.quarantine_removed.add(entry_id)
        uow.commit()
        # A quarantined mail's bytes are its entry's alone: the same bytes arriving again
        # are a duplicate of it (never filed), and a retry that files it removes the entry.
        return DropResult(record, _erase(store, record), again=False)


# What a dropped entry's record keeps of it: never the bytes, nor the text.
DROPPED_FIELDS = ("id", "at", "stage", "reason", "source", "size", "raw_sha256")


def dropped_record(dropped: DroppedLog, entry_id: str) -> dict[str, Any] | None:
    """The latest record of ``entry_id`` in the dropped log (the same mail, re-delivered
    and quarantined again, may be dropped twice)."""
    return next((r for r in reversed(dropped.entries()) if r["id"] == entry_id), None)


def _erase(store: CaseStore, record: dict[str, Any]) -> int:
    sha = record.get("raw_sha256")
    return store.delete_blobs({sha}) if sha else 0

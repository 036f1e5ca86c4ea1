"""Quarantine retry: run a quarantined mail through the intake pipeline again
(after Mailman 3's shunt queue: the service that put a mail aside owns putting it
back). Success files it exactly as a fresh mail and removes the entry, in one commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import parse_iso
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import Decision, Incoming
from inbox_agent.pipeline.process import process
from inbox_agent.services.filing import file_decision
from inbox_agent.services.intake import batch_view
from inbox_agent.services.ports import CaseStore
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
    store: CaseStore, config: Config, templates: TemplateSet, entry_id: str, now: datetime
) -> RetryResult:
    with UnitOfWork(store) as uow:
        entry = next((e for e in store.quarantine_entries() if e["id"] == entry_id), None)
        if entry is None:
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

"""The quarantine from the web app: see what the daemon could not process, retry it or
drop it — through the same services as `inbox-agent quarantine retry|drop`, each one
commit, each written to the audit log.

Who may act: a supervisor. A retry files the mail as a new case and answers the
customer; a drop erases the customer's mail for good. Both are decisions about mail
nobody has triaged yet, and a complaints officer wants them taken by the people who
answer for the inbox. Agents see the page, read-only, so a missing complaint can be
found there and brought to a supervisor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.mail.render import TemplateSet
from inbox_agent.services.ports import CaseStore, DroppedLog
from inbox_agent.services.quarantine import DropRefused, RetryRefused, drop_quarantined, retry_quarantined
from inbox_agent.services.web_actions import ActionRefused, Actor, Forbidden, record_done
from inbox_agent.services.web_ports import AuditLog
from inbox_agent.views.page import service_timezone
from inbox_agent.views.quarantine import (
    HEADER_BYTES,
    DroppedRow,
    QuarantineRow,
    dropped_rows,
    quarantine_rows,
)

# The page lists the oldest entries first (a quarantined complaint is a customer nobody
# has answered) and this many at most: each row reads the first HEADER_BYTES of its
# mail (``blob_heads``), never the whole mail, which may be tens of megabytes.
PAGE_ROWS = 200
DROPPED_SHOWN = 50


@dataclass(frozen=True)
class QuarantinePage:
    rows: list[QuarantineRow]
    total: int  # entries in the store; more than len(rows) when the page is cut
    dropped: list[DroppedRow]  # newest first, at most DROPPED_SHOWN
    dropped_total: int


def may_handle_quarantine(actor: Actor) -> bool:
    return actor.role == "supervisor"


class QuarantineDesk:
    def __init__(self, store: CaseStore, config: Config, dropped: DroppedLog, audit: AuditLog) -> None:
        self.store = store
        self.config = config
        self.dropped = dropped
        self.audit = audit
        self.tz = service_timezone(config.sla.timezone)

    def count(self) -> int:
        """Entries waiting (the queue page's banner: staff would not look otherwise)."""
        return len(self.store.quarantine_entries())

    def page(self) -> QuarantinePage:
        entries = self.store.quarantine_entries()
        shown = entries[:PAGE_ROWS]
        records = self.dropped.entries()
        return QuarantinePage(
            rows=quarantine_rows(shown, self._heads(shown), self.tz),
            total=len(entries),
            dropped=dropped_rows(records[-DROPPED_SHOWN:], self.tz),
            dropped_total=len(records),
        )

    def retry(self, actor: Actor, entry_id: str, now: datetime, client: str) -> str:
        """Run the mail through the intake again; what happened, in words."""
        entry = self._audit_entry(actor, entry_id, "retry", now, client)
        self._allowed(actor, entry)
        # The template folder is read afresh, as `inbox-agent quarantine retry` does: a
        # retry follows a fix, often of a template, and the web app's own set is
        # compiled once at its start.
        templates = TemplateSet(self.config.templates_dir)
        try:
            result = retry_quarantined(self.store, self.config, templates, entry_id, now, self.dropped)
        except RetryRefused as exc:
            self.audit.record({**entry, "outcome": "refused", "reason": str(exc)})
            raise ActionRefused(str(exc)) from exc
        decision = result.decision
        if result.still_failing:
            reason = f"still failing at {decision.quarantine_stage}: {decision.quarantine_reason}"
            self.audit.record({**entry, "outcome": "still failing", "reason": reason})
            raise ActionRefused(f"{entry_id} {reason}; it stays in the quarantine")
        record_done(self.audit, {**entry, "outcome": "ok"})
        case = f" {decision.case.case_id}" if decision.case is not None else ""
        return f"{entry_id} retried: {decision.outcome.replace('_', ' ')}{case}"

    def drop(self, actor: Actor, entry_id: str, reason: str, now: datetime, client: str) -> str:
        """Erase the mail, keeping the record of who, when and why."""
        entry = self._audit_entry(actor, entry_id, "drop", now, client)
        self._allowed(actor, entry)
        try:
            result = drop_quarantined(self.store, self.dropped, entry_id, reason, actor.name, now)
        except DropRefused as exc:
            self.audit.record({**entry, "outcome": "refused", "reason": str(exc)})
            raise ActionRefused(str(exc)) from exc
        record_done(self.audit, {**entry, "outcome": "ok", "reason": result.record["drop_reason"]})
        if result.again:
            return f"{entry_id} was dropped already, by {result.record['dropped_by']}"
        if not result.record["raw_sha256"]:
            return f"{entry_id} dropped: it was never downloaded; the record is kept"
        return f"{entry_id} dropped: its bytes are erased, the record is kept"

    def _allowed(self, actor: Actor, entry: dict[str, Any]) -> None:
        if not may_handle_quarantine(actor):
            self.audit.record({**entry, "outcome": "forbidden"})
            raise Forbidden("only a supervisor retries or drops quarantined mail")

    def _heads(self, entries: list[dict[str, Any]]) -> dict[str, bytes | str]:
        shas = {entry["raw_sha256"] for entry in entries if entry.get("raw_sha256")}
        return self.store.blob_heads(shas, HEADER_BYTES)

    @staticmethod
    def _audit_entry(actor: Actor, entry_id: str, action: str, now: datetime, client: str) -> dict[str, Any]:
        return {
            "at": iso(now),
            "event": "quarantine",
            "user": actor.name,
            "entry": entry_id,
            "action": action,
            "client": client,
        }

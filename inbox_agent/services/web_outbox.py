"""The outbox from the web app: mail that did not go out, why, and a retry once the
cause is fixed — through the same service as `inbox-agent outbox retry`, one commit,
written to the audit log.

Who may retry: a supervisor, as for the quarantine. A retry sends a customer mail
that was refused for good; whether the cause is really fixed (the customer's address,
the relay's password) is a decision for the people who answer for the inbox. Agents
see the page read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.outbox import FAILED
from inbox_agent.services.outbox_retry import RetryRefused, RetrySelection, retry_failed_mail
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.web_actions import ActionRefused, Actor, Forbidden, record_done
from inbox_agent.services.web_ports import AuditLog
from inbox_agent.views.outbox import OutboxRow, outbox_rows
from inbox_agent.views.page import service_timezone

# A wrong relay password for a day fails thousands of mails: the page lists the oldest
# this many (failed first) and offers to send every failed mail again at once.
PAGE_ROWS = 200


@dataclass(frozen=True)
class OutboxPage:
    rows: list[OutboxRow]  # failed mail and mail retried after an error, at most PAGE_ROWS
    total: int  # all such mail; more than len(rows) when the page is cut
    failed: int
    waiting: int  # pending mail not tried yet: the next send takes it


def may_retry_mail(actor: Actor) -> bool:
    return actor.role == "supervisor"


class OutboxDesk:
    def __init__(self, store: CaseStore, config: Config, audit: AuditLog) -> None:
        self.store = store
        self.audit = audit
        self.tz = service_timezone(config.sla.timezone)

    def failed_count(self) -> int:
        """Mail refused for good (the queue page's banner: nothing sends it on its own)."""
        return sum(1 for entry in self.store.outbox_entries() if entry["status"] == FAILED)

    def page(self) -> OutboxPage:
        entries = self.store.outbox_entries()
        rows = outbox_rows(entries, self.tz)
        return OutboxPage(
            rows=rows[:PAGE_ROWS],
            total=len(rows),
            failed=sum(1 for row in rows if row.failed),
            waiting=len(entries) - len(rows),
        )

    def retry(self, actor: Actor, outbox_id: str, now: datetime, client: str) -> str:
        """Put one failed mail back to pending; what happened, in words."""
        entry = _audit_entry(actor, outbox_id, "retry", now, client)
        (retried,) = self._retried(actor, RetrySelection((outbox_id,)), entry, now)
        return (
            f"{outbox_id} put back in the outbox: the daemon's next cycle sends it to "
            f"{', '.join(retried['recipients'])}"
        )

    def retry_all(self, actor: Actor, now: datetime, client: str) -> str:
        """Every failed mail back to pending at once (a relay fixed after a mass failure)."""
        entry = _audit_entry(actor, "(every failed mail)", "retry_all", now, client)
        retried = self._retried(actor, RetrySelection(all_failed=True), entry, now)
        return f"{len(retried)} failed {'mail' if len(retried) == 1 else 'mails'} put back in the outbox: the daemon's next cycle sends them"

    def _retried(
        self, actor: Actor, selection: RetrySelection, entry: dict[str, Any], now: datetime
    ) -> list[dict[str, Any]]:
        if not may_retry_mail(actor):
            self.audit.record({**entry, "outcome": "forbidden"})
            raise Forbidden("only a supervisor sends failed mail again")
        try:
            retried = retry_failed_mail(self.store, selection, actor.name, now)
        except RetryRefused as exc:
            self.audit.record({**entry, "outcome": "refused", "reason": str(exc)})
            raise ActionRefused(str(exc)) from exc
        record_done(self.audit, {**entry, "outcome": "ok", "mails": [e["outbox_id"] for e in retried]})
        return retried


def _audit_entry(actor: Actor, item: str, action: str, now: datetime, client: str) -> dict[str, Any]:
    return {
        "at": iso(now),
        "event": "outbox",
        "user": actor.name,
        "entry": item,
        "action": action,
        "client": client,
    }

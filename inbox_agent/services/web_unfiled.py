"""Mail kept on no case, from the web app: see it, and file one as a complaint —
through the same service as `inbox-agent unfiled file`, one commit, in the audit log.

Who may file: a supervisor, as for the quarantine (services/web_quarantine.py): filing
answers the sender and opens a case on the strength of staff's reading alone. Agents
see the page, read-only, so a complaint taken for machine mail can be found there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.unfiled import unfiled_id, why_not_fileable
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unfiled import FileRefused, file_as_complaint
from inbox_agent.services.web_actions import ActionRefused, Actor, Forbidden, record_done
from inbox_agent.services.web_ports import AuditLog
from inbox_agent.views.page import service_timezone
from inbox_agent.views.unfiled import EXCERPT, unfiled_listing
from inbox_agent.views.words import local_time

PAGE_ROWS = 200  # newest first; `inbox-agent unfiled --limit 0` lists them all


@dataclass(frozen=True)
class UnfiledRow:
    entry_id: str
    received: str  # in the service's time zone
    reason: str
    detail: str  # the reason's detail: why a staff forward was not filed ("" = none)
    sender: str  # masked, as everything below
    subject: str
    text: str
    never_filed: str  # why it can never be filed ("" = a supervisor may file it)


@dataclass(frozen=True)
class UnfiledPage:
    rows: list[UnfiledRow]
    matching: int  # mail kept for the reason asked for (all reasons: every one)
    by_reason: dict[str, int]
    reason: str  # the reason asked for, "" = all


def may_file_unfiled(actor: Actor) -> bool:
    return actor.role == "supervisor"


class UnfiledDesk:
    def __init__(self, store: CaseStore, config: Config, audit: AuditLog) -> None:
        self.store = store
        self.config = config
        self.audit = audit
        self.tz = service_timezone(config.sla.timezone)

    def page(self, reason: str = "") -> UnfiledPage:
        listing = unfiled_listing(self.store.unfiled_messages(), reason, PAGE_ROWS)
        rows = [
            UnfiledRow(
                entry_id=unfiled_id(message),
                received=local_time(message.received_at, self.tz),
                reason=message.skip,
                detail=message.skip_detail,
                sender=message.sender,
                subject=message.subject,
                text=" ".join(message.text.split())[:EXCERPT],
                never_filed=why_not_fileable(message),
            )
            for message in listing.shown
        ]
        return UnfiledPage(rows, listing.matching, listing.by_reason, reason)

    def file(self, actor: Actor, entry_id: str, now: datetime, client: str) -> str:
        """File the mail as a complaint; what happened, in words."""
        entry = {
            "at": iso(now),
            "event": "unfiled",
            "user": actor.name,
            "entry": entry_id,
            "action": "file",
            "client": client,
        }
        if not may_file_unfiled(actor):
            self.audit.record({**entry, "outcome": "forbidden"})
            raise Forbidden("only a supervisor files kept mail as a complaint")
        # Read afresh, as `quarantine retry` does: the web app's own set is compiled at start.
        templates = TemplateSet(self.config.templates_dir)
        try:
            decision = file_as_complaint(self.store, self.config, templates, entry_id, actor.name, now)
        except FileRefused as exc:
            self.audit.record({**entry, "outcome": "refused", "reason": str(exc)})
            raise ActionRefused(f"{entry_id} not filed: {exc}") from exc
        assert decision.case is not None, "a filed mail is on a case"
        record_done(self.audit, {**entry, "outcome": "ok", "case": decision.case.case_id})
        return f"{entry_id} filed on {decision.case.case_id}: {decision.summary}"

"""A complaint taken by phone, by letter, in a branch, ... logged from the web app: the
same service as `inbox-agent open` (services/logged.py), one commit, in the audit log.

Who may log: any signed-in staff member. Taking a complaint down is everyday work, and
what it does is what the customer's own mail would have done.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.logged import CHANNELS, LoggedComplaint, parse_local_time
from inbox_agent.services.logged import LogRefused, log_complaint
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.web_actions import ActionRefused, Actor, record_done
from inbox_agent.services.web_ports import AuditLog
from inbox_agent.views.page import service_timezone

FIELDS = ("customer", "name", "channel", "at", "subject", "text", "token", "acknowledge")


@dataclass(frozen=True)
class NewComplaintForm:
    """The form as shown: empty with a fresh token, or as entered when refused."""

    values: Mapping[str, str]
    channels: tuple[str, ...]
    timezone: str


@dataclass(frozen=True)
class Logged:
    case_id: str  # "" when the form had been sent before (nothing changed)
    summary: str


class NewComplaintDesk:
    def __init__(self, store: CaseStore, config: Config, audit: AuditLog) -> None:
        self.store = store
        self.config = config
        self.audit = audit

    def form(self, now: datetime, entered: Mapping[str, str] | None = None) -> NewComplaintForm:
        timezone = self.config.sla.timezone
        fresh = {
            "channel": "phone",
            "at": now.astimezone(service_timezone(timezone)).strftime("%Y-%m-%dT%H:%M"),
            "acknowledge": "1",
            "token": secrets.token_urlsafe(18),
        }
        values = {name: "" for name in FIELDS} | (dict(entered) if entered is not None else fresh)
        return NewComplaintForm(values, CHANNELS, timezone)

    def log(self, actor: Actor, fields: Mapping[str, str], now: datetime, client: str) -> Logged:
        """Log the complaint as entered; ActionRefused says what to correct."""
        entry = {
            "at": iso(now),
            "event": "new_complaint",
            "user": actor.name,
            "entry": fields.get("token", "")[:64],  # the form's one-time token
            "client": client,
        }
        try:
            complaint = self._complaint(fields)
            # Read afresh, as `quarantine retry` does: the web app's own set is compiled at start.
            templates = TemplateSet(self.config.templates_dir)
            decision = log_complaint(self.store, self.config, templates, complaint, actor.name, now)
        except (ValueError, LogRefused) as exc:
            self.audit.record({**entry, "outcome": "refused", "reason": str(exc)})
            raise ActionRefused(f"not logged: {exc}") from exc
        case_id = decision.case.case_id if decision.case else ""
        record_done(self.audit, {**entry, "outcome": decision.outcome, "case": case_id})
        return Logged(case_id, decision.summary)

    def _complaint(self, fields: Mapping[str, str]) -> LoggedComplaint:
        return LoggedComplaint(
            customer=fields.get("customer", "").strip(),
            customer_name=fields.get("name", "").strip(),
            channel=fields.get("channel", ""),
            received_at=parse_local_time(fields.get("at", ""), self.config.sla.timezone, what="the time"),
            subject=fields.get("subject", ""),
            text=fields.get("text", ""),
            token=fields.get("token", ""),
            acknowledge=fields.get("acknowledge", "") == "1",
        )

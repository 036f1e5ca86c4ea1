"""The escalation sweep at the edge: read the cases, run the pure sweep, commit once.

The case changes (level, status, events, flags) and the queued staff notifications
are one unit of work: either a level is recorded *and* its mail is in the
outbox, or neither is, so a crash can neither lose a notification nor send one twice.
The daemon runs it every ``escalation.sweep_interval``; ``inbox-agent escalate``
runs it once, at a simulated instant if asked.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.model import CaseStatus, MessageRecord
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.escalation import Fired, last_customer_message, needs_attention, sweep
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.unit_of_work import UnitOfWork

log = logging.getLogger("inbox_agent.escalate")


@dataclass(frozen=True)
class SweepReport:
    fired: tuple[Fired, ...]
    flagged: tuple[str, ...]  # case ids newly flagged outside the complaint window
    queued: int  # notifications put in the outbox
    examined: int  # cases whose clock was running or that could be flagged
    dry_run: bool = False  # nothing was written or queued: report what *would* happen


def run_sweep(
    config: Config,
    store: CaseStore,
    templates: TemplateSet,
    now: datetime,
    *,
    send_from: datetime | None = None,
    dry_run: bool = False,
) -> SweepReport:
    """One sweep at ``now``. ``send_from`` is when the outbox may send the mails (default
    ``now``): a replay at a future ``--now`` must not hold them back until that instant."""
    with UnitOfWork(store, dry_run=dry_run) as uow:
        # Resolved cases have no clock: only the index's active cases are read.
        active = [
            case for case in store.iter_cases(store.index.active_cases) if case.status != CaseStatus.RESOLVED
        ]
        changing = [case for case in active if needs_attention(case, config, now)]
        last_messages: dict[str, MessageRecord | None] = {
            case.case_id: last_customer_message(case, store.case_messages(case.case_id)) for case in changing
        }
        # A fresh salt per sweep makes the notifications' Message-IDs unguessable, so a
        # reply carrying one proves its sender received it (policies/notified.py).
        decisions = sweep(changing, config, templates, now, last_messages, salt=secrets.token_hex(16))
        queued_already = {entry["outbox_id"] for entry in store.outbox_entries()}
        queued = 0
        for decision in decisions:
            uow.put_case(decision.case)
            for mail in decision.mails:
                if mail.outbox_id not in queued_already:
                    uow.queue_mail(mail, send_from or now)
                    queued += 1
        uow.commit()
    fired = tuple(one for decision in decisions for one in decision.fired)
    verb = "would escalate" if dry_run else "escalated"
    for one in fired:
        log.warning(
            "%s %s to %s (waiting %.1fh); %s %s",
            verb,
            one.case_id,
            one.level,
            one.waited_seconds / 3600,
            "would notify" if dry_run else "notified",
            ", ".join(one.recipients) or "nobody",
        )
    flagged = tuple(decision.case.case_id for decision in decisions if decision.flagged)
    return SweepReport(fired=fired, flagged=flagged, queued=queued, examined=len(active), dry_run=dry_run)

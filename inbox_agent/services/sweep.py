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
from inbox_agent.domain.model import Case, CaseStatus, MessageRecord
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.escalation import (
    CaseDecision,
    Fired,
    last_customer_message,
    sweep,
    triage,
)
from inbox_agent.policies.regulatory import case_clocks
from inbox_agent.policies.regulatory_sweep import (
    RegulatoryDecision,
    needs_regulatory_action,
    regulatory_sweep_case,
)
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
    holding_replies: tuple[str, ...] = ()  # case ids whose holding reply was queued
    deadline_escalations: tuple[str, ...] = ()  # "CASE clock": escalated ahead of a regulatory deadline
    # "CASE: why": cases with a deadline that cannot be computed (escalation or regulatory);
    # each is logged, and every other case was swept as usual.
    unknown: tuple[str, ...] = ()


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
        # A case whose deadlines cannot be computed is set aside and reported, never a
        # stop for the sweep: one broken case must not hold back every other escalation.
        changing, unknown = triage(active, config, now)
        last_messages: dict[str, MessageRecord | None] = {
            case.case_id: last_customer_message(case, store.case_messages(case.case_id)) for case in changing
        }
        # A fresh salt per sweep makes the notifications' Message-IDs unguessable, so a
        # reply carrying one proves its sender received it (policies/notified.py).
        salt = secrets.token_hex(16)
        decisions = sweep(changing, config, templates, now, last_messages, salt=salt)
        regulatory = _regulatory(store, active, decisions, config, templates, now, last_messages, salt)
        queued = _record(uow, store, decisions, regulatory, send_from or now)
        uow.commit()
    fired = tuple(one for decision in decisions for one in decision.fired)
    _log_fired(fired, dry_run)
    flagged = tuple(decision.case.case_id for decision in decisions if decision.flagged)
    _log_regulatory(regulatory, dry_run)
    unknown_all = [*unknown.items(), *_regulatory_unknown(active, config, now)]
    _log_unknown(unknown_all)
    return SweepReport(
        fired=fired,
        flagged=flagged,
        queued=queued,
        examined=len(active),
        dry_run=dry_run,
        holding_replies=tuple(one.case.case_id for one in regulatory if one.holding_sent),
        deadline_escalations=tuple(
            f"{one.case.case_id} {one.escalated}" for one in regulatory if one.escalated
        ),
        unknown=tuple(f"{case_id}: {why}" for case_id, why in unknown_all),
    )


def _record(
    uow: UnitOfWork,
    store: CaseStore,
    decisions: list[CaseDecision],
    regulatory: list[RegulatoryDecision],
    send_from: datetime,
) -> int:
    """Put every changed case and queue its mails (each outbox id once); the number queued.
    A case changed by both sweeps is stored as the regulatory sweep left it (it started
    from the escalation sweep's result)."""
    changed = {d.case.case_id: (d.case, d.mails) for d in decisions}
    for one in regulatory:
        earlier = changed.get(one.case.case_id, (one.case, ()))[1]
        changed[one.case.case_id] = (one.case, earlier + one.mails)
    queued_already = {entry["outbox_id"] for entry in store.outbox_entries()}
    queued = 0
    for case, mails in changed.values():
        uow.put_case(case)
        for mail in mails:
            if mail.outbox_id not in queued_already:
                uow.queue_mail(mail, send_from)
                queued += 1
    return queued


def _log_fired(fired: tuple[Fired, ...], dry_run: bool) -> None:
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


def _regulatory(
    store: CaseStore,
    active: list[Case],
    decisions: list[CaseDecision],
    config: Config,
    templates: TemplateSet,
    now: datetime,
    last_messages: dict[str, MessageRecord | None],
    salt: str,
) -> list[RegulatoryDecision]:
    """Holding replies and escalations ahead of regulatory deadlines, on the cases as the
    escalation sweep left them."""
    current = {case.case_id: case for case in active} | {d.case.case_id: d.case for d in decisions}
    found: list[RegulatoryDecision] = []
    for case in current.values():
        if not case.jurisdiction or not needs_regulatory_action(case, config, now):
            continue
        if case.case_id not in last_messages:
            last_messages[case.case_id] = last_customer_message(case, store.case_messages(case.case_id))
        one = regulatory_sweep_case(case, config, templates, now, last_messages[case.case_id], salt)
        if one is not None:
            found.append(one)
    return found


def _log_regulatory(regulatory: list[RegulatoryDecision], dry_run: bool) -> None:
    would = "would " if dry_run else ""
    for one in regulatory:
        if one.holding_sent:
            log.warning("%squeue the holding reply of %s", would, one.case.case_id)
        if one.escalated:
            log.warning("%sescalate %s ahead of its %s deadline", would, one.case.case_id, one.escalated)


def _regulatory_unknown(active: list[Case], config: Config, now: datetime) -> list[tuple[str, str]]:
    """Cases with a regulatory deadline their calendar cannot compute (the case's other
    clocks were acted on)."""
    found: list[tuple[str, str]] = []
    for case in active:
        error = case_clocks(case, config, now).error if case.jurisdiction else ""
        if error:
            found.append((case.case_id, f"regulatory deadlines unknown ({case.jurisdiction}): {error}"))
    return found


def _log_unknown(unknown: list[tuple[str, str]]) -> None:
    """A deadline that cannot be computed is said on every sweep, never guessed: one line
    per cause (the same cause is shared by many cases near a year the calendar lacks)."""
    by_cause: dict[str, list[str]] = {}
    for case_id, why in unknown:
        by_cause.setdefault(why, []).append(case_id)
    for why, cases in by_cause.items():
        log.error("%d cases (%s): %s", len(cases), ", ".join(cases[:5]), why)

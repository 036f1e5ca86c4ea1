"""The escalation sweep at the edge: read the cases, run the pure sweep, commit once.

The case changes (level, status, events, flags) and the queued staff notifications
are one ``store.commit``: either a level is recorded *and* its mail is in the
outbox, or neither is, so a crash can neither lose a notification nor send one twice.
The daemon runs it every ``escalation.sweep_interval``; ``inbox-agent escalate``
runs it once, at a simulated instant if asked.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from inbox_agent.adapters.tinydb_store import Changes, Store
from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock, iso, parse_iso
from inbox_agent.domain.model import CaseStatus, MessageRecord
from inbox_agent.domain.outbox import new_entry
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.escalation import Fired, last_customer_message, needs_attention, sweep

if TYPE_CHECKING:
    from inbox_agent.entrypoints.daemon import Runtime

log = logging.getLogger("inbox_agent.escalate")


@dataclass(frozen=True)
class SweepReport:
    fired: tuple[Fired, ...]
    flagged: tuple[str, ...]  # case ids newly flagged outside the complaint window
    queued: int  # notifications put in the outbox
    examined: int  # cases whose clock was running or that could be flagged


def run_sweep(
    config: Config,
    store: Store,
    templates: TemplateSet,
    now: datetime,
    *,
    send_from: datetime | None = None,
    dry_run: bool = False,
) -> SweepReport:
    """One sweep at ``now``. ``send_from`` is when the outbox may send the mails (default
    ``now``): a replay at a future ``--now`` must not hold them back until that instant."""
    with store.write_lock():
        # Resolved cases have no clock: only the index's active cases are read.
        active = [
            case for case in store.iter_cases(store.index.active_cases) if case.status != CaseStatus.RESOLVED
        ]
        changing = [case for case in active if needs_attention(case, config, now)]
        last_messages: dict[str, MessageRecord | None] = {
            case.case_id: last_customer_message(case, store.case_messages(case.case_id)) for case in changing
        }
        decisions = sweep(changing, config, templates, now, last_messages)
        queued_already = {entry["outbox_id"] for entry in store.outbox_entries()}
        changes = Changes()
        queued = 0
        for decision in decisions:
            changes.put_case(decision.case)
            for mail in decision.mails:
                if mail.outbox_id in queued_already:
                    continue
                sha = hashlib.sha256(mail.raw).hexdigest() if dry_run else store.put_blob(mail.raw)
                changes.outbox[mail.outbox_id] = new_entry(mail, sha, send_from or now)
                queued += 1
        if not dry_run:
            store.commit(changes)
    fired = tuple(one for decision in decisions for one in decision.fired)
    for one in fired:
        log.warning(
            "escalated %s to %s (waiting %.1fh); notified %s",
            one.case_id,
            one.level,
            one.waited_seconds / 3600,
            ", ".join(one.recipients) or "nobody",
        )
    flagged = tuple(decision.case.case_id for decision in decisions if decision.flagged)
    return SweepReport(fired=fired, flagged=flagged, queued=queued, examined=len(active))


def sweep_job(runtime: Runtime) -> None:
    """The daemon's scheduled job (its notifications go out with the next send)."""
    run_sweep(runtime.config, runtime.store, runtime.runner.templates, runtime.clock.now())


# ---------------------------------------------------------------- CLI


def add_escalate_parser(sub: argparse._SubParsersAction) -> None:
    escalate = sub.add_parser("escalate", help="one escalation sweep (at a simulated time if given)")
    escalate.add_argument(
        "--now",
        help="the instant to sweep at, ISO-8601 (e.g. 2026-11-21T10:00:00+08:00); default: now",
    )
    escalate.add_argument(
        "--dry-run", action="store_true", help="show what would be escalated; write and queue nothing"
    )


def cmd_escalate(args: argparse.Namespace, config: Config) -> int:
    from rich.console import Console
    from rich.table import Table

    from inbox_agent.entrypoints.daemon import open_store

    console = Console()
    wall_now = SystemClock().now()
    try:
        now = parse_iso(args.now) if getattr(args, "now", None) else wall_now
    except ValueError:
        console.print(f"[red]--now: not an ISO-8601 instant: {args.now!r}[/red]")
        return 2
    store = open_store(config)
    report = run_sweep(
        config,
        store,
        TemplateSet(config.templates_dir),
        now,
        send_from=min(now, wall_now),
        dry_run=bool(getattr(args, "dry_run", False)),
    )
    table = Table(title=f"escalation sweep at {iso(now)}")
    for column in ("case", "level", "category", "severity", "waiting", "due", "notified"):
        table.add_column(column)
    for one in report.fired:
        table.add_row(
            one.case_id,
            one.level,
            one.category,
            one.severity,
            f"{one.waited_seconds / 3600:.1f}h",
            iso(one.due),
            ", ".join(one.recipients) or "(no recipients configured)",
        )
    if report.fired:
        console.print(table)
    console.print(_summary(report))
    return 0


def _summary(report: SweepReport) -> str:
    parts = [f"{len(report.fired)} escalations", f"{report.queued} notifications queued"]
    if report.flagged:
        parts.append(f"flagged outside the complaint window: {', '.join(report.flagged)}")
    parts.append(f"{report.examined} open cases examined")
    if report.queued:
        parts.append("the daemon sends queued mail in its next cycle")
    return "; ".join(parts)

"""`inbox-agent escalate [--now ISO] [--dry-run]`: one escalation sweep from the CLI."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock, iso, parse_iso
from inbox_agent.entrypoints.bootstrap import open_store
from inbox_agent.mail.render import TemplateSet
from inbox_agent.services.sweep import SweepReport, run_sweep


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
    console = Console(markup=False)  # case subjects are customer text, not markup
    wall_now = SystemClock().now()
    try:
        now = parse_iso(args.now) if getattr(args, "now", None) else wall_now
    except ValueError:
        console.print(f"--now: not an ISO-8601 instant: {args.now!r}", style="red")
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
    dry = report.dry_run
    table = Table(title=f"{'dry run: ' if dry else ''}escalation sweep at {iso(now)}")
    for column in (
        "case",
        "level",
        "category",
        "severity",
        "waiting",
        "due",
        "would notify" if dry else "notified",
    ):
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
    if report.dry_run:
        parts = [
            f"dry run: would escalate {len(report.fired)} cases, would queue {report.queued} notifications"
        ]
    else:
        parts = [f"{len(report.fired)} escalations", f"{report.queued} notifications queued"]
    if report.flagged:
        parts.append(f"flagged outside the complaint window: {', '.join(report.flagged)}")
    if report.holding_replies:
        parts.append(f"holding replies queued: {', '.join(report.holding_replies)}")
    if report.deadline_escalations:
        parts.append(f"escalated ahead of a regulatory deadline: {', '.join(report.deadline_escalations)}")
    parts.append(f"{report.examined} open cases examined")
    if report.queued and not report.dry_run:
        parts.append("the daemon sends queued mail in its next cycle")
    return "; ".join(parts)

"""`status` and `check`: what the daemon is doing, and whether it can work at all."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from rich.table import Table

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock, iso
from inbox_agent.domain.outbox import FAILED, troubles
from inbox_agent.entrypoints.bootstrap import make_mailbox, make_transport, open_store, storage_report
from inbox_agent.entrypoints.cli_common import EXIT_FAIL, EXIT_OK, console, flagged, print_json
from inbox_agent.mail.render import TemplateSet
from inbox_agent.views.page import TEMPLATE_SAMPLES, sla_clock
from inbox_agent.views.unfiled import unfiled_by_reason


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    store = open_store(config, read_only=True)
    status = store.status()
    outbox = store.outbox_entries()
    now = SystemClock().now()
    data = {
        "data_dir": str(store.root),
        "storage": store.storage_state(),  # disk full / permission denied, found now
        "last_poll_at": status.get("last_poll_at", ""),
        "mailbox": status.get("mailbox", "never polled"),
        "smtp": status.get("smtp", ""),
        "last_error": status.get("last_error", ""),
        "last_error_cause": status.get("last_error_cause", ""),
        "processed_total": status.get("processed_total", 0),
        "backlog": status.get("backlog", 0),
        "outbox_pending": sum(1 for e in outbox if e["status"] == "pending"),
        "outbox_failed": sum(1 for e in outbox if e["status"] == "failed"),
        # Why mail is retried or failed (a wrong SMTP password, no STARTTLS, a 550), and
        # when it is tried next: the log is not where ops look first.
        "outbox_errors": troubles(outbox),
        "quarantined": len(store.quarantine_entries()),
        # Mail kept on no case lately, by reason: a web form from a no-reply address or
        # a customer taken for an auto-reply shows up here (`inbox-agent unfiled`).
        "unfiled_last_7_days": unfiled_by_reason(store.unfiled_messages(since=iso(now - timedelta(days=7)))),
        **_active_cases(store, config, now),
    }
    if args.json:
        print_json(data)
        return EXIT_OK
    table = Table(show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if key == "outbox_errors":
            for group in value:
                table.add_row(*_trouble_row(group))
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)
    return EXIT_OK


def _active_cases(store: Any, config: Config, now: datetime) -> dict[str, Any]:
    """Open cases by status, how many are overdue, and the one waiting longest."""
    counts: dict[str, int] = {}
    oldest_waiting = ""
    overdue = 0
    clock_of = sla_clock(config, now)
    for case in store.iter_cases(store.index.active_cases):
        counts[str(case.status)] = counts.get(str(case.status), 0) + 1
        overdue += clock_of(case).overdue
        if case.awaiting_since and (not oldest_waiting or case.awaiting_since < oldest_waiting.split(" ")[0]):
            oldest_waiting = f"{case.awaiting_since} ({case.case_id})"
    return {
        "cases_by_status": counts,
        "overdue": overdue,  # past the response-time limit on the SLA clock, escalated or not
        "oldest_waiting": oldest_waiting,
    }


def _trouble_row(group: dict[str, Any]) -> tuple[str, str]:
    """One reason outbox mail is not sent: how many, why, and what happens next."""
    ids = group["outbox_ids"]
    which = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    mails = f"{group['mails']} mail{'s' if group['mails'] != 1 else ''}"
    if group["status"] == FAILED:
        then = "not tried again until `inbox-agent outbox retry` (once the cause is fixed)"
        return "outbox failed mail", f"{mails}, {then}: {group['error']} [{which}]"
    attempts = group["attempts"]
    # 0: the connection was lost under an earlier mail of its batch, this one never offered
    tried = f"{attempts} attempt{'s' if attempts != 1 else ''}" if attempts else "not offered yet"
    then = f"next attempt at {group['next_attempt_at']}"
    return "outbox retrying", f"{mails}, {then} ({tried}): {group['error']} [{which}]"


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    ok = True
    console.print(f"config: ok ({config.source})")
    problems = TemplateSet(config.templates_dir).check_all(extra_samples=TEMPLATE_SAMPLES)
    if problems:
        ok = False
        for problem in problems:
            console.print(flagged("templates:", problem))
    else:
        console.print(f"templates: ok ({config.templates_dir})")
    storage = storage_report(config)
    ok = ok and storage.usable
    console.print(f"storage: {storage.state}", style=None if storage.usable else "red")
    if storage.warning:  # a weaker file system, not a failure: the daemon still runs on it
        console.print(flagged("storage: warning:", storage.warning, style="yellow"))
    for name, target in (("mailbox", make_mailbox(config)), ("smtp", make_transport(config))):
        try:
            console.print(f"{name}: {target.check()}")
        except Exception as exc:
            ok = False
            console.print(f"{name}: {exc}", style="red")
    return EXIT_OK if ok else EXIT_FAIL

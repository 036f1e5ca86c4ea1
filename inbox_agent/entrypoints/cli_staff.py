"""Staff commands (`assign`, `note`, `reply`, `resolve`, `reopen`) and the quarantine
(`quarantine [list|retry ID|drop ID --reason R]`): each change is one service call, one commit."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.table import Table

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock
from inbox_agent.domain.mask import mask_text
from inbox_agent.entrypoints.bootstrap import dropped_quarantine_log, open_store
from inbox_agent.entrypoints.cli_common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, console, print_json
from inbox_agent.mail.render import TemplateSet
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.quarantine import DropRefused, RetryRefused, drop_quarantined, retry_quarantined
from inbox_agent.services.staff_actions import NoSuchCase, StaffAction, StaffActionError, act_on_case


def cmd_quarantine(args: argparse.Namespace, config: Config) -> int:
    if args.dropped:
        return _list_dropped(config, as_json=args.json)
    store = open_store(config)
    if args.action == "retry":
        return _quarantine_retry(store, config, args.id)
    if args.action == "drop":
        return _quarantine_drop(store, config, args)
    entries = store.quarantine_entries()
    if args.json:
        print_json(entries)
        return EXIT_OK
    table = Table()
    for column in ("id", "at", "stage", "reason", "source", "size"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            entry["id"],
            entry["at"],
            entry["stage"],
            mask_text(entry["reason"]),
            entry["source"],
            str(entry["size"]),
        )
    console.print(table)
    console.print(f"{len(entries)} quarantined")
    return EXIT_OK


def _quarantine_retry(store: CaseStore, config: Config, entry_id: str | None) -> int:
    try:
        result = retry_quarantined(
            store,
            config,
            TemplateSet(config.templates_dir),
            entry_id or "",
            SystemClock().now(),
            dropped_quarantine_log(config),
        )
    except RetryRefused as exc:
        console.print(str(exc), style="red")
        return EXIT_FAIL
    decision = result.decision
    if result.still_failing:
        console.print(
            f"still failing at {decision.quarantine_stage}: {mask_text(decision.quarantine_reason)}"
        )
        return EXIT_FAIL
    console.print(f"{result.entry_id}: {decision.summary}")
    return EXIT_OK


def _quarantine_drop(store: CaseStore, config: Config, args: argparse.Namespace) -> int:
    actor = args.by or os.environ.get("USER", "staff")
    try:
        result = drop_quarantined(
            store, dropped_quarantine_log(config), args.id, args.reason, actor, SystemClock().now()
        )
    except DropRefused as exc:
        console.print(str(exc), style="red")
        return EXIT_FAIL
    record = result.record
    if result.again:
        console.print(
            f"{record['id']} was dropped by {record['dropped_by']} at {record['dropped_at']}; "
            f"{'its left-over bytes are erased now' if result.erased else 'nothing of it is left to erase'}"
        )
    else:
        bytes_gone = "its bytes are erased" if record["raw_sha256"] else "it was never downloaded"
        console.print(f"{record['id']}: dropped by {actor} ({record['drop_reason']}); {bytes_gone}")
    return EXIT_OK


def _list_dropped(config: Config, *, as_json: bool) -> int:
    records = dropped_quarantine_log(config).entries()
    if as_json:
        print_json(records)
        return EXIT_OK
    table = Table()
    for column in ("id", "dropped at", "by", "why", "stage", "source", "size"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            record["id"],
            record["dropped_at"],
            record["dropped_by"],
            record["drop_reason"],
            record["stage"],
            record["source"],
            str(record["size"]),
        )
    console.print(table)
    console.print(f"{len(records)} dropped")
    return EXIT_OK


def cmd_staff_action(args: argparse.Namespace, config: Config) -> int:
    """assign / note / reply / resolve / reopen: an event on the case; mail is queued for the daemon."""
    if getattr(args, "file", None) and getattr(args, "text", None):
        # Which one did they mean to send? Sending one and dropping the other is a guess.
        console.print("give the text or --file, not both: nothing done", style="red")
        return EXIT_USAGE
    try:
        text = _action_text(args)
    except UnicodeDecodeError as exc:
        console.print(
            f"{args.file} is not UTF-8 text ({exc.reason} at byte {exc.start}): nothing done", style="red"
        )
        return EXIT_FAIL
    actor = args.by or os.environ.get("USER", "staff")
    action = StaffAction(
        kind=args.command,
        actor=actor,
        text=text,
        assignee=getattr(args, "name", "") or "",
        value=getattr(args, "determination", "") or "",
        redress=getattr(args, "redress", "") or "",
    )
    try:
        result = act_on_case(
            open_store(config),
            config,
            TemplateSet(config.templates_dir),
            args.case,
            action,
            SystemClock().now(),
        )
    except (NoSuchCase, StaffActionError) as exc:
        console.print(str(exc), style="red")
        return EXIT_FAIL
    updated = result.case
    queued = (
        f"; {result.queued} mail queued to {updated.customer} (sent by the daemon's next cycle)"
        if result.queued
        else ""
    )
    console.print(f"{updated.case_id}: {args.command} recorded, status {updated.status}{queued}")
    return EXIT_OK


def _action_text(args: argparse.Namespace) -> str:
    if getattr(args, "file", None):
        return Path(args.file).read_text(encoding="utf-8").strip()
    return " ".join(getattr(args, "text", None) or []).strip()

"""`outbox [list]` and `outbox retry`: the mail waiting to go out, why it has not, and
failed mail put back once ops fixed the cause (`services/outbox_retry.py`, one commit)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rich.table import Table

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock
from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.outbox import FAILED, SHOWN_ERROR, error_line
from inbox_agent.entrypoints.bootstrap import open_store
from inbox_agent.entrypoints.cli_common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, console, flagged, print_json
from inbox_agent.services.outbox_retry import RetryRefused, RetrySelection, retry_failed_mail


def add_outbox_parser(sub: argparse._SubParsersAction) -> None:
    outbox = sub.add_parser("outbox", help="mail waiting to be sent or failed, and failed mail sent again")
    actions = outbox.add_subparsers(dest="outbox_action")
    listing = actions.add_parser("list", help="every outbox mail with its state and last error (the default)")
    listing.add_argument("--failed", action="store_true", help="only mail the server refused for good")
    listing.add_argument("--case", help="only this case's mail")
    listing.add_argument("--json", action="store_true")
    retry = actions.add_parser(
        "retry", help="put failed mail back to pending once the cause is fixed; the daemon sends it"
    )
    retry.add_argument("ids", nargs="*", metavar="OUTBOX_ID", help="failed mail to retry (see `outbox list`)")
    retry.add_argument("--case", help="every failed mail of this case")
    retry.add_argument("--all-failed", action="store_true", help="every failed mail")
    retry.add_argument("--by", help="who acts (default: $USER); recorded on each case")


def cmd_outbox(args: argparse.Namespace, config: Config) -> int:
    if getattr(args, "outbox_action", None) == "retry":
        return _retry(args, config)
    return _list(args, config)


def _list(args: argparse.Namespace, config: Config) -> int:
    entries = open_store(config, read_only=True).outbox_entries()
    if getattr(args, "failed", False):
        entries = [entry for entry in entries if entry["status"] == FAILED]
    if getattr(args, "case", None):
        entries = [entry for entry in entries if entry["case_id"] == args.case]
    if getattr(args, "json", False):
        # The subject is our reply's, built on the customer's: masked, as `cases` masks it.
        print_json([{**entry, "subject": mask_text(entry.get("subject", ""))} for entry in entries])
        return EXIT_OK
    table = Table()
    for column in ("id", "case", "kind", "to", "state", "attempts", "next attempt", "last error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            entry["outbox_id"],
            entry["case_id"],
            entry["kind"],
            ", ".join(entry["recipients"]),
            entry["status"],
            str(entry["attempts"]),
            _next_attempt(entry),
            error_line(entry.get("last_error", ""), SHOWN_ERROR),
        )
    console.print(table)
    failed = sum(entry["status"] == FAILED for entry in entries)
    console.print(f"{len(entries)} in the outbox, {failed} failed")
    if failed:
        console.print(
            "once the cause is fixed: inbox-agent outbox retry OUTBOX_ID... | --case CASE | --all-failed"
        )
    return EXIT_OK


def _next_attempt(entry: dict[str, Any]) -> str:
    if entry["status"] == FAILED:
        return "none (failed: outbox retry)"
    return str(entry["next_attempt_at"])


def _retry(args: argparse.Namespace, config: Config) -> int:
    selection = RetrySelection(tuple(args.ids), args.case or "", args.all_failed)
    if not (selection.outbox_ids or selection.case_id or selection.all_failed):
        sys.stderr.write(
            "outbox retry needs OUTBOX_ID..., --case CASE or --all-failed (see `inbox-agent outbox`)\n"
        )
        return EXIT_USAGE
    actor = args.by or os.environ.get("USER", "staff")
    try:
        retried = retry_failed_mail(open_store(config), selection, actor, SystemClock().now())
    except RetryRefused as exc:
        console.print(flagged("nothing retried:"))
        for problem in exc.problems:
            console.print(f"  {problem}", style="red")
        return EXIT_FAIL
    for entry in retried:
        console.print(
            f"{entry['outbox_id']}: {entry['kind']} to {', '.join(entry['recipients'])} put back in the outbox "
            f"by {actor} (was: {error_line(entry.get('last_error', ''), SHOWN_ERROR) or 'failed'})"
        )
    console.print(f"{len(retried)} mail(s) pending again: sent by the daemon's next cycle")
    return EXIT_OK

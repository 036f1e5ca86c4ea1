"""`unfiled [list]`: mail filed under no case (views/unfiled.py), so that staff see
what the daemon kept but answered never; `unfiled file ID`: one of them is a
customer's complaint after all (services/unfiled.py, one commit)."""

from __future__ import annotations

import argparse
import os

from rich.table import Table

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock
from inbox_agent.entrypoints.bootstrap import open_store
from inbox_agent.entrypoints.cli_common import EXIT_FAIL, EXIT_OK, console, print_json, short
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.unfiled import unfiled_id
from inbox_agent.services.unfiled import FileRefused, file_as_complaint
from inbox_agent.views.unfiled import EXCERPT, unfiled_json, unfiled_listing


def add_unfiled_parser(sub: argparse._SubParsersAction) -> None:
    unfiled = sub.add_parser(
        "unfiled",
        help="mail kept on no case (auto-replies, bounces, list and no-reply mail); file one as a complaint",
    )
    unfiled.add_argument("action", nargs="?", choices=["list", "file"], default="list")
    unfiled.add_argument("id", nargs="?", help="file: the mail's id (see `inbox-agent unfiled`)")
    unfiled.add_argument("--reason", default="", help="list: only mail kept for this reason code (e.g. list)")
    unfiled.add_argument(
        "--limit", type=int, default=50, help="list: at most this many (0 = all; default 50)"
    )
    unfiled.add_argument("--by", help="file: who acts (default: $USER); recorded on the case")
    unfiled.add_argument("--json", action="store_true")


def cmd_unfiled(args: argparse.Namespace, config: Config) -> int:
    if args.action == "file":
        return _file(args, config)
    store = open_store(config, read_only=True)
    listing = unfiled_listing(store.unfiled_messages(), args.reason.strip(), max(args.limit, 0))
    if args.json:
        print_json([unfiled_json(message) for message in listing.shown])
        return EXIT_OK
    table = Table()
    for column in ("id", "received (UTC)", "reason", "sender", "subject", "text"):
        table.add_column(column, overflow="fold")
    for message in listing.shown:
        table.add_row(
            unfiled_id(message),
            message.received_at[:16].replace("T", " "),
            f"{message.skip}: {message.skip_detail}" if message.skip_detail else message.skip,
            message.sender,
            message.subject,
            short(" ".join(message.text.split()), EXCERPT),
        )
    console.print(table)
    counts = ", ".join(f"{reason} {count}" for reason, count in sorted(listing.by_reason.items())) or "none"
    console.print(
        f"{len(listing.shown)} of {listing.matching} shown; filed under no case by reason: {counts}"
    )
    return EXIT_OK


def _file(args: argparse.Namespace, config: Config) -> int:
    actor = args.by or os.environ.get("USER", "staff")
    try:
        decision = file_as_complaint(
            open_store(config), config, TemplateSet(config.templates_dir), args.id, actor, SystemClock().now()
        )
    except FileRefused as exc:
        console.print(f"{args.id}: not filed: {exc}", style="red")
        return EXIT_FAIL
    assert decision.case is not None, "a filed mail is on a case"
    console.print(f"{args.id}: filed on {decision.case.case_id} by {actor}: {decision.summary}")
    return EXIT_OK

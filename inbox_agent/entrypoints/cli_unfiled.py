"""`unfiled`: mail filed under no case (views/unfiled.py), so that staff can see what
the daemon kept but answered never and put on no case."""

from __future__ import annotations

import argparse

from rich.table import Table

from inbox_agent.config.loader import Config
from inbox_agent.entrypoints.bootstrap import open_store
from inbox_agent.entrypoints.cli_common import EXIT_OK, console, print_json, short
from inbox_agent.views.unfiled import EXCERPT, unfiled_json, unfiled_listing


def add_unfiled_parser(sub: argparse._SubParsersAction) -> None:
    unfiled = sub.add_parser(
        "unfiled",
        help="mail filed under no case (auto-replies, bounces, list and no-reply mail), newest first",
    )
    unfiled.add_argument(
        "--reason", default="", help="only mail skipped for this reason code (e.g. no_reply)"
    )
    unfiled.add_argument("--limit", type=int, default=50, help="at most this many (0 = all; default 50)")
    unfiled.add_argument("--json", action="store_true")


def cmd_unfiled(args: argparse.Namespace, config: Config) -> int:
    store = open_store(config, read_only=True)
    listing = unfiled_listing(store.unfiled_messages(), args.reason.strip(), max(args.limit, 0))
    if args.json:
        print_json([unfiled_json(message) for message in listing.shown])
        return EXIT_OK
    table = Table()
    for column in ("received (UTC)", "reason", "sender", "subject", "text"):
        table.add_column(column, overflow="fold")
    for message in listing.shown:
        text = " ".join(message.text.split())
        table.add_row(
            message.received_at[:16], message.skip, message.sender, message.subject, short(text, EXCERPT)
        )
    console.print(table)
    counts = ", ".join(f"{reason} {count}" for reason, count in sorted(listing.by_reason.items())) or "none"
    console.print(
        f"{len(listing.shown)} of {listing.matching} shown; filed under no case by reason: {counts}"
    )
    return EXIT_OK

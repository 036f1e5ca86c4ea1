"""`open`: log a complaint that reached the firm by phone, letter, in a branch, ... as a
case (services/logged.py, one commit); the customer is acknowledged by mail unless
``--no-ack``."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock
from inbox_agent.entrypoints.bootstrap import open_store
from inbox_agent.entrypoints.cli_common import EXIT_FAIL, EXIT_OK, console, print_json
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.logged import CHANNELS, LoggedComplaint, parse_local_time
from inbox_agent.services.logged import LogRefused, log_complaint


def add_open_parser(sub: argparse._SubParsersAction) -> None:
    opened = sub.add_parser(
        "open", help="log a complaint received by phone, letter, in a branch, ... as a case"
    )
    opened.add_argument(
        "--customer", required=True, help="the customer's e-mail address (the case is filed under it)"
    )
    opened.add_argument("--name", default="", help="the customer's name, for the greeting")
    opened.add_argument("--channel", required=True, choices=CHANNELS, help="how the complaint reached us")
    opened.add_argument(
        "--at",
        required=True,
        help="when the customer complained, ISO 8601 (without an offset: [sla] timezone); the clocks start then",
    )
    opened.add_argument("--subject", default="", help="a one-line summary (default: 'Complaint by CHANNEL')")
    opened.add_argument("--text", help="what the customer said; or --text-file")
    opened.add_argument("--text-file", type=Path, help="what the customer said, from a file ('-' = stdin)")
    opened.add_argument("--no-ack", action="store_true", help="do not mail the customer the acknowledgement")
    opened.add_argument(
        "--token", default="", help="makes a re-run of the same command one complaint (default: a new one)"
    )
    opened.add_argument("--by", help="who logs it (default: $USER); recorded on the case")
    opened.add_argument("--json", action="store_true")


def cmd_open(args: argparse.Namespace, config: Config) -> int:
    try:
        complaint = _complaint(args, config)
    except ValueError as exc:
        console.print(f"not logged: {exc}", style="red")
        return EXIT_FAIL
    actor = args.by or os.environ.get("USER", "staff")
    try:
        decision = log_complaint(
            open_store(config),
            config,
            TemplateSet(config.templates_dir),
            complaint,
            actor,
            SystemClock().now(),
        )
    except LogRefused as exc:
        console.print(f"not logged: {exc}", style="red")
        return EXIT_FAIL
    case_id = decision.case.case_id if decision.case else ""
    if args.json:
        print_json({"outcome": decision.outcome, "case_id": case_id, "token": complaint.token})
    elif decision.outcome == "duplicate":
        console.print(f"already logged (token {complaint.token}): nothing changed")
    else:
        console.print(f"logged on {case_id} by {actor}: {decision.summary}")
    return EXIT_OK


def _complaint(args: argparse.Namespace, config: Config) -> LoggedComplaint:
    if (args.text is None) == (args.text_file is None):
        raise ValueError("give what the customer said with --text or --text-file (one of them)")
    if args.text_file is None:
        text = args.text
    elif str(args.text_file) == "-":
        text = sys.stdin.read()
    else:
        text = args.text_file.read_text(encoding="utf-8")
    return LoggedComplaint(
        customer=args.customer,
        customer_name=args.name,
        channel=args.channel,
        received_at=parse_local_time(args.at, config.sla.timezone, what="--at"),
        subject=args.subject,
        text=text,
        token=args.token or secrets.token_urlsafe(18),
        acknowledge=not args.no_ack,
    )

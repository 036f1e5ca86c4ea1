"""`classify`, `cases` and `show`: reading mail and cases, changing nothing."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from inbox_agent.adapters.tinydb_store import case_to_doc, message_to_doc
from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock
from inbox_agent.domain.model import Case, MessageRecord
from inbox_agent.entrypoints.bootstrap import open_store
from inbox_agent.entrypoints.cli_common import EXIT_FAIL, EXIT_OK, console, print_json, short
from inbox_agent.pipeline.classify import classify_bytes
from inbox_agent.services.disclosure import record_unmasked_view
from inbox_agent.views.deadlines import deadline_lines, deadlines_doc, next_deadline
from inbox_agent.views.explanation import case_explanation, explanation_lines
from inbox_agent.views.masked import masked_case, masked_message


def cmd_classify(args: argparse.Namespace, config: Config) -> int:
    now = SystemClock().now()
    results = []
    status = EXIT_OK
    for name in args.files:
        try:
            raw = Path(name).read_bytes()
        except OSError as exc:
            results.append({"file": name, "error": f"cannot read: {exc.strerror}"})
            status = EXIT_FAIL
            continue
        result = {"file": name, **classify_bytes(raw, config, now)}
        if "error" in result:
            status = EXIT_FAIL
        results.append(result)
    if args.json:
        print_json(results if len(results) != 1 else results[0])
        return status
    table = Table()
    for column in ("file", "category", "lang", "severity", "evidence", "missing", "skip"):
        table.add_column(column, overflow="fold")
    for item in results:
        if "error" in item:
            table.add_row(item["file"], Text(item["error"], style="red"), "", "", "", "", "")
            continue
        evidence = ", ".join(f"{k}={v}" for k, v in item["evidence"].items())
        table.add_row(
            item["file"],
            item["category"],
            item["language"],
            item["severity"],
            evidence,
            ", ".join(item["missing"]),
            item["skip"] or "",
        )
    console.print(table)
    return status


def cmd_cases(args: argparse.Namespace, config: Config) -> int:
    store = open_store(config, read_only=True)
    cases = [
        case
        for case in store.iter_cases()
        if (not args.status or case.status == args.status)
        and (not args.category or case.category == args.category)
    ]
    cases.sort(key=lambda case: case.seq)
    cases = [masked_case(case) for case in cases]  # as `show` without --unmask
    now = SystemClock().now()
    if args.json:
        print_json([_case_summary(case) | {"deadlines": deadlines_doc(case, config, now)} for case in cases])
        return EXIT_OK
    table = Table()
    columns = (
        "case",
        "status",
        "category",
        "severity",
        "customer",
        "subject",
        "missing",
        "next deadline",
        "updated",
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for case in cases:
        table.add_row(
            case.case_id,
            str(case.status),
            case.category,
            case.severity,
            case.customer,
            short(case.subject, 40),
            ", ".join(case.missing),
            next_deadline(case, config, now),
            case.updated_at,
        )
    console.print(table)
    console.print(f"{len(cases)} cases")
    return EXIT_OK


def _case_summary(case: Any) -> dict[str, Any]:
    doc = case_to_doc(case)
    doc.pop("events", None)
    doc["evidence"] = dict(case.evidence)
    return doc


def add_show_options(show: argparse.ArgumentParser) -> None:
    show.add_argument(
        "--unmask",
        action="store_true",
        help="show card/ID/phone numbers, codes and passwords (recorded on the case)",
    )
    show.add_argument("--by", help="who looks unmasked (default: $USER); recorded as an event")


def _record_unmasked(args: argparse.Namespace, config: Config) -> bool:
    """Recorded first, through the one commit path: nobody sees secrets unrecorded."""
    actor = getattr(args, "by", None) or os.environ.get("USER", "staff")
    how = "show --json" if args.json else "show"
    return record_unmasked_view(open_store(config), args.case, actor, SystemClock().now(), how)


def _print_deadlines(case: Case, config: Config) -> None:
    """The complaint window and the regulatory deadlines (views/deadlines.py)."""
    for line in deadline_lines(case, config, SystemClock().now()):
        console.print(line, markup=False)


def _show_doc(
    case: Case, messages: list[MessageRecord], outbox: list[dict[str, Any]], config: Config
) -> dict[str, Any]:
    """``show --json``: the case with its explanation, evidence, mails, outbox and deadlines."""
    doc = case_to_doc(case)
    doc["explanation"] = case_explanation(case)
    doc["evidence"] = dict(case.evidence)
    doc["messages"] = [message_to_doc(message) for message in messages]
    doc["outbox"] = outbox
    doc["deadlines"] = deadlines_doc(case, config, SystemClock().now())
    return doc


def _no_case(args: argparse.Namespace) -> int:
    if args.json:  # stdout stays JSON, as `classify --json` reports a file it cannot read
        print_json({"case": args.case, "error": f"no case {args.case}"})
    else:
        console.print(f"no case {args.case}", style="red")
    return EXIT_FAIL


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    unmask = bool(getattr(args, "unmask", False))
    store = open_store(config, read_only=True)
    case = store.get_case(args.case)
    if case is None or (unmask and not _record_unmasked(args, config)):
        return _no_case(args)
    messages = store.case_messages(case.case_id)
    if not unmask:
        case, messages = masked_case(case), [masked_message(message) for message in messages]
    outbox = [entry for entry in store.outbox_entries() if entry["case_id"] == case.case_id]
    if args.json:
        print_json(_show_doc(case, messages, outbox, config))
        return EXIT_OK
    console.print(
        Text.assemble(
            (case.case_id, "bold"),
            f"  {case.status}  {case.category} ({case.severity})  customer {case.customer}",
        )
    )
    console.print(f"subject: {case.subject}")
    for number, line in enumerate(explanation_lines(case)):
        lead = f"why {case.category}: " if number == 0 else " " * (6 + len(case.category))
        console.print(lead + line)
    console.print("evidence: " + (", ".join(f"{k}={v}" for k, v in case.evidence) or "none"))
    console.print("missing: " + (", ".join(case.missing) or "nothing"))
    if case.assignee:
        console.print(f"assignee: {case.assignee}")
    _print_deadlines(case, config)
    table = Table(title="timeline")
    for column in ("at", "event", "by", "detail"):
        table.add_column(column, overflow="fold")
    for event in case.events:
        table.add_row(event.at, event.kind, event.actor, event.detail)
    console.print(table)
    messages_table = Table(title="messages")
    for column in ("received", "dir", "from", "subject", "text"):
        messages_table.add_column(column, overflow="fold")
    for message in messages:
        messages_table.add_row(
            message.received_at, message.direction, message.sender, message.subject, short(message.text, 200)
        )
    console.print(messages_table)
    for entry in outbox:
        console.print(
            f"outbox: {entry['outbox_id']} {entry['kind']} {entry['status']} attempts={entry['attempts']} "
            f"{entry['last_error']}"
        )
    return EXIT_OK

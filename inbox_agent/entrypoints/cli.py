"""`inbox-agent` — the command line for ops and staff."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from inbox_agent.adapters.tinydb_store import StoreError, StoreLocked, case_to_doc, message_to_doc
from inbox_agent.config.loader import Config, ConfigError, find_config_path, load_config
from inbox_agent.domain.clock import SystemClock, iso, parse_iso
from inbox_agent.domain.mask import setup_logging
from inbox_agent.services.sweep import add_escalate_parser, cmd_escalate
from inbox_agent.views.page import add_report_parser, cmd_report, sla_clock

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3

console = Console()


def _load(args: argparse.Namespace) -> Config:
    return load_config(find_config_path(args.config))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


# ---------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from inbox_agent.entrypoints.daemon import Daemon, StopFlag, build_runtime, run_cycle, run_once

    stop = StopFlag()
    stop.install()
    progress_bar = Progress(
        TextColumn("backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task_id: list[int] = []

    def progress(done: int, total: int) -> None:
        # Only a long backfill earns a bar; a normal poll of a few mails stays quiet.
        if total < 500:
            return
        if not task_id:
            progress_bar.start()
            task_id.append(progress_bar.add_task("backfill", total=total))
        progress_bar.update(task_id[0], completed=done)
        if done >= total:
            progress_bar.stop()

    runtime = build_runtime(config, dry_run=args.dry_run, should_stop=stop, progress=progress)
    try:
        runtime.store.acquire_daemon_lock()
    except StoreLocked as exc:
        console.print(f"[red]error:[/red] {exc}")
        return EXIT_FAIL
    try:
        if args.once or args.dry_run:
            report = run_once(runtime) if args.once and not args.dry_run else run_cycle(runtime)
            _print_cycle(report, dry_run=args.dry_run)
            return EXIT_FAIL if report.error else EXIT_OK
        daemon = Daemon(runtime, stop, on_report=lambda report: _log_cycle(report))
        daemon.run()
        return EXIT_OK
    finally:
        runtime.mailbox.close()
        if runtime.runner.sent_mailbox is not None:
            runtime.runner.sent_mailbox.close()
        runtime.store.release_daemon_lock()


def _print_cycle(report: Any, *, dry_run: bool) -> None:
    table = Table(title="dry run: nothing written, flagged or sent" if dry_run else None)
    for column in ("message", "from", "subject", "case", "outcome"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        table.add_row(row.source, row.sender, _short(row.subject, 50), row.case_id, row.outcome)
    if report.rows:
        console.print(table)
    summary = f"{report.fetched} fetched, {len(report.rows)} processed, {report.backlog} left"
    if not dry_run:
        summary += f"; outbox: {report.sent} sent, {report.send_retry} to retry, {report.send_failed} failed"
    console.print(summary)
    if report.error:
        console.print(f"[red]error:[/red] {report.error}")


def _log_cycle(report: Any) -> None:
    import logging

    if report.rows or report.sent or report.send_failed:
        logging.getLogger("inbox_agent").info(
            "cycle: %d processed, %d sent, %d to retry, %d failed",
            len(report.rows),
            report.sent,
            report.send_retry,
            report.send_failed,
        )


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------- classify


def cmd_classify(args: argparse.Namespace, config: Config) -> int:
    from inbox_agent.pipeline.classify import classify_bytes

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
        _print_json(results if len(results) != 1 else results[0])
        return status
    table = Table()
    for column in ("file", "category", "lang", "severity", "evidence", "missing", "skip"):
        table.add_column(column, overflow="fold")
    for item in results:
        if "error" in item:
            table.add_row(item["file"], f"[red]{item['error']}[/red]", "", "", "", "", "")
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


# ---------------------------------------------------------------- cases / show


def _open_store(config: Config):  # type: ignore[no-untyped-def]
    from inbox_agent.entrypoints.daemon import open_store

    return open_store(config)


def cmd_cases(args: argparse.Namespace, config: Config) -> int:
    store = _open_store(config)
    cases = [
        case
        for case in store.iter_cases()
        if (not args.status or case.status == args.status)
        and (not args.category or case.category == args.category)
    ]
    cases.sort(key=lambda case: case.seq)
    if args.json:
        _print_json([_case_summary(case) for case in cases])
        return EXIT_OK
    table = Table()
    for column in ("case", "status", "category", "severity", "customer", "subject", "missing", "updated"):
        table.add_column(column, overflow="fold")
    for case in cases:
        table.add_row(
            case.case_id,
            str(case.status),
            case.category,
            case.severity,
            case.customer,
            _short(case.subject, 40),
            ", ".join(case.missing),
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


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    store = _open_store(config)
    case = store.get_case(args.case)
    if case is None:
        console.print(f"[red]no case {args.case}[/red]")
        return EXIT_FAIL
    messages = store.case_messages(case.case_id)
    outbox = [entry for entry in store.outbox_entries() if entry["case_id"] == case.case_id]
    if args.json:
        doc = case_to_doc(case)
        doc["evidence"] = dict(case.evidence)
        doc["messages"] = [message_to_doc(message) for message in messages]
        doc["outbox"] = outbox
        _print_json(doc)
        return EXIT_OK
    console.print(
        f"[bold]{case.case_id}[/bold]  {case.status}  {case.category} ({case.severity})  customer {case.customer}"
    )
    console.print(f"subject: {case.subject}")
    console.print(
        f"why {case.category}: " + (", ".join(f"{c}:{t}" for c, t in case.matched) or "no term matched")
    )
    console.print("evidence: " + (", ".join(f"{k}={v}" for k, v in case.evidence) or "none"))
    console.print("missing: " + (", ".join(case.missing) or "nothing"))
    if case.assignee:
        console.print(f"assignee: {case.assignee}")
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
            message.received_at, message.direction, message.sender, message.subject, _short(message.text, 200)
        )
    console.print(messages_table)
    for entry in outbox:
        console.print(
            f"outbox: {entry['kind']} {entry['status']} attempts={entry['attempts']} {entry['last_error']}"
        )
    return EXIT_OK


# ---------------------------------------------------------------- quarantine


def cmd_quarantine(args: argparse.Namespace, config: Config) -> int:
    store = _open_store(config)
    if args.action == "retry":
        return _quarantine_retry(store, config, args.id)
    entries = store.quarantine_entries()
    if args.json:
        _print_json(entries)
        return EXIT_OK
    table = Table()
    for column in ("id", "at", "stage", "reason", "source", "size"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            entry["id"], entry["at"], entry["stage"], entry["reason"], entry["source"], str(entry["size"])
        )
    console.print(table)
    console.print(f"{len(entries)} quarantined")
    return EXIT_OK


def _quarantine_retry(store: Any, config: Config, entry_id: str | None) -> int:
    from inbox_agent.adapters.tinydb_store import Changes
    from inbox_agent.entrypoints.daemon import make_transport
    from inbox_agent.mail.render import TemplateSet
    from inbox_agent.pipeline.process import Incoming, process
    from inbox_agent.services.intake import Runner

    entry = next((e for e in store.quarantine_entries() if e["id"] == entry_id), None)
    if entry is None:
        console.print(f"[red]no quarantine entry {entry_id}[/red]")
        return EXIT_FAIL
    if not entry.get("raw_sha256"):
        console.print(
            "[red]this mail was never downloaded (too large); raise mailbox.max_message_size and re-deliver it[/red]"
        )
        return EXIT_FAIL
    raw = store.get_blob(entry["raw_sha256"])
    clock = SystemClock()
    templates = TemplateSet(config.templates_dir)
    with store.write_lock():
        runner = Runner(config, store, None, make_transport(config), templates, clock)  # type: ignore[arg-type]
        view = runner._view()
        view.known_hashes = set(view.known_hashes) - {entry["raw_sha256"]}
        now = clock.now()
        decision = process(
            Incoming(raw, entry["source"], parse_iso(entry["at"])), view, config, templates, now
        )
        if decision.outcome == "quarantined":
            console.print(f"still failing at {decision.quarantine_stage}: {decision.quarantine_reason}")
            return EXIT_FAIL
        changes = Changes(quarantine_removed={entry["id"]}, next_case_seq=view.next_seq)
        for blob in decision.blobs:
            store.put_blob(blob)
        if decision.case:
            changes.put_case(decision.case)
        if decision.message:
            changes.messages.append(decision.message)
        from inbox_agent.domain.outbox import new_entry

        for mail in decision.outgoing:
            changes.outbox[mail.outbox_id] = new_entry(mail, hashlib.sha256(mail.raw).hexdigest(), now)
        store.commit(changes)
    console.print(f"{entry['id']}: {decision.summary}")
    return EXIT_OK


# ---------------------------------------------------------------- staff actions


def cmd_staff_action(args: argparse.Namespace, config: Config) -> int:
    """assign / note / reply / resolve / reopen: an event on the case; mail is queued for the daemon."""
    from inbox_agent.adapters.tinydb_store import Changes
    from inbox_agent.domain.outbox import new_entry
    from inbox_agent.mail.render import TemplateSet
    from inbox_agent.policies.staff import StaffAction, StaffActionError, apply_action

    text = _action_text(args)
    actor = args.by or os.environ.get("USER", "staff")
    action = StaffAction(kind=args.command, actor=actor, text=text, assignee=getattr(args, "name", "") or "")
    store = _open_store(config)
    now = SystemClock().now()
    with store.write_lock():
        case = store.get_case(args.case)
        if case is None:
            console.print(f"[red]no case {args.case}[/red]")
            return EXIT_FAIL
        try:
            updated, outgoing = apply_action(
                case,
                action,
                config=config,
                templates=TemplateSet(config.templates_dir),
                now=now,
                cause=f"cli|{args.command}|{iso(now)}|{actor}|{text}",
            )
        except StaffActionError as exc:
            console.print(f"[red]{exc}[/red]")
            return EXIT_FAIL
        changes = Changes()
        changes.put_case(updated)
        for mail in outgoing:
            changes.outbox[mail.outbox_id] = new_entry(mail, store.put_blob(mail.raw), now)
        store.commit(changes)
    queued = (
        f"; {len(outgoing)} mail queued to {updated.customer} (sent by the daemon's next cycle)"
        if outgoing
        else ""
    )
    console.print(f"{updated.case_id}: {args.command} recorded, status {updated.status}{queued}")
    return EXIT_OK


def _action_text(args: argparse.Namespace) -> str:
    if getattr(args, "file", None):
        return Path(args.file).read_text(encoding="utf-8").strip()
    return " ".join(getattr(args, "text", None) or []).strip()


# ---------------------------------------------------------------- status / check


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    store = _open_store(config)
    status = store.status()
    outbox = store.outbox_entries()
    counts: dict[str, int] = {}
    oldest_waiting = ""
    overdue = 0
    clock_of = sla_clock(config, SystemClock().now())
    for case in store.iter_cases(store.index.active_cases):
        counts[str(case.status)] = counts.get(str(case.status), 0) + 1
        overdue += clock_of(case).overdue
        if case.awaiting_since and (not oldest_waiting or case.awaiting_since < oldest_waiting.split(" ")[0]):
            oldest_waiting = f"{case.awaiting_since} ({case.case_id})"
    data = {
        "data_dir": str(store.root),
        "last_poll_at": status.get("last_poll_at", ""),
        "mailbox": status.get("mailbox", "never polled"),
        "smtp": status.get("smtp", ""),
        "last_error": status.get("last_error", ""),
        "processed_total": status.get("processed_total", 0),
        "backlog": status.get("backlog", 0),
        "outbox_pending": sum(1 for e in outbox if e["status"] == "pending"),
        "outbox_failed": sum(1 for e in outbox if e["status"] == "failed"),
        "quarantined": len(store.quarantine_entries()),
        "cases_by_status": counts,
        "overdue": overdue,  # past the response-time limit on the SLA clock, escalated or not
        "oldest_waiting": oldest_waiting,
    }
    if args.json:
        _print_json(data)
        return EXIT_OK
    table = Table(show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)
    return EXIT_OK


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    from inbox_agent.entrypoints.daemon import make_mailbox, make_transport
    from inbox_agent.mail.render import TemplateSet

    ok = True
    console.print(f"config: ok ({config.source})")
    problems = TemplateSet(config.templates_dir).check_all()
    if problems:
        ok = False
        for problem in problems:
            console.print(f"[red]templates:[/red] {problem}")
    else:
        console.print(f"templates: ok ({config.templates_dir})")
    for name, target in (("mailbox", make_mailbox(config)), ("smtp", make_transport(config))):
        try:
            console.print(f"{name}: {target.check()}")  # type: ignore[attr-defined]
        except Exception as exc:
            ok = False
            console.print(f"[red]{name}: {exc}[/red]")
    return EXIT_OK if ok else EXIT_FAIL


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inbox-agent", description="Complaint-mailbox daemon of a digital wallet."
    )
    parser.add_argument("--config", help="config file (default: $INBOX_AGENT_CONFIG, then ./config.toml)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the daemon: poll, process, send, escalate")
    run.add_argument("--once", action="store_true", help="one cycle, then exit (cron, systemd timers, tests)")
    run.add_argument(
        "--dry-run", action="store_true", help="show the decisions; write, flag and send nothing"
    )

    classify = sub.add_parser("classify", help="parse, guard, categorize and find evidence; no side effects")
    classify.add_argument("files", nargs="+", metavar="FILE.eml")
    classify.add_argument("--json", action="store_true")

    cases = sub.add_parser("cases", help="list cases")
    cases.add_argument(
        "--status", choices=["open", "waiting_customer", "waiting_staff", "escalated", "resolved"]
    )
    cases.add_argument("--category")
    cases.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="one case with its messages and events")
    show.add_argument("case")
    show.add_argument("--json", action="store_true")

    quarantine = sub.add_parser("quarantine", help="what could not be processed, and why")
    quarantine.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    quarantine.add_argument("id", nargs="?")
    quarantine.add_argument("--json", action="store_true")

    status = sub.add_parser("status", help="last poll, backlog, outbox, errors")
    status.add_argument("--json", action="store_true")

    sub.add_parser("check", help="validate config and templates, log in to IMAP and SMTP")

    staff_help = {
        "note": "add an internal note",
        "reply": "answer the customer (stops the response clock)",
        "resolve": "resolve the case; the customer gets the resolution mail",
        "reopen": "reopen a resolved case",
    }
    assign = sub.add_parser("assign", help="assign a case to a staff member")
    assign.add_argument("case")
    assign.add_argument("name")
    assign.add_argument("--by", help="who acts (default: $USER)")
    for name, text in staff_help.items():
        action = sub.add_parser(name, help=text)
        action.add_argument("case")
        action.add_argument("text", nargs="*", help="the text (or --file)")
        action.add_argument("--file", help="read the text from this file")
        action.add_argument("--by", help="who acts (default: $USER)")
    add_escalate_parser(sub)
    add_report_parser(sub)
    return parser


COMMANDS = {
    "run": cmd_run,
    "classify": cmd_classify,
    "cases": cmd_cases,
    "show": cmd_show,
    "quarantine": cmd_quarantine,
    "status": cmd_status,
    "check": cmd_check,
    "assign": cmd_staff_action,
    "note": cmd_staff_action,
    "reply": cmd_staff_action,
    "resolve": cmd_staff_action,
    "reopen": cmd_staff_action,
    "escalate": cmd_escalate,
    "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = _load(args)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    setup_logging(config.logging.level, str(config.logging.file) if config.logging.file else None)
    if args.command == "quarantine" and args.action == "retry" and not args.id:
        sys.stderr.write("quarantine retry needs an ID (see `inbox-agent quarantine`)\n")
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args, config)
    except StoreLocked as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAIL
    except StoreError as exc:
        sys.stderr.write(f"store error: {exc}\n")
        return EXIT_FAIL

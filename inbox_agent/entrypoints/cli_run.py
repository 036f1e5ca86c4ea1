"""`inbox-agent run [--once] [--dry-run]`: the daemon, or one cycle of it."""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from inbox_agent.adapters.tinydb_store import StoreLocked
from inbox_agent.config.loader import Config
from inbox_agent.entrypoints.bootstrap import build_runtime, storage_report
from inbox_agent.entrypoints.cli_common import EXIT_FAIL, EXIT_OK, console, customer_cell, flagged
from inbox_agent.entrypoints.daemon import Daemon, StopFlag, run_cycle, run_once


def cmd_run(args: argparse.Namespace, config: Config) -> int:
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

    warning = storage_report(config).warning
    if warning:  # said at every start: ops who never run `check` read the log
        logging.getLogger("inbox_agent").warning("data directory: %s", warning)
    runtime = build_runtime(config, dry_run=args.dry_run, should_stop=stop, progress=progress)
    try:
        runtime.store.acquire_daemon_lock()
    except StoreLocked as exc:
        console.print(flagged("error:", str(exc)))
        return EXIT_FAIL
    try:
        if args.once or args.dry_run:
            report = run_once(runtime) if args.once and not args.dry_run else run_cycle(runtime)
            report = runtime.intake.refresh_report(report)
            _print_cycle(report, dry_run=args.dry_run)
            # A refused mark or copy is a failure ops must fix, though the mail is stored.
            return EXIT_FAIL if report.error or report.mark_error else EXIT_OK
        daemon = Daemon(runtime, stop, on_report=lambda report: _log_cycle(report))
        daemon.run()
        return EXIT_OK
    finally:
        runtime.close()
        runtime.store.release_daemon_lock()


# Above this many rows `run --once` prints counts instead of one line per mail: rendering
# a 1,000-row table costs about half a second and no one reads it; the rows that need
# attention (quarantined mail) are still listed one by one.
FULL_TABLE_ROWS = 50


def _print_cycle(report: Any, *, dry_run: bool) -> None:
    title = "dry run: nothing written, flagged or sent" if dry_run else None
    if len(report.rows) > FULL_TABLE_ROWS:
        _print_compact(report.rows, title=title)
    elif report.rows:
        console.print(_rows_table(report.rows, title=title))
    summary = f"{report.fetched} fetched, {len(report.rows)} processed, {report.backlog} left"
    if not dry_run:
        summary += f"; outbox: {report.sent} sent, {report.send_retry} to retry, {report.send_failed} failed"
    summary += _owed(report)
    console.print(summary)
    if report.error:
        console.print(flagged("error:", report.error))
    if report.mark_error:
        console.print(flagged("error:", report.mark_error))  # the server's "[NOPERM]" is text


def _rows_table(rows: Sequence[Any], *, title: str | None) -> Table:
    table = Table(title=title)
    for column in ("message", "from", "subject", "case", "outcome"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.source,
            customer_cell(row.sender, 60),
            customer_cell(row.subject, 50),
            row.case_id,
            row.outcome,
        )
    return table


def _print_compact(rows: Sequence[Any], *, title: str | None) -> None:
    """Counts by outcome for a big batch, then every quarantined mail in full."""
    counts = Counter(outcome_kind(row.outcome) for row in rows)
    table = Table(title=title)
    table.add_column("outcome")
    table.add_column("mails", justify="right")
    for kind, count in counts.most_common():
        table.add_row(kind, str(count))
    console.print(table)
    attention = [row for row in rows if row.outcome.startswith("quarantined")]
    if attention:
        console.print(_rows_table(attention, title="quarantined (see `inbox-agent quarantine`)"))
    console.print(f"{len(rows)} mails: see each with `inbox-agent cases` and `inbox-agent show CASE`")


def outcome_kind(outcome: str) -> str:
    """What groups a row: its outcome without free text. Every part of a filed mail's
    outcome is a stable code ('new case; acknowledgement; account_locked'); a
    quarantined row keeps its stage only, its reason is listed row by row."""
    if outcome.startswith("quarantined"):
        return outcome.split(":", 1)[0]
    return ", ".join(part.strip() for part in outcome.split(";") if part.strip())


def _owed(report: Any) -> str:
    """Marks and Sent copies the mailbox still owes (retried every cycle)."""
    owed = ""
    if report.marks_pending:
        owed += f"; {report.marks_pending} marks pending (retried next cycle)"
    if report.copies_pending:
        owed += f"; {report.copies_pending} Sent-folder copies pending (retried next cycle)"
    return owed


def _log_cycle(report: Any) -> None:
    if report.rows or report.sent or report.send_failed:
        logging.getLogger("inbox_agent").info(
            "cycle: %d processed, %d sent, %d to retry, %d failed",
            len(report.rows),
            report.sent,
            report.send_retry,
            report.send_failed,
        )
    if report.mark_error or report.marks_pending or report.copies_pending:
        logging.getLogger("inbox_agent").warning(
            "cycle: %s%s", report.mark_error or "owed from earlier cycles", _owed(report)
        )

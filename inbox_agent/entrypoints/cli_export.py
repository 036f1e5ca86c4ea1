"""`inbox-agent export`: the regulator report of a period, as CSV or JSON.

CSV: one row per case on stdout (or ``--output``), the summary table on stderr, so a
redirect keeps a clean file. JSON: ``{"rows": [...], "summary": [...]}``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock
from inbox_agent.entrypoints.bootstrap import open_store
from inbox_agent.entrypoints.cli_common import EXIT_OK, EXIT_USAGE
from inbox_agent.services.export import STATES, Export, columns, export_cases


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="regulator report: every case of a period with its deadlines")
    export.add_argument("--from", dest="start", required=True, help="first day (YYYY-MM-DD, local)")
    export.add_argument("--to", dest="end", required=True, help="last day, inclusive (YYYY-MM-DD)")
    export.add_argument("--jurisdiction", default="", help="only this jurisdiction (e.g. PSD2)")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("--output", help="write the rows to this file instead of stdout")


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    try:
        start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    except ValueError as exc:
        sys.stderr.write(f"export: --from/--to must be dates like 2026-10-01: {exc}\n")
        return EXIT_USAGE
    if end < start:
        sys.stderr.write(f"export: --to {end} is before --from {start}\n")
        return EXIT_USAGE
    if args.jurisdiction and args.jurisdiction not in config.regulatory.jurisdictions:
        known = ", ".join(sorted(config.regulatory.jurisdictions))
        sys.stderr.write(f"export: unknown jurisdiction {args.jurisdiction!r} (known: {known})\n")
        return EXIT_USAGE
    report = export_cases(
        open_store(config, read_only=True), config, start, end, args.jurisdiction, SystemClock().now()
    )
    text = _json(report) if args.format == "json" else _csv(report)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.format == "csv":
        _print_summary(report)
    return EXIT_OK


def _csv(report: Export) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(), lineterminator="\n")
    writer.writeheader()
    writer.writerows(report.rows)
    return buffer.getvalue()


def _json(report: Export) -> str:
    data = {"rows": report.rows, "summary": report.summary, "determinations": report.determinations}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _print_summary(report: Export) -> None:
    table = Table(title=f"{len(report.rows)} cases")
    for column in ("jurisdiction", "clock", *STATES, "total"):
        table.add_column(column, justify="left" if column in ("jurisdiction", "clock") else "right")
    for line in report.summary:
        table.add_row(*(str(line[key]) for key in ("jurisdiction", "clock", *STATES, "total")))
    console = Console(stderr=True, markup=False)
    console.print(table)
    if report.determinations:
        console.print(_determination_table(report))


def _determination_table(report: Export) -> Table:
    keys = tuple(report.determinations[0])
    table = Table(title="resolved cases by determination")
    for key in keys:
        table.add_column(key, justify="left" if key in ("jurisdiction", "category", "redress") else "right")
    for line in report.determinations:
        table.add_row(*(str(line[key]) for key in keys))
    return table

"""`inbox-agent report --html FILE`: the staff page written to a file."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock, parse_iso
from inbox_agent.entrypoints.bootstrap import open_store, write_report
from inbox_agent.entrypoints.failures import describe as describe_failure
from inbox_agent.mail.render import TemplateError, TemplateSet


def add_report_parser(sub: Any) -> None:
    """Register `report` on the CLI's subparsers (``sub`` from ``add_subparsers``)."""
    report = sub.add_parser("report", help="escalated and overdue cases as an HTML page for staff")
    report.add_argument("--html", required=True, metavar="FILE", help="write the page here (mode 0600)")
    report.add_argument(
        "--include-resolved", action="store_true", help="list resolved cases too (default: only a count)"
    )
    report.add_argument("--now", metavar="ISO-8601", help="judge overdue cases at this moment (replay)")


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    try:
        now: datetime = parse_iso(args.now) if args.now else SystemClock().now()
    except ValueError:
        sys.stderr.write(f"--now: not an ISO-8601 time: {args.now!r}\n")
        return 2
    # Opened outside the handler below: an error of the data directory (read-only,
    # unreadable, damaged) is the store's, named by cause by the CLI (exit 6/5/4), and
    # must not be blamed on the page being written.
    store = open_store(config)
    out = Path(args.html)
    try:
        templates = TemplateSet(config.templates_dir)
        shown = write_report(store, config, templates, now, out, include_resolved=args.include_resolved)
    except TemplateError as exc:
        sys.stderr.write(f"template error: {exc}\n")
        return 1
    except OSError as exc:
        if not _about_the_page(exc, out):
            raise  # reading the store: the CLI's mapping names it
        sys.stderr.write(f"cannot write {args.html}: {exc.strerror or exc}\n")
        return describe_failure(exc).exit_code
    sys.stdout.write(f"{args.html}: {shown} cases\n")
    return 0


def _about_the_page(error: OSError, out: Path) -> bool:
    """The page, its folder or its temp file there (``.<name>.*.tmp``: written atomically)."""
    names = [Path(name) for name in (error.filename, error.filename2) if name is not None]
    return any(
        name in (out, out.parent) or (name.parent == out.parent and name.name.startswith(f".{out.name}."))
        for name in names
    )

"""`verify`, `backup DEST` and `restore SRC`: the data directory checked, copied, brought back."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inbox_agent.adapters.store_backup import NotABackup, backup, restore
from inbox_agent.adapters.store_verify import VerifyReport, verify
from inbox_agent.config.loader import Config
from inbox_agent.entrypoints.bootstrap import open_store
from inbox_agent.entrypoints.cli_common import EXIT_OK, EXIT_USAGE, console, flagged, print_json
from inbox_agent.entrypoints.failures import EXIT_STORE_DAMAGED


def add_store_parsers(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("verify", help="check every file of the data directory and their references")
    check.add_argument("--json", action="store_true")
    copy = sub.add_parser("backup", help="a consistent copy of the data directory (the daemon may run)")
    copy.add_argument("dest", help="a new or empty folder")
    back = sub.add_parser(
        "restore", help="replace the data directory with a backup (the daemon must be stopped)"
    )
    back.add_argument("src", help="a folder made by `inbox-agent backup`")


def _print_report(report: VerifyReport, where: Path, *, as_json: bool = False) -> int:
    if as_json:
        print_json({"data_dir": str(where), "clean": report.clean, **report.__dict__})
        return EXIT_OK if report.clean else EXIT_STORE_DAMAGED
    for problem in report.problems:
        console.print(flagged("damaged:", problem), highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    counted = ", ".join(f"{count} {what}" for what, count in sorted(report.counts.items()))
    verdict = "clean" if report.clean else f"{len(report.problems)} problems"
    console.print(f"{where}: {verdict} ({counted or 'empty'})", highlight=False)
    return EXIT_OK if report.clean else EXIT_STORE_DAMAGED


def cmd_verify(args: argparse.Namespace, config: Config) -> int:
    where = config.storage.data_dir
    return _print_report(verify(where, shard_size=config.storage.shard_size), where, as_json=args.json)


def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    store = open_store(config)
    dest = Path(args.dest)
    console.print(f"backing up {store.root} to {dest}", highlight=False)
    return _print_report(backup(store, dest), dest)


def cmd_restore(args: argparse.Namespace, config: Config) -> int:
    source = Path(args.src)
    try:
        report, aside = restore(source, config.storage.data_dir, shard_size=config.storage.shard_size)
    except NotABackup as exc:
        # A usage error (exit 2), not damage: the path given names no backup, nothing
        # in the data directory was read as damaged and nothing was changed.
        sys.stderr.write(f"not restored: {exc}; the data directory was not touched\n")
        return EXIT_USAGE
    if not report.clean:
        console.print(flagged("not restored:", f"{source} does not verify clean"), highlight=False)
        return _print_report(report, source)
    if aside is not None:
        console.print(f"the replaced data directory was kept as {aside}", highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"restored {source} into {config.storage.data_dir}", highlight=False)
    return EXIT_OK

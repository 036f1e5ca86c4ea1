"""`inbox-agent` — the command line for ops and staff: the parser and the dispatch.

Each command group lives in its own module (``cli_run``, ``cli_cases``,
``cli_staff``, ``cli_status``, ``cli_outbox``, ``cli_escalate``, ``cli_report``, ``cli_export``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from inbox_agent.adapters.tinydb_store import StoreError
from inbox_agent.config.loader import Config, ConfigError, find_config_path, load_config
from inbox_agent.config.model_file import ModelFileError
from inbox_agent.domain.model import CATEGORIES
from inbox_agent.entrypoints.bootstrap import storage_report
from inbox_agent.entrypoints.cli_cases import add_show_options, cmd_cases, cmd_classify, cmd_show
from inbox_agent.entrypoints.cli_common import EXIT_CONFIG, EXIT_USAGE
from inbox_agent.entrypoints.cli_escalate import add_escalate_parser, cmd_escalate
from inbox_agent.entrypoints.cli_export import add_export_parser, cmd_export
from inbox_agent.entrypoints.cli_open import add_open_parser, cmd_open
from inbox_agent.entrypoints.cli_outbox import add_outbox_parser, cmd_outbox
from inbox_agent.entrypoints.cli_report import add_report_parser, cmd_report
from inbox_agent.entrypoints.cli_run import cmd_run
from inbox_agent.entrypoints.cli_staff import cmd_quarantine, cmd_staff_action
from inbox_agent.entrypoints.cli_status import cmd_check, cmd_status
from inbox_agent.entrypoints.cli_store import add_store_parsers, cmd_backup, cmd_restore, cmd_verify
from inbox_agent.entrypoints.cli_train import TRAIN_COMMANDS, add_train_parsers
from inbox_agent.entrypoints.cli_unfiled import add_unfiled_parser, cmd_unfiled
from inbox_agent.entrypoints.cli_web import add_web_parsers, cmd_staff, cmd_web
from inbox_agent.entrypoints.failures import describe as describe_failure
from inbox_agent.entrypoints.logs import setup_logging


def _load(args: argparse.Namespace) -> Config:
    return load_config(find_config_path(args.config))


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
    cases.add_argument("--category", choices=CATEGORIES)  # a typo is no empty list
    cases.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="one case with its messages and events")
    show.add_argument("case")
    show.add_argument("--json", action="store_true")
    add_show_options(show)

    _add_quarantine_parser(sub)

    status = sub.add_parser("status", help="last poll, backlog, outbox and why mail is retried, errors")
    status.add_argument("--json", action="store_true")
    add_outbox_parser(sub)

    sub.add_parser("check", help="validate config and templates, log in to IMAP and SMTP")

    _add_staff_parsers(sub)
    add_escalate_parser(sub)
    add_report_parser(sub)
    add_export_parser(sub)
    add_unfiled_parser(sub)
    add_open_parser(sub)
    add_train_parsers(sub)
    add_store_parsers(sub)
    add_web_parsers(sub)
    return parser


def _add_quarantine_parser(sub: argparse._SubParsersAction) -> None:
    quarantine = sub.add_parser("quarantine", help="what could not be processed, and why")
    quarantine.add_argument("action", nargs="?", choices=["list", "retry", "drop"], default="list")
    quarantine.add_argument("id", nargs="?")
    quarantine.add_argument("--json", action="store_true")
    quarantine.add_argument("--dropped", action="store_true", help="list the dropped entries' records")
    quarantine.add_argument("--reason", default="", help="drop: why this mail is nothing to keep (kept)")
    quarantine.add_argument("--by", help="drop: who acts (default: $USER)")


def _add_staff_parsers(sub: argparse._SubParsersAction) -> None:
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
        if name == "resolve":
            action.add_argument(
                "--determination",
                default="",
                help="how the complaint was decided: upheld, partly_upheld, not_upheld, withdrawn",
            )
            action.add_argument("--redress", default="", help='what was paid or credited, e.g. "25.00 CNY"')


COMMANDS = {
    "run": cmd_run,
    "classify": cmd_classify,
    "cases": cmd_cases,
    "show": cmd_show,
    "quarantine": cmd_quarantine,
    "unfiled": cmd_unfiled,
    "open": cmd_open,
    "status": cmd_status,
    "outbox": cmd_outbox,
    "check": cmd_check,
    "assign": cmd_staff_action,
    "note": cmd_staff_action,
    "reply": cmd_staff_action,
    "resolve": cmd_staff_action,
    "reopen": cmd_staff_action,
    "escalate": cmd_escalate,
    "report": cmd_report,
    "export": cmd_export,
    **TRAIN_COMMANDS,
    "verify": cmd_verify,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "web": cmd_web,
    "staff": cmd_staff,
}


# Commands that categorize parse the category model at start, so a model that cannot
# be read stops them there (exit 3) and never a mail later; the others never parse it
# (nor does `train --rollback`: it is the way back from a model that cannot be read).
MODEL_AT_START = frozenset({"run", "check", "classify", "train"})


_TEXT_COMMANDS = ("note", "reply", "resolve", "reopen")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; for a command that takes text, words after its options are text
    too (`resolve CASE --determination upheld Refunded.`): argparse alone would refuse them."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if (
        extra
        and getattr(args, "command", "") in _TEXT_COMMANDS
        and not any(word.startswith("-") for word in extra)
    ):
        args.text = [*args.text, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    try:
        config = _load(args)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    except OSError as exc:  # e.g. the data directory cannot be read: named by cause, exit 6
        return _failed(exc)
    setup_logging(config.logging.level, str(config.logging.file) if config.logging.file else None)
    usage = _usage_error(args)
    if usage:
        sys.stderr.write(f"{usage}\n")
        return EXIT_USAGE
    if args.command in MODEL_AT_START and not getattr(args, "rollback", False):
        try:  # the model is parsed on first use; these commands use it, so first use is now
            config.rules.model  # noqa: B018
        except ModelFileError as exc:
            sys.stderr.write(f"invalid configuration:\n  - category model: {exc}\n")
            return EXIT_CONFIG
        except OSError as exc:  # the applied model may not be read: a permission error, exit 6
            return _failed(exc)
    try:
        return COMMANDS[args.command](args, config)
    except (StoreError, OSError) as exc:  # named by cause: store damaged, disk full, ...
        return _failed(exc, config if args.command == "status" else None)


def _usage_error(args: argparse.Namespace) -> str:
    if args.command == "quarantine" and args.action in ("retry", "drop") and not args.id:
        return f"quarantine {args.action} needs an ID (see `inbox-agent quarantine`)"
    if args.command == "quarantine" and args.action == "drop" and not args.reason.strip():
        return "quarantine drop needs --reason: the record of a dropped mail keeps it"
    if args.command == "unfiled" and args.action == "file" and not args.id:
        return "unfiled file needs an ID (see `inbox-agent unfiled`)"
    return ""


def _failed(exc: BaseException, status_of: Config | None = None) -> int:
    """The error named by its cause, with its exit code (``failures.py``). ``status``
    that cannot read the store still shows the storage line it promises: why the data
    directory cannot be used is what the operator asked it for."""
    failure = describe_failure(exc)
    sys.stderr.write(f"error: {failure.text}\n")
    if status_of is not None:
        with contextlib.suppress(OSError):  # not even its parent can be looked at: said above
            sys.stderr.write(f"storage: {storage_report(status_of).state}\n")
    return failure.exit_code

"""`inbox-agent web` (the staff web app) and `inbox-agent staff add|remove|passwd`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from inbox_agent.config.loader import Config
from inbox_agent.entrypoints.bootstrap import build_web, staff_directory
from inbox_agent.entrypoints.cli_common import EXIT_CONFIG, EXIT_FAIL, EXIT_OK, console
from inbox_agent.services.staff_auth import AccountError, add_account, change_password, remove_account
from inbox_agent.services.web_ports import ROLES

PASSWORD_ENV = "INBOX_AGENT_STAFF_PASSWORD"  # for scripts: the password without a prompt


def add_web_parsers(sub: argparse._SubParsersAction) -> None:
    web = sub.add_parser("web", help="the staff web app (binds [web] host, 127.0.0.1 by default)")
    web.add_argument("--host", help="address to listen on (default: [web] host)")
    web.add_argument("--port", type=int, help="port (default: [web] port)")
    staff = sub.add_parser("staff", help="staff accounts of the web app")
    actions = staff.add_subparsers(dest="staff_action", required=True)
    add = actions.add_parser("add", help="add an account (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="agent")
    remove = actions.add_parser("remove", help="remove an account")
    remove.add_argument("name")
    passwd = actions.add_parser("passwd", help="set a new password (also unlocks the account)")
    passwd.add_argument("name")
    actions.add_parser("list", help="list the accounts and their roles")


def cmd_web(args: argparse.Namespace, config: Config) -> int:
    from inbox_agent.entrypoints.web.app import WebDeps, serve
    from inbox_agent.entrypoints.web.security import is_loopback

    host = args.host or config.web.host
    port = args.port or config.web.port
    if not config.web.secure_cookies and not is_loopback(host):
        sys.stderr.write(
            f"web: secure_cookies = false is only allowed on a loopback address, not {host}; "
            'serve staff through the TLS reverse proxy (README "Staff web app")\n'
        )
        return EXIT_CONFIG
    services = build_web(config)
    deps = WebDeps(
        config,
        services.reads,
        services.actions,
        services.directory,
        services.audit,
        services.clock,
        services.quarantine,
        services.outbox,
        services.unfiled,
        services.new_complaint,
    )
    console.print(f"staff web app on http://{host}:{port}/ (data in {config.storage.data_dir})")
    serve(deps, host, port)
    return EXIT_OK


def cmd_staff(args: argparse.Namespace, config: Config) -> int:
    directory = staff_directory(config)
    try:
        if args.staff_action == "list":
            for name in directory.names():
                account = directory.get(name)
                locked = f" (locked until {account.locked_until})" if account and account.locked_until else ""
                console.print(f"{name}\t{account.role if account else '?'}{locked}")
            return EXIT_OK
        if args.staff_action == "remove":
            remove_account(directory, args.name)
            console.print(f"{args.name} removed")
            return EXIT_OK
        password = _password()
        if args.staff_action == "add":
            add_account(directory, args.name, args.role, password)
            console.print(f"{args.name} added ({args.role})")
        else:
            change_password(directory, args.name, password)
            console.print(f"{args.name}: password changed, account unlocked")
    except AccountError as exc:
        console.print(str(exc), style="red")
        return EXIT_FAIL
    return EXIT_OK


def _password() -> str:
    given = os.environ.get(PASSWORD_ENV)
    if given is not None:
        return given
    try:
        first = getpass.getpass("password: ")
        again = getpass.getpass("again: ")
    except EOFError:  # no terminal and nothing on stdin (a script, cron)
        raise AccountError(f"no password given: type it at a terminal, or set ${PASSWORD_ENV}") from None
    if again != first:
        raise AccountError("the two passwords differ")
    return first

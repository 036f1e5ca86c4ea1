"""Helpers for end-to-end tests: a config for the test servers, complaint mails, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def write_config(
    folder: Path,
    *,
    dovecot: Any = None,
    smtp: Any = None,
    maildir: Path | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A config file for the test servers; ``overrides`` = {"section": {"key": value}}."""
    sections: dict[str, dict[str, Any]] = {
        "mailbox": {"address": "complaints@wallet.example", "poll_interval": "1s", "start_from": "all"},
        "storage": {"data_dir": str(folder / "data")},
        "acknowledge": {"per_case_interval": "0s", "per_sender_per_day": 50, "hotline": "400-000-0000"},
        "sla": {"default": "24h", "timezone": "Asia/Shanghai"},
        "staff": {"addresses": ["agent.li@staff.wallet.example"], "domains": ["staff.wallet.example"]},
        "templates": {"dir": str(ROOT / "inbox_agent" / "mail" / "templates")},
        "logging": {"level": "INFO"},
    }
    env: dict[str, str] = {}
    if dovecot is not None:
        sections["mailbox"]["kind"] = "imap"
        sections["mailbox.imap"] = {
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "plain",
            "allow_plaintext": True,
            "username": dovecot.user,
            "password_file": str(folder / "imap.secret"),
            "timeout": "10s",
            "batch_size": 20,
        }
        (folder / "imap.secret").write_text(dovecot.password)
    else:
        sections["mailbox"]["kind"] = "maildir"
        sections["mailbox.maildir"] = {"path": str(maildir or folder / "maildir"), "processed_action": "flag"}
    if smtp is not None:
        sections["smtp"] = {
            "kind": "smtp",
            "host": smtp.host,
            "port": smtp.port,
            "security": "plain",
            "timeout": "10s",
            "retry_initial": "0s",
            "retry_max": "0s",
        }
    else:
        sections["smtp"] = {"kind": "directory", "directory": str(folder / "outbox")}
    for name, values in (overrides or {}).items():
        sections.setdefault(name, {}).update(values)
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    del env
    return path


def complaint(
    sender: str,
    subject: str,
    body: str,
    *,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    date: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "complaints@wallet.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="customer.example")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if not in_reply_to:
        return msg.as_bytes()
    # Written as mail clients do, unfolded: the email package RFC 2047-encodes a
    # Message-ID longer than a line, which no client does.
    threading = f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n".encode()
    return threading + msg.as_bytes()


def cli(
    config: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m inbox_agent --config CONFIG ARGS...` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "inbox_agent", "--config", str(config), *args],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def start_daemon(config: Path) -> subprocess.Popen[bytes]:
    """`python -m inbox_agent --config CONFIG run` as a real background process
    (stdout and stderr together in ``stdout``); the caller stops it."""
    return subprocess.Popen(
        [sys.executable, "-m", "inbox_agent", "--config", str(config), "run"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def cli_json(config: Path, *args: str) -> Any:
    result = cli(config, *args, "--json")
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)

"""The CLI as ops use it, on a local Maildir (no server needed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import ROOT, cli, cli_json, complaint, write_config

from inbox_agent.domain.languages import REPLY_LANGUAGES


def _maildir(tmp_path: Path, mails: dict[str, bytes]) -> Path:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for name, raw in mails.items():
        (maildir / "new" / name).write_bytes(raw)
    return maildir


def test_dry_run_shows_decisions_and_changes_nothing(tmp_path: Path) -> None:
    maildir = _maildir(
        tmp_path, {"1.mail": complaint("a@example.com", "Payment failed", "Error E1023 at checkout.")}
    )
    config = write_config(tmp_path, maildir=maildir)
    result = cli(config, "run", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stdout
    assert "new case" in result.stdout
    assert (maildir / "new" / "1.mail").exists()
    assert not list((tmp_path / "data" / "cases").glob("*.json"))
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").iterdir())
    assert cli(config, "run", "--once").returncode == 0
    assert not (maildir / "new" / "1.mail").exists()
    assert len(list((maildir / "cur").iterdir())) == 1
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_classify_json_shape() -> None:
    config = ROOT / "config.example.toml"
    mail = next((ROOT / "examples" / "maildir" / "new").iterdir())
    data = cli_json(config, "classify", str(mail))
    for key in ("category", "categories", "language", "severity", "evidence", "missing", "skip"):
        assert key in data
    assert data["language"] in REPLY_LANGUAGES
    assert isinstance(data["evidence"], dict)


def test_check_reports_what_failed(tmp_path: Path) -> None:
    config = write_config(tmp_path, maildir=_maildir(tmp_path, {}))
    ok = cli(config, "check")
    assert ok.returncode == 0, ok.stdout
    assert "templates: ok" in ok.stdout

    class Closed:
        host, port, user, password = "127.0.0.1", 1, "agent", "secret"

    broken = tmp_path / "broken"
    broken.mkdir()
    config = write_config(broken, dovecot=Closed())
    result = cli(config, "check")
    assert result.returncode == 1
    assert "cannot connect to 127.0.0.1:1" in result.stdout
    assert "secret" not in result.stdout + result.stderr


def test_bad_config_lists_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[mailbox]\nkind = "pop3"\npoll_interval = "often"\n[nonsense]\n')
    result = cli(config, "status")
    assert result.returncode == 3
    for fragment in ("mailbox.kind", "mailbox.poll_interval", "nonsense: unknown key", "mailbox.address"):
        assert fragment in result.stderr


def test_quarantine_lists_the_reason_and_retry_runs_it_again(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "inbox_agent" / "mail" / "templates", templates)
    good = (templates / "ack_first.en.txt.j2").read_text()
    (templates / "ack_first.en.txt.j2").write_text(good + "{{ no_such_variable }}")
    maildir = _maildir(
        tmp_path,
        {
            "1.mail": complaint("a@example.com", "Payment failed", "Error E1023 at checkout."),
            "2.mail": b"\x00\x01 this is not a mail",
        },
    )
    config = write_config(tmp_path, maildir=maildir, overrides={"templates": {"dir": str(templates)}})
    assert cli(config, "run", "--once").returncode == 0
    entries = cli_json(config, "quarantine")
    assert len(entries) == 2
    stages = {entry["stage"] for entry in entries}
    assert stages == {"parse", "acknowledge"}
    assert all(entry["reason"] for entry in entries)
    broken = next(entry for entry in entries if entry["stage"] == "acknowledge")
    assert "no_such_variable" in broken["reason"]

    assert cli(config, "quarantine", "retry", broken["id"]).returncode == 1  # still broken
    (templates / "ack_first.en.txt.j2").write_text(good)
    retried = cli(config, "quarantine", "retry", broken["id"])
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert len(cli_json(config, "quarantine")) == 1
    (case,) = cli_json(config, "cases")
    assert case["customer"] == "a@example.com"
    assert cli(config, "run", "--once").returncode == 0  # sends the queued acknowledgement
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    status = json.loads(cli(config, "status", "--json").stdout)
    assert status["quarantined"] == 1


def test_customer_text_that_looks_like_terminal_markup_is_printed_as_it_is(tmp_path: Path) -> None:
    """Square brackets in a subject or a body are the customer's text: every command that
    prints it shows it as written (a stray "[/bold]" once made `show` raise)."""
    subject = "[/bold] charged twice [red]"
    body = "I was charged twice [/red] for 12.00 on 2026-11-20. [link=https://evil.example]refund[/link]"
    mail = complaint("a@example.com", subject, body)
    maildir = _maildir(tmp_path, {"1.mail": mail})
    (tmp_path / "one.eml").write_bytes(mail)
    config = write_config(tmp_path, maildir=maildir)
    run = cli(config, "run", "--once")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "[/bold]" in run.stdout
    (case,) = cli_json(config, "cases")
    for args in (
        ("cases",),
        ("show", case["case_id"]),
        ("classify", str(tmp_path / "one.eml")),
        ("escalate",),
    ):
        shown = cli(config, *args)
        assert shown.returncode == 0, (args, shown.stdout + shown.stderr)
        assert "Traceback" not in shown.stderr, args
    shown = cli(config, "show", case["case_id"]).stdout
    assert "[/bold] charged twice [red]" in shown and "[link=https://evil.example]" in shown

"""`status` says why outbox mail is retried or failed and when it is tried next: a
wrong SMTP password or a relay without STARTTLS was in the log only. The reason is one
line and never holds a password of ours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fakes import FakeAcceptedLog, FakeMailbox, FakeStore, FakeTransport
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.config.loader import load_config
from inbox_agent.config.settings import Secret
from inbox_agent.domain.clock import FixedClock, parse_iso
from inbox_agent.domain.model import OutgoingMail, SendOutcome, SendResult
from inbox_agent.domain.outbox import troubles
from inbox_agent.mail.render import TemplateSet
from inbox_agent.services.delivery import Delivery
from inbox_agent.services.intake import Intake

WRONG_PASSWORD = "Wr0ng-Passw0rd!"


def _one_complaint(tmp_path: Path, smtp: Any, smtp_overrides: dict[str, Any], password: str = "") -> Path:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.mail").write_bytes(
        complaint("kunde@example.com", "Payment failed", "Error E1023 on my transfer.")
    )
    if password:
        (tmp_path / "smtp.secret").write_text(password)
        smtp_overrides = {**smtp_overrides, "password_file": str(tmp_path / "smtp.secret")}
    overrides = {"smtp": {"retry_initial": "10m", "retry_max": "1h", **smtp_overrides}}
    config = write_config(tmp_path, maildir=maildir, smtp=smtp, overrides=overrides)
    run = cli(config, "run", "--once")
    assert run.returncode == 0, run.stdout + run.stderr
    return config


def _trouble(config: Path) -> tuple[dict[str, Any], str]:
    """The one outbox trouble `status --json` reports, and the row `status` prints for it."""
    status = cli_json(config, "status")
    (group,) = status["outbox_errors"]  # before: no such key, the reason was in the log only
    text = cli(config, "status")
    assert text.returncode == 0, text.stderr
    rows = _rows(text.stdout)
    (label,) = [key for key in rows if key in ("outbox retrying", "outbox failed mail")]
    return group, f"{label}: {rows[label]}"


def _rows(table: str) -> dict[str, str]:
    """The status table's rows, a value folded over several lines joined again."""
    rows: dict[str, str] = {}
    last = ""
    for line in table.splitlines():
        cells = line.split("│")
        if len(cells) != 4:
            continue
        key, value = cells[1].strip(), cells[2].strip()
        if key:
            last = key
            rows[key] = value
        else:
            rows[last] += " " + value
    return rows


def test_a_wrong_smtp_password_is_shown_with_the_next_attempt_and_without_the_password(
    smtp_factory, tmp_path: Path
) -> None:
    server = smtp_factory(auth_required=True)
    smtp = {"username": server.user, "allow_plaintext": True}
    started = datetime.now(UTC)
    config = _one_complaint(tmp_path, server, smtp, password=WRONG_PASSWORD)

    group, text = _trouble(config)
    assert (group["status"], group["mails"], group["attempts"]) == ("pending", 1, 1)
    assert "authentication failed" in group["error"] and "535" in group["error"]
    next_attempt = parse_iso(group["next_attempt_at"])
    assert started + timedelta(minutes=9) < next_attempt < datetime.now(UTC) + timedelta(minutes=11)
    assert (
        "outbox retrying" in text and "535" in text and f"next attempt at {group['next_attempt_at']}" in text
    )
    assert WRONG_PASSWORD not in text and WRONG_PASSWORD not in cli(config, "status", "--json").stdout
    assert server.received == []


def test_a_relay_without_starttls_is_shown_as_the_reason(smtp_server, tmp_path: Path) -> None:
    config = _one_complaint(tmp_path, smtp_server, {"security": "starttls"})

    group, text = _trouble(config)
    assert group["status"] == "pending" and "does not offer STARTTLS" in group["error"]
    assert group["next_attempt_at"] and "does not offer STARTTLS" in text and "next attempt at" in text


def test_failed_mail_shows_the_servers_answer_and_how_to_send_it_again(smtp_server, tmp_path: Path) -> None:
    smtp_server.refuse_recipient = "kunde@example.com"
    config = _one_complaint(tmp_path, smtp_server, {})

    group, text = _trouble(config)
    assert group["status"] == "failed" and "550 5.1.1" in group["error"]
    assert group["next_attempt_at"] == ""  # never tried again on its own
    (failed,) = cli_json(config, "outbox", "list", "--failed")
    assert group["outbox_ids"] == [failed["outbox_id"]]
    assert "outbox failed mail" in text and "550 5.1.1" in text and "outbox retry" in text


class _EchoingTransport(FakeTransport):
    """A relay (or a library) that puts what it was sent into its answer, over two lines."""

    def send_batch(self, mails: list[OutgoingMail]) -> list[SendResult]:
        detail = f"535 5.7.8 bad credentials\n for mailer/{WRONG_PASSWORD}"
        return [SendResult(mail.outbox_id, SendOutcome.RETRY, detail) for mail in mails]


def test_the_recorded_reason_is_one_line_without_our_password(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    config = replace(config, smtp=replace(config.smtp, password=Secret(WRONG_PASSWORD)))
    store, now = FakeStore(), datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    mail = complaint("kunde@example.com", "Payment failed", "Error E1023.")
    Intake(config, store, FakeMailbox([mail]), TemplateSet(), FixedClock(now)).poll()  # type: ignore[arg-type]
    Delivery(config, store, _EchoingTransport(), FixedClock(now), FakeAcceptedLog()).send_due()  # type: ignore[arg-type]

    (entry,) = store.outbox.values()
    assert entry["last_error"] == "535 5.7.8 bad credentials for mailer/********"
    (case,) = store.cases.values()
    assert all(WRONG_PASSWORD not in event.detail for event in case.events)


def test_reasons_are_grouped_and_mail_waiting_for_its_first_send_is_no_trouble() -> None:
    def entry(number: int, status: str, attempts: int, error: str, at: str) -> dict[str, Any]:
        return {
            "outbox_id": f"m{number}",
            "status": status,
            "attempts": attempts,
            "last_error": error,
            "next_attempt_at": at,
        }

    auth = "authentication failed for user mailer at relay:587: 535 5.7.8 bad credentials"
    groups = troubles(
        [
            entry(1, "pending", 0, "", "2026-12-01T09:00:00+00:00"),  # queued, not tried yet
            entry(2, "pending", 2, auth, "2026-12-01T09:20:00+00:00"),
            entry(3, "pending", 3, auth, "2026-12-01T09:10:00+00:00"),
            entry(4, "failed", 1, "550 5.1.1 no such user\n(second line)", "2026-12-01T08:00:00+00:00"),
        ]
    )
    assert [(g["status"], g["mails"], g["outbox_ids"]) for g in groups] == [
        ("failed", 1, ["m4"]),
        ("pending", 2, ["m2", "m3"]),
    ]
    assert groups[0]["error"] == "550 5.1.1 no such user (second line)" and groups[0]["next_attempt_at"] == ""
    assert groups[1]["attempts"] == 3 and groups[1]["next_attempt_at"] == "2026-12-01T09:10:00+00:00"

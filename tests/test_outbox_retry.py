"""`outbox list` and `outbox retry`: mail the server refused for good is put back once
ops fixed the cause, through one commit, recorded on its case, and sent by the daemon;
what cannot be sent again is refused with its cause."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeStore
from helpers import cli, cli_json, complaint, start_daemon, write_config

from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import load_config
from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.domain.model import Case, CaseStatus, SendOutcome, SendResult
from inbox_agent.domain.outbox import FAILED, PENDING, after_result, requeued
from inbox_agent.services.outbox_retry import RetryRefused, RetrySelection, retry_failed_mail
from inbox_agent.services.retention import purge
from inbox_agent.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _maildir(folder: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (folder / "maildir" / sub).mkdir(parents=True, exist_ok=True)
    return folder / "maildir"


def _deliver(maildir: Path, name: str, sender: str) -> None:
    (maildir / "new" / name).write_bytes(complaint(sender, "Payment failed", "Error E1023 on my transfer."))


def _events(config: Path, case_id: str, kind: str) -> list[dict[str, Any]]:
    return [event for event in cli_json(config, "show", case_id)["events"] if event["kind"] == kind]


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_failed_mail_is_listed_retried_by_ops_and_sent_by_the_running_daemon(
    smtp_server, tmp_path: Path
) -> None:
    maildir = _maildir(tmp_path)
    config = write_config(tmp_path, maildir=maildir, smtp=smtp_server)
    smtp_server.refuse_recipient = "kunde@example.com"  # 550 at RCPT: failed for good
    _deliver(maildir, "1.mail", "kunde@example.com")
    assert cli(config, "run", "--once").returncode == 0
    (failed,) = cli_json(config, "outbox", "list", "--failed")
    assert failed["status"] == FAILED and "550" in failed["last_error"]
    listed = cli(config, "outbox")
    assert failed["outbox_id"] in listed.stdout and "1 failed" in listed.stdout, listed.stdout
    assert failed["outbox_id"] in cli(config, "show", failed["case_id"]).stdout

    daemon = start_daemon(config)
    try:
        time.sleep(2.5)  # cycles of the daemon: failed mail is not tried on its own
        assert smtp_server.received == []
        smtp_server.refuse_recipient = ""  # ops fix the cause (the mailbox exists again)
        retry = cli(config, "outbox", "retry", failed["outbox_id"], "--by", "ops.wang")
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert "ops.wang" in retry.stdout and failed["outbox_id"] in retry.stdout
        (mail,) = smtp_server.wait_for(1, timeout=30)  # before: no way to send it again
        assert _wait(lambda: not cli_json(config, "outbox", "list"), 30)
    finally:
        daemon.send_signal(signal.SIGTERM)
        output = daemon.communicate(timeout=30)[0].decode(errors="replace")
    assert daemon.returncode == 0, output
    assert mail.rcpt_tos == ("kunde@example.com",)
    assert f"Message-ID: {failed['message_id']}".encode() in mail.raw  # the same mail, not a new one
    (event,) = _events(config, failed["case_id"], "mail_retried")
    assert event["actor"] == "ops.wang" and "550" in event["detail"]
    kinds = [event["kind"] for event in cli_json(config, "show", failed["case_id"])["events"]]
    assert kinds.index("mail_failed") < kinds.index("mail_retried") < kinds.index("mail_sent")
    assert cli_json(config, "status")["outbox_failed"] == 0


def test_unknown_ids_and_mail_that_is_not_failed_are_refused_and_nothing_is_retried(
    smtp_server, tmp_path: Path
) -> None:
    maildir = _maildir(tmp_path)
    config = write_config(tmp_path, maildir=maildir, smtp=smtp_server)
    smtp_server.refuse_recipient = "gone@example.com"
    _deliver(maildir, "1.mail", "gone@example.com")
    assert cli(config, "run", "--once").returncode == 0
    smtp_server.fault = "451"  # the next mail is kept for retry: pending, not failed
    _deliver(maildir, "2.mail", "waiting@example.com")
    assert cli(config, "run", "--once").returncode == 0
    entries = {entry["recipients"][0]: entry for entry in cli_json(config, "outbox", "list")}
    failed, pending = entries["gone@example.com"], entries["waiting@example.com"]
    assert (failed["status"], pending["status"]) == (FAILED, PENDING)

    unknown = cli(config, "outbox", "retry", "WLT-2099-000001.ack_first.0000000000000000")
    assert unknown.returncode == 1 and "no such outbox mail" in unknown.stdout, unknown.stdout
    not_failed = cli(config, "outbox", "retry", failed["outbox_id"], pending["outbox_id"])
    assert not_failed.returncode == 1
    assert f"{pending['outbox_id']}: not failed (pending" in not_failed.stdout, not_failed.stdout
    assert "nothing retried" in not_failed.stdout
    assert cli_json(config, "outbox", "list", "--failed") == [failed]  # untouched: all or nothing
    no_case = cli(config, "outbox", "retry", "--case", "WLT-2099-000009")
    assert no_case.returncode == 1 and "no such case" in no_case.stdout
    quiet_case = cli(config, "outbox", "retry", "--case", pending["case_id"])
    assert quiet_case.returncode == 1 and "has no failed outbox mail" in quiet_case.stdout
    assert cli(config, "outbox", "retry").returncode == 2  # nothing named: a usage error

    everything = cli(config, "outbox", "retry", "--all-failed")
    assert everything.returncode == 0, everything.stdout
    after = {entry["outbox_id"]: entry for entry in cli_json(config, "outbox", "list")}
    assert after[failed["outbox_id"]]["status"] == PENDING
    assert after[failed["outbox_id"]]["attempts"] == 0
    assert after[pending["outbox_id"]] == pending  # only failed mail is touched
    again = cli(config, "outbox", "retry", "--all-failed")
    assert again.returncode == 1 and "no outbox mail is failed" in again.stdout


def test_mail_retention_erased_with_its_case_is_refused_naming_retention(tmp_path: Path) -> None:
    maildir = _maildir(tmp_path)
    config = write_config(tmp_path, maildir=maildir, overrides={"storage": {"retention_days": 30}})
    _deliver(maildir, "1.mail", "old@example.com")
    assert cli(config, "run", "--once").returncode == 0
    (case,) = cli_json(config, "cases")
    assert cli(config, "resolve", case["case_id"], "fixed").returncode == 0
    store = Store(load_config(config).storage.data_dir)
    (entry,) = store.outbox_entries()  # the resolution mail, refused for good
    with UnitOfWork(store) as uow:
        uow.changes.outbox[entry["outbox_id"]] = {**entry, "status": FAILED, "last_error": "550 no such user"}
        uow.commit()
    resolved_at = parse_iso(store.get_case(case["case_id"]).updated_at)
    assert purge(store, resolved_at + timedelta(days=31), 30).unsent_dropped == 1

    refused = cli(config, "outbox", "retry", entry["outbox_id"])
    assert refused.returncode == 1
    assert "retention erased the raw mail of " + case["case_id"] in refused.stdout, refused.stdout
    by_case = cli(config, "outbox", "retry", "--case", case["case_id"])
    assert by_case.returncode == 1 and "has no failed outbox mail" in by_case.stdout


# -- the service on the in-memory store ------------------------------------------------


def _case(case_id: str) -> Case:
    at = iso(NOW - timedelta(days=7))
    return Case(
        case_id=case_id,
        seq=int(case_id.rsplit("-", 1)[1]),
        customer="kunde@example.com",
        customer_name="",
        subject="Payment failed",
        language="en",
        category="transaction_failed",
        categories=("transaction_failed",),
        confidence=0.9,
        matched=(),
        severity="normal",
        status=CaseStatus.WAITING_CUSTOMER,
        created_at=at,
        updated_at=at,
    )


def _failed(store: FakeStore, case_id: str, *, keep_bytes: bool = True) -> dict[str, Any]:
    raw = f"Message-ID: <{case_id}@wallet.example>\r\n\r\nhello".encode()
    sha = store.put_blob(raw) if keep_bytes else "0" * 64
    entry = {
        "outbox_id": f"{case_id}.ack_first.0123456789abcdef",
        "case_id": case_id,
        "kind": "ack_first",
        "message_id": f"<{case_id}@wallet.example>",
        "sender": "complaints@wallet.example",
        "recipients": ["kunde@example.com"],
        "raw_sha256": sha,
        "subject": "Re: Payment failed",
        "status": FAILED,
        "attempts": 3,
        "queued_at": iso(NOW - timedelta(days=6)),
        "next_attempt_at": iso(NOW - timedelta(days=1)),
        "last_error": "gave up after 5 days of retrying: 452 4.2.2 mailbox full",
    }
    store.outbox[entry["outbox_id"]] = entry
    return entry


def test_retry_is_one_commit_with_an_event_on_each_case() -> None:
    store = FakeStore()
    for case_id in ("WLT-2026-000001", "WLT-2026-000002"):
        store.cases[case_id] = _case(case_id)
        _failed(store, case_id)
    retried = retry_failed_mail(store, RetrySelection(all_failed=True), "ops.wang", NOW)
    assert len(retried) == 2 and store.commits == 1
    for entry in store.outbox.values():
        assert (entry["status"], entry["attempts"], entry["next_attempt_at"]) == (PENDING, 0, iso(NOW))
    for case in store.cases.values():
        event = case.events[-1]
        assert (event.kind, event.actor) == ("mail_retried", "ops.wang")
        assert "mailbox full" in event.detail


def test_mail_whose_bytes_or_case_are_gone_is_refused_and_nothing_changes() -> None:
    store = FakeStore()
    store.cases["WLT-2026-000001"] = _case("WLT-2026-000001")
    no_bytes = _failed(store, "WLT-2026-000001", keep_bytes=False)  # retention cut off mid-way
    no_case = _failed(store, "WLT-2026-000002")  # a case the store does not hold
    with pytest.raises(RetryRefused) as refused:
        retry_failed_mail(store, RetrySelection(all_failed=True), "ops.wang", NOW)
    problems = "\n".join(refused.value.problems)
    assert f"{no_bytes['outbox_id']}: its bytes were erased" in problems
    assert f"{no_case['outbox_id']}: its case WLT-2026-000002 is not stored" in problems
    assert store.commits == 0 and all(entry["status"] == FAILED for entry in store.outbox.values())


def test_a_retried_mail_gets_its_days_of_retries_again() -> None:
    """Given up on after five days of 4xx, then put back: the first 4xx after that is
    retried, not failed again at once (the give-up clock counts from the retry)."""
    store = FakeStore()
    entry = _failed(store, "WLT-2026-000001")
    back = requeued(entry, NOW)
    full = SendResult(entry["outbox_id"], SendOutcome.RETRY, "452 4.2.2 mailbox full")
    after = after_result(back, full, NOW + timedelta(minutes=1), 60, 3600)
    assert after is not None and after["status"] == PENDING and after["attempts"] == 1
    assert after_result(back, full, NOW + timedelta(days=6), 60, 3600)["status"] == FAILED

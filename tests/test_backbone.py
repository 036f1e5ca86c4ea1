"""Acceptance of the backbone against the real Dovecot: once, in the right case, through crashes."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, start_daemon, write_config

from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import load_config

pytestmark = pytest.mark.dovecot


def _stored(config_path: Path) -> tuple[list[dict], list]:
    config = load_config(config_path)
    store = Store(config.storage.data_dir)
    store.rebuild_index()
    cases = [case for case in store.iter_cases()]
    messages = [m for case in cases for m in store.case_messages(case.case_id) if m.direction == "in"]
    messages += [m for m in store.unfiled_messages()]
    return cases, messages


def _mails(count: int, replies: int) -> list[bytes]:
    """``count`` complaints from distinct customers, then ``replies`` follow-ups to the first ones."""
    raws = []
    for i in range(count):
        raws.append(
            complaint(
                f"customer{i}@example.com",
                f"Charged twice for order {i}",
                f"Hello, I was charged twice for my order on 2026-11-1{i % 10}. Amount ¥{100 + i}.00. Please refund.",
                message_id=f"<complaint-{i}@example.com>",
            )
        )
    for i in range(replies):
        raws.append(
            complaint(
                f"customer{i}@example.com",
                f"Re: Charged twice for order {i}",
                f"The transaction id is TXN20261118{i:04d}.",
                message_id=f"<reply-{i}@example.com>",
                in_reply_to=f"<complaint-{i}@example.com>",
            )
        )
    return raws


def test_fifty_mails_stored_once_each_in_the_right_case(dovecot, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    dovecot.append_many(_mails(40, 10))
    first = cli(config, "run", "--once")
    assert first.returncode == 0, first.stderr + first.stdout

    cases, messages = _stored(config)
    assert len(messages) == 50
    assert len({m.raw_sha256 for m in messages}) == 50
    assert len(cases) == 40
    by_customer = {case.customer: case for case in cases}
    for i in range(10):
        case = by_customer[f"customer{i}@example.com"]
        ids = {m.message_id for m in messages if m.case_id == case.case_id}
        assert ids == {f"<complaint-{i}@example.com>", f"<reply-{i}@example.com>"}
    # processed mail is flagged on the server, never marked \Seen by us
    for uid in dovecot.uids():
        flags = dovecot.flags(uid)
        assert b"$InboxAgentDone" in flags
        assert b"\\Seen" not in flags

    state_before = (tmp_path / "data" / "cases").glob("*.json")
    snapshot = {p.name: p.read_bytes() for p in state_before}
    second = cli(config, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "data" / "cases").glob("*.json")} == snapshot
    assert len(_stored(config)[1]) == 50

    dovecot.append(
        complaint(
            "late@example.com", "My withdrawal never arrived", "Withdrawal of 500元 pending for 5 days."
        )
    )
    third = cli(config, "run", "--once")
    assert third.returncode == 0
    cases, messages = _stored(config)
    assert len(messages) == 51
    assert any(case.customer == "late@example.com" for case in cases)


def test_reply_joins_only_from_the_customer(dovecot, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    dovecot.append(
        complaint(
            "alice@example.com",
            "Account frozen",
            "My account is frozen since yesterday.",
            message_id="<a1@example.com>",
        )
    )
    assert cli(config, "run", "--once").returncode == 0
    (case,) = cli_json(config, "cases")
    case_id = case["case_id"]

    # The customer answers with the case id in the subject: joins.
    dovecot.append(
        complaint(
            "alice@example.com",
            f"Re: [{case_id}] Account frozen",
            "My wallet id is 13800001111.",
            message_id="<a2@example.com>",
        )
    )
    # A stranger quotes the same case id and Message-ID: a new case, the victim's case untouched.
    dovecot.append(
        complaint(
            "mallory@example.net",
            f"Re: [{case_id}] Account frozen",
            "Please send me the details.",
            message_id="<m1@example.net>",
            in_reply_to="<a1@example.com>",
        )
    )
    assert cli(config, "run", "--once").returncode == 0
    cases = {c["customer"]: c for c in cli_json(config, "cases")}
    assert set(cases) == {"alice@example.com", "mallory@example.net"}
    assert cases["alice@example.com"]["case_id"] == case_id
    alice = cli_json(config, "show", case_id)
    assert [m["message_id"] for m in alice["messages"] if m["direction"] == "in"] == [
        "<a1@example.com>",
        "<a2@example.com>",
    ]
    mallory = cli_json(config, "show", cases["mallory@example.net"]["case_id"])
    assert any(case_id in event["detail"] for event in mallory["events"])


def test_new_uidvalidity_does_not_duplicate(dovecot, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    raws = _mails(12, 0)
    dovecot.append_many(raws)
    assert cli(config, "run", "--once").returncode == 0
    dovecot.recreate_mailbox("INBOX")
    dovecot.append_many(raws)  # the same mails, new UIDs under a new UIDVALIDITY
    result = cli(config, "run", "--once")
    assert result.returncode == 0, result.stderr
    cases, messages = _stored(config)
    assert len(cases) == 12
    assert len(messages) == 12


@pytest.mark.parametrize(
    "point",
    [
        "after_fetch",
        "after_parse:7",
        "before_commit",
        "blobs_renamed",
        "after_commit",
        "after_journal",
        "store_mid_write:2",
    ],
)
def test_sigkill_mid_batch_then_restart_processes_everything_once(
    dovecot, tmp_path: Path, point: str
) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    dovecot.append_many(_mails(30, 5))
    crashed = cli(config, "run", "--once", env={"INBOX_AGENT_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    again = cli(config, "run", "--once")
    assert again.returncode == 0, again.stderr
    cases, messages = _stored(config)
    assert len(messages) == 35
    assert len({m.raw_sha256 for m in messages}) == 35
    assert len(cases) == 30
    outbox_files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(outbox_files) == len({p.name for p in outbox_files})


def test_daemon_killed_from_outside_mid_run_then_restarted(dovecot, tmp_path: Path) -> None:
    """A real daemon process, SIGKILLed while it works through a backlog."""
    config = write_config(tmp_path, dovecot=dovecot, overrides={"mailbox.imap": {"batch_size": 5}})
    dovecot.append_many(_mails(60, 0))
    daemon = start_daemon(config)
    data = tmp_path / "data" / "cases"
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(data.glob("0*.json")):
        time.sleep(0.05)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(10)
    assert cli(config, "run", "--once").returncode == 0
    cases, messages = _stored(config)
    assert len(messages) == 60
    assert len(cases) == 60


def test_sigterm_finishes_the_batch_and_exits_zero(dovecot, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    dovecot.append_many(_mails(5, 0))
    daemon = start_daemon(config)
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_stored(config)[1]) < 5:
        time.sleep(0.1)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(15) == 0
    status = cli_json(config, "status")
    assert status["processed_total"] == 5
    assert status["mailbox"] == "ok"


def test_second_daemon_refuses_to_start(dovecot, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    daemon = start_daemon(config)
    try:
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (tmp_path / "data" / "daemon.lock").exists():
            time.sleep(0.05)
        time.sleep(0.5)
        second = cli(config, "run", "--once")
        assert second.returncode == 1
        assert "another inbox-agent daemon" in second.stdout + second.stderr
        # read-only CLI commands work while the daemon runs
        assert cli(config, "status").returncode == 0
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(15)


def test_oversized_mail_is_quarantined_without_download(dovecot, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot, overrides={"mailbox": {"max_message_size": "20KB"}})
    dovecot.append(complaint("big@example.com", "Huge screenshot", "x" * 50_000))
    dovecot.append(complaint("small@example.com", "Payment failed", "Payment failed with error E1023."))
    assert cli(config, "run", "--once").returncode == 0
    entries = cli_json(config, "quarantine")
    assert len(entries) == 1
    assert "too large" in entries[0]["reason"]
    assert [c["customer"] for c in cli_json(config, "cases")] == ["small@example.com"]


def test_status_reports_an_unreachable_mailbox(tmp_path: Path) -> None:
    class Closed:
        host, port, user, password = "127.0.0.1", 1, "agent", "secret"

    config = write_config(tmp_path, dovecot=Closed())
    result = cli(config, "run", "--once")
    assert result.returncode == 1
    status = json.loads(cli(config, "status", "--json").stdout)
    assert status["mailbox"].startswith("error")

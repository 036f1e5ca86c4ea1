"""`unfiled`: the mail the daemon kept but put on no case (auto-replies, bounces, list
and no-reply mail) listed for staff, newest first, masked, by reason, through the real
command on mail a cycle filed."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers import cli, cli_json, complaint, write_config

from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.domain.model import MessageRecord
from inbox_agent.policies.unfiled import why_not_fileable
from inbox_agent.services.ports import Changes
from inbox_agent.views.unfiled import unfiled_listing


def _deliver(maildir: Path, name: str, raw: bytes, hours_ago: int) -> None:
    path = maildir / "new" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    received = (datetime.now(UTC) - timedelta(hours=hours_ago)).timestamp()
    os.utime(path, (received, received))  # a Maildir mail's receipt time is its file's


def test_unfiled_lists_what_no_case_holds_newest_first_and_masked(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    form = complaint(
        "Website <no-reply@forms.wallet.example>",
        "Contact form",
        "My account is locked. The code I got was 验证码：482913",
        headers={"Reply-To": "amy@example.com"},
    )
    away = complaint(
        "bob@acme.example", "Out of office", "Back Monday.", headers={"Auto-Submitted": "auto-replied"}
    )
    listed = complaint(
        "news@shop.example", "Offers", "Spring offers.", headers={"List-Id": "<offers.shop.example>"}
    )
    _deliver(maildir, "1.mail", away, hours_ago=30)
    _deliver(maildir, "2.mail", listed, hours_ago=20)
    _deliver(maildir, "3.mail", form, hours_ago=10)
    _deliver(maildir, "4.mail", complaint("carol@example.com", "Payment failed", "Error E1023."), hours_ago=5)
    config = write_config(tmp_path, maildir=maildir)
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr

    shown = cli_json(config, "unfiled")
    assert [(m["sender"], m["reason"]) for m in shown] == [
        ("no-reply@forms.wallet.example", "no_reply"),
        ("news@shop.example", "list"),
        ("bob@acme.example", "auto_reply"),
    ]
    assert "482913" not in str(shown) and "My account is locked" in shown[0]["text"]
    assert all(m["raw_kept"] for m in shown)
    assert [m["reason"] for m in cli_json(config, "unfiled", "--reason", "list")] == ["list"]
    assert len(cli_json(config, "unfiled", "--limit", "1")) == 1

    table = cli(config, "unfiled")
    assert table.returncode == 0, table.stderr
    assert "3 of 3 shown; filed under no case by reason: auto_reply 1, list 1, no_reply 1" in " ".join(
        table.stdout.split()
    )
    assert "482913" not in table.stdout
    # `status` counts the last seven days' by reason, so a misread web form is noticed.
    status = cli_json(config, "status")
    assert status["unfiled_last_7_days"] == {"auto_reply": 1, "list": 1, "no_reply": 1}


def _record(key: str, received_at: str, skip: str, case_id: str = "") -> MessageRecord:
    return MessageRecord(
        key=key,
        case_id=case_id,
        direction="in",
        message_id="",
        raw_sha256=key,
        sender="x@example.com",
        subject="s",
        date="",
        received_at=received_at,
        source="test",
        text="t",
        skip=skip,
    )


def test_the_listing_counts_every_reason_but_shows_the_one_asked_for() -> None:
    messages = [
        _record("a", "2026-11-01T00:00:00+00:00", "bounce"),
        _record("b", "2026-11-03T00:00:00+00:00", "no_reply"),
        _record("c", "2026-11-02T00:00:00+00:00", "no_reply"),
        _record("d", "2026-11-04T00:00:00+00:00", "", case_id="WLT-2026-000001"),  # on a case: not listed
    ]
    listing = unfiled_listing(messages, "no_reply", limit=1)
    assert [m.key for m in listing.shown] == ["b"]
    assert listing.matching == 2 and listing.by_reason == {"bounce": 1, "no_reply": 2}


# --- filing a kept mail as a complaint ----------------------------------------------------

AWAY_BUT_COMPLAINT = complaint(
    "bob@acme.example",
    "Automatic reply: my payment failed",
    "My payment of $20.00 failed with error E1023 and the money left my account.",
    headers={"Auto-Submitted": "auto-generated"},  # his mail client marks every mail so
)
BOUNCE = complaint(
    "MAILER-DAEMON@mx.acme.example", "Undelivered Mail Returned to Sender", "The mail could not be delivered."
)
FORM = complaint(
    "Website <no-reply@forms.wallet.example>",
    "Contact form",
    "My account is locked and I cannot pay.",
    headers={"Reply-To": "Amy Lee <amy@example.com>"},
)


def _kept(tmp_path: Path, **overrides: Any) -> tuple[Path, dict[str, dict[str, Any]]]:
    """A cycle that keeps the three mails on no case; the listing by sender."""
    maildir = tmp_path / "maildir"
    for sub in ("cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for name, raw in (("1.mail", AWAY_BUT_COMPLAINT), ("2.mail", BOUNCE), ("3.mail", FORM)):
        _deliver(maildir, name, raw, hours_ago=1)
    config = write_config(tmp_path, maildir=maildir, overrides=overrides)
    assert cli(config, "run", "--once").returncode == 0
    return config, {m["sender"]: m for m in cli_json(config, "unfiled")}


def test_staff_file_a_kept_mail_as_a_complaint_and_it_is_answered(tmp_path: Path) -> None:
    config, kept = _kept(tmp_path)
    assert cli_json(config, "cases") == []
    entry = kept["bob@acme.example"]
    assert entry["reason"] == "auto_reply" and entry["never_filed"] == ""

    filed = cli(config, "unfiled", "file", entry["id"], "--by", "alice")
    assert filed.returncode == 0, filed.stdout + filed.stderr
    (case,) = cli_json(config, "cases")
    assert (case["customer"], case["category"]) == ("bob@acme.example", "transaction_failed")
    shown = cli_json(config, "show", case["case_id"])
    (event,) = [e for e in shown["events"] if e["kind"] == "filed_by_staff"]
    assert event["actor"] == "alice" and "auto_reply" in event["detail"]
    assert [m["kind"] for m in shown["outbox"]] == ["ack_first"]
    # Off the unfiled list, in the same commit; the store is consistent.
    assert "bob@acme.example" not in {m["sender"] for m in cli_json(config, "unfiled")}
    assert cli(config, "verify").returncode == 0
    again = cli(config, "unfiled", "file", entry["id"])
    assert again.returncode == 1 and "no mail filed under no case" in again.stdout

    assert cli(config, "run", "--once").returncode == 0  # the daemon sends the answer
    sent = [path.read_bytes() for path in (tmp_path / "outbox").rglob("*") if path.is_file()]
    assert any(b"bob@acme.example" in raw and case["case_id"].encode() in raw for raw in sent)


def test_a_bounce_is_never_filed_and_a_no_reply_form_needs_its_relay_named(tmp_path: Path) -> None:
    config, kept = _kept(tmp_path)
    bounce = kept["mailer-daemon@mx.acme.example"]
    assert "delivery report" in bounce["never_filed"]
    refused = cli(config, "unfiled", "file", bounce["id"])
    assert refused.returncode == 1 and "nobody to answer" in refused.stdout

    form = kept["no-reply@forms.wallet.example"]
    refused = cli(config, "unfiled", "file", form["id"])
    assert refused.returncode == 1 and "form_relays" in refused.stdout
    assert cli_json(config, "cases") == []  # nothing was filed, nothing written

    # Once ops name the form, the same mail is the customer's.
    config.write_text(config.read_text() + '\n[trust]\nform_relays = ["no-reply@forms.wallet.example"]\n')
    filed = cli(config, "unfiled", "file", form["id"], "--by", "alice")
    assert filed.returncode == 0, filed.stdout + filed.stderr
    (case,) = cli_json(config, "cases")
    assert case["customer"] == "amy@example.com"


def test_what_can_never_be_filed_says_why() -> None:
    purged = replace(_record("p", "2026-11-01T00:00:00+00:00", "auto_reply"), flags=("raw_purged",))
    assert "retention" in why_not_fileable(purged)
    assert why_not_fileable(_record("a", "2026-11-01T00:00:00+00:00", "list")) == ""
    for reason in ("bounce", "loop", "own_mail", "no_sender", "staff_without_case"):
        assert why_not_fileable(_record("b", "2026-11-01T00:00:00+00:00", reason)), reason


def test_the_store_reads_only_the_months_asked_for(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    changes = Changes(
        messages=[
            _record("old", "2026-09-30T23:59:00+00:00", "list"),
            _record("new", "2026-11-02T08:00:00+00:00", "auto_reply"),
            _record("newer", "2026-11-20T08:00:00+00:00", "no_reply"),
        ]
    )
    store.commit(changes)
    assert {m.key for m in store.unfiled_messages()} == {"old", "new", "newer"}
    assert {m.key for m in store.unfiled_messages(since="2026-11-10T00:00:00+00:00")} == {"newer"}
    assert {m.key for m in store.unfiled_messages(since="2026-10-01T00:00:00+00:00")} == {"new", "newer"}

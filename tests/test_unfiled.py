"""`unfiled`: the mail the daemon kept but put on no case (auto-replies, bounces, list
and no-reply mail) listed for staff, newest first, masked, by reason, through the real
command on mail a cycle filed."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers import cli, cli_json, complaint, write_config

from inbox_agent.domain.model import MessageRecord
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

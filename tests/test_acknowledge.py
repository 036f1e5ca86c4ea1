"""Acceptance of the acknowledgement flow: real Dovecot in, real SMTP server out."""

from __future__ import annotations

import email
import email.policy
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import ROOT, cli, cli_json, complaint, write_config

from inbox_agent.mail.render import TemplateSet

pytestmark = pytest.mark.dovecot

LABELS = {
    lang: TemplateSet(ROOT / "inbox_agent" / "mail" / "templates").labels(lang) for lang in ("en", "zh")
}


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def _asks_for(text: str, language: str, evidence_id: str) -> bool:
    """The missing-evidence list has one "- <label>" line per item still needed."""
    label = LABELS[language].evidence_text(evidence_id).label
    return any(line.strip() == f"- {label}" for line in text.splitlines())


def _ack_for(server, recipient: str) -> list[EmailMessage]:
    return [_parse(m.raw) for m in server.received if recipient in m.rcpt_tos]


def test_one_acknowledgement_per_complaint_then_followup_then_complete(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    dovecot.append(
        complaint(
            "wang@example.cn",
            "付款失败",
            "你好，我昨天在商店付款失败了，金额是268.50元，屏幕上提示“交易失败（E1024）”。请帮忙处理。",
            message_id="<zh-1@example.cn>",
        )
    )
    dovecot.append(
        complaint(
            "emma@example.com",
            "Payment failed at checkout",
            "Hi, my card payment of $42.00 failed on 2026-11-19 at 3:30 pm. Please help.",
            message_id="<en-1@example.com>",
        )
    )
    result = cli(config, "run", "--once")
    assert result.returncode == 0, result.stderr + result.stdout
    assert len(smtp_server.wait_for(2)) == 2
    time.sleep(0.3)
    assert len(smtp_server.received) == 2

    cases = {c["customer"]: c for c in cli_json(config, "cases")}
    zh_case, en_case = cases["wang@example.cn"], cases["emma@example.com"]
    assert zh_case["category"] == en_case["category"] == "transaction_failed"

    (zh_ack,) = _ack_for(smtp_server, "wang@example.cn")
    zh_text = _text(zh_ack)
    assert zh_case["case_id"] in zh_ack["Subject"]
    assert LABELS["zh"].category("transaction_failed") in zh_text
    assert zh_ack["Auto-Submitted"] == "auto-replied"
    assert zh_ack["In-Reply-To"] == "<zh-1@example.cn>"
    assert _asks_for(zh_text, "zh", "transaction_id")
    assert not _asks_for(zh_text, "zh", "amount")

    (en_ack,) = _ack_for(smtp_server, "emma@example.com")
    en_text = _text(en_ack)
    assert en_case["case_id"] in en_ack["Subject"]
    assert LABELS["en"].category("transaction_failed") in en_text
    assert _asks_for(en_text, "en", "transaction_id")
    assert _asks_for(en_text, "en", "error_message")
    assert not _asks_for(en_text, "en", "amount")

    # The customer answers with the transaction id: the follow-up no longer asks for it.
    smtp_server.clear()
    dovecot.append(
        complaint(
            "emma@example.com",
            f"Re: [{en_case['case_id']}] Payment failed at checkout",
            "Here it is: transaction ID TXN8827361541. The shop was Corner Cafe.",
            message_id="<en-2@example.com>",
            in_reply_to=en_ack["Message-ID"],
        )
    )
    assert cli(config, "run", "--once").returncode == 0
    (followup,) = [_parse(m.raw) for m in smtp_server.wait_for(1)]
    missing_after = cli_json(config, "show", en_case["case_id"])["missing"]
    assert "transaction_id" not in missing_after
    assert not _asks_for(_text(followup), "en", "transaction_id")
    assert _asks_for(_text(followup), "en", "error_message")

    # Everything else arrives: the "complete" mail.
    smtp_server.clear()
    body = "Attached is what you asked for. " + " ".join(
        {
            "transaction_date": "It happened on 2026-11-19.",
            "transaction_time": "At 15:30.",
            "amount": "The amount was $42.00.",
            "error_message": 'The error said "Payment declined".',
            "screenshot": "",
            "account_id": "My registered email is emma@example.com.",
            "recipient": "The recipient was Corner Cafe.",
            "desired_resolution": "I want a refund.",
        }.get(item, "")
        for item in missing_after
    )
    reply = complaint(
        "emma@example.com",
        f"Re: [{en_case['case_id']}] Payment failed",
        body,
        message_id="<en-3@example.com>",
    )
    if "screenshot" in missing_after:
        msg = _parse(reply)
        msg.add_attachment(
            b"\x89PNG\r\n\x1a\n" + b"\0" * 64, maintype="image", subtype="png", filename="shot.png"
        )
        reply = msg.as_bytes()
    dovecot.append(reply)
    assert cli(config, "run", "--once").returncode == 0
    shown = cli_json(config, "show", en_case["case_id"])
    assert shown["missing"] == []
    (complete,) = [_parse(m.raw) for m in smtp_server.wait_for(1)]
    assert shown["case_id"] in complete["Subject"]
    kinds = [e["detail"].split()[0] for e in shown["events"] if e["kind"] == "ack_queued"]
    assert kinds == ["ack_first", "ack_followup", "ack_complete"]


def test_auto_replies_bounces_and_lists_are_stored_but_never_answered(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    dovecot.append(
        complaint(
            "bob@example.com",
            "Out of Office: your mail",
            "I am away until Monday.",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    dovecot.append(
        complaint(
            "MAILER-DAEMON@mx.example.com",
            "Undelivered Mail Returned to Sender",
            "This is the mail system at host mx.example.com.",
            headers={"Return-Path": "<>"},
        )
    )
    dovecot.append(
        complaint(
            "news@lists.example.com",
            "Weekly digest",
            "Unsubscribe below.",
            headers={"List-Id": "<digest.lists.example.com>", "Precedence": "bulk"},
        )
    )
    dovecot.append(complaint("noreply@shop.example.com", "Your receipt", "Payment failed? Contact us."))
    assert cli(config, "run", "--once").returncode == 0
    time.sleep(0.5)
    assert smtp_server.received == []
    status = cli_json(config, "status")
    assert status["processed_total"] == 4
    assert status["outbox_pending"] == 0


def test_one_sender_twenty_mails_gets_at_most_the_limit(dovecot, smtp_server, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        dovecot=dovecot,
        smtp=smtp_server,
        overrides={"acknowledge": {"per_sender_per_day": 3, "per_case_interval": "10m"}},
    )
    dovecot.append_many(
        [
            complaint("flood@example.com", f"Complaint number {i}", f"My payment {i} failed with error E{i}.")
            for i in range(20)
        ]
    )
    assert cli(config, "run", "--once").returncode == 0
    time.sleep(0.5)
    assert len(smtp_server.received) == 3
    assert len(cli_json(config, "cases")) == 20  # every mail is still filed


def test_smtp_down_nothing_lost_then_each_ack_exactly_once(dovecot, smtp_server, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    smtp_server.stop()
    dovecot.append_many(
        [
            complaint(f"c{i}@example.com", "Money not received", "My transfer of 200元 has not arrived.")
            for i in range(5)
        ]
    )
    assert cli(config, "run", "--once").returncode == 0
    status = cli_json(config, "status")
    assert status["outbox_pending"] == 5
    assert status["smtp"].startswith("retrying")
    smtp_server.start()
    assert cli(config, "run", "--once").returncode == 0
    assert len(smtp_server.wait_for(5)) == 5
    assert cli(config, "run", "--once").returncode == 0
    time.sleep(0.3)
    assert sorted(m.rcpt_tos[0] for m in smtp_server.received) == [f"c{i}@example.com" for i in range(5)]
    assert cli_json(config, "status")["outbox_pending"] == 0


def test_permanent_smtp_failure_is_visible(dovecot, smtp_server, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    smtp_server.fault = "550"
    dovecot.append(complaint("x@example.com", "Account locked", "My account is locked."))
    assert cli(config, "run", "--once").returncode == 0
    status = cli_json(config, "status")
    assert status["outbox_failed"] == 1
    (case,) = cli_json(config, "cases")
    events = cli_json(config, "show", case["case_id"])["events"]
    assert any(e["kind"] == "mail_failed" and "550" in e["detail"] for e in events)


@pytest.mark.parametrize(
    "subject",
    [
        "Refund please\r\nBcc: victim@example.org",
        "=?utf-8?b?UmVmdW5kDQpCY2M6IHZpY3RpbUBleGFtcGxlLm9yZw==?=",
        "{{7*7}} {% for x in range(3) %}loop{% endfor %}",
    ],
)
def test_hostile_subjects_and_bodies(dovecot, smtp_server, tmp_path: Path, subject: str) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    raw = (
        "From: eve@example.com\r\nTo: complaints@wallet.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <hostile@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>I was charged twice {{7*7}} {% raw %}x{% endraw %}</p><script>alert(1)</script>"
    ).encode()
    dovecot.append(raw)
    assert cli(config, "run", "--once").returncode == 0
    (sent,) = smtp_server.wait_for(1)
    assert sent.rcpt_tos == ("eve@example.com",)
    ack = _parse(sent.raw)
    assert ack["Bcc"] is None
    assert [v for k, v in ack.items() if k.lower() == "to"] == ["eve@example.com"]
    assert "victim" not in (ack["To"] or "")
    assert "49" not in ack["Subject"]
    html = ack.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html
    if "{{7*7}}" in subject:
        assert "{{7*7}}" in ack["Subject"]

"""Staff forward a customer's complaint that reached them elsewhere: filed under the
customer, answered to the customer, with who forwarded it on record; never on a forged
From line, never for a colleague or a no-reply address, never twice for one mail."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.config.loader import Config, build_config
from inbox_agent.domain.model import Case
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.process import process
from inbox_agent.stages.forwarded import forwarded_mail
from inbox_agent.stages.parse import parse_message

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
OURS = "mx.wallet.example"
AGENT = "bob@wallet.example"
AMY = "amy@example.com"
PASSED = f"{OURS}; dkim=pass header.d=wallet.example; dmarc=pass header.from=wallet.example"
FAILED = f"{OURS}; dmarc=fail header.from=wallet.example"
COMPLAINT = "My withdrawal of 500 CNY has been pending for five days. Order W20261129."


def make_config(tmp_path: Path, **trust: Any) -> Config:
    data = {
        "mailbox": {"address": "complaints@wallet.example", "maildir": {"path": str(tmp_path / "md")}},
        "storage": {"data_dir": str(tmp_path / "data")},
        "smtp": {"directory": str(tmp_path / "out")},
        "acknowledge": {"per_case_interval": "0s"},
        "staff": {"addresses": [AGENT], "domains": ["wallet.example"]},
        "trust": {"authserv_id": OURS, **trust},
    }
    return build_config(data, base_dir=tmp_path)


def original(
    sender: str = f"Amy Lee <{AMY}>", body: str = COMPLAINT, message_id: str = "<orig@example.com>"
) -> bytes:
    return complaint(
        sender,
        "Withdrawal stuck",
        body,
        message_id=message_id,
        date=datetime(2026, 12, 1, 8, 30, tzinfo=UTC),
    )


def attached_forward(
    inner: bytes, *, note: str = "Customer wrote to support, please handle.", results: str = PASSED
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Bob <{AGENT}>"
    msg["To"] = "complaints@wallet.example"
    msg["Subject"] = "Fwd: Withdrawal stuck"
    msg["Date"] = format_datetime(NOW)
    msg["Message-ID"] = "<fwd-attached@wallet.example>"
    msg.set_content(note)
    msg.add_attachment(email.message_from_bytes(inner, policy=email.policy.default))
    return f"Authentication-Results: {results}\r\n".encode() + msg.as_bytes()


GMAIL_BLOCK = (
    "Please take this one.\n\n"
    "---------- Forwarded message ---------\n"
    "From: Amy Lee <amy@example.com>\n"
    "Date: Tue, Dec 1, 2026 at 4:30 PM\n"
    "Subject: Withdrawal stuck\n"
    "To: <support@wallet.example>\n\n\n"
    f"{COMPLAINT}\n"
)
OUTLOOK_ZH_BLOCK = (
    "请处理\n\n"
    "________________________________\n"
    "发件人: 王小明 <wang@example.cn>\n"
    "发送时间: 2026年12月1日 16:30\n"
    "收件人: 客服 <support@wallet.example>\n"
    "主题: 提现一直没到账\n\n"
    "我的提现500元已经五天了还没到账，订单号W20261129。\n"
)
QQ_BLOCK = (
    "请处理\n\n\n------------------ 原始邮件 ------------------\n"
    '发件人: "小明"<xiaoming@qq.com>;\n'
    "发送时间: 2026年12月1日(星期二) 下午4:30\n"
    '收件人: "客服"<support@wallet.example>;\n'
    "主题: 提现没到账\n\n"
    "我的提现五天了还没到账。\n"
)
FOXMAIL_BLOCK = (
    "\n\n-------- 转发邮件信息 --------\n"
    '发件人："小明" <xiaoming@163.com>\n'
    "发送日期：2026-12-01 16:30\n"
    "收件人：support@wallet.example\n"
    "主题：提现没到账\n\n"
    "我的提现五天了还没到账。\n"
)
OLD_OUTLOOK_BLOCK = (
    "-----Original Message-----\n"
    "From: Amy Lee [mailto:amy@example.com]\n"
    "Sent: Tuesday, December 01, 2026 4:30 PM\n"
    "To: support\n"
    "Subject: Withdrawal stuck\n\n"
    f"{COMPLAINT}\n"
)
APPLE_BLOCK = (
    "FYI\n\nBegin forwarded message:\n\n"
    "From: Amy Lee <amy@example.com>\n"
    "Subject: Withdrawal stuck\n"
    "Date: December 1, 2026 at 4:30:00 PM GMT+8\n"
    "To: support@wallet.example\n\n"
    f"{COMPLAINT}\n"
)
THUNDERBIRD_BLOCK = (
    "\n\n-------- Forwarded Message --------\n"
    "Subject: \tWithdrawal stuck\n"
    "Date: \tTue, 1 Dec 2026 16:30:00 +0800\n"
    "From: \tAmy Lee <amy@example.com>\n"
    "To: \tsupport@wallet.example\n\n\n"
    f"{COMPLAINT}\n"
)


def inline_forward(
    body: str, subject: str = "Fwd: Withdrawal stuck", results: str = PASSED, to: str = ""
) -> bytes:
    headers = {"Authentication-Results": results}
    if to:
        headers["Cc"] = to
    return complaint(
        f"Bob <{AGENT}>", subject, body, message_id="<fwd-inline@wallet.example>", date=NOW, headers=headers
    )


def run(config: Config, raw: bytes, *cases: Case) -> Decision:
    known = {case.case_id: case for case in cases}
    index = {mid: case.case_id for case in cases for mid in case.message_ids}
    view = BatchView(known.get, index, set(), len(known) + 1, lambda key: {"key": key})
    return process(Incoming(raw, "test", NOW), view, config, TEMPLATES, NOW)


def reply_to_customer(decision: Decision) -> tuple[tuple[str, ...], str]:
    (mail,) = decision.outgoing
    msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
    return mail.recipients, msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


# --- reading the forwarded mail ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "sender", "name", "subject", "dated"),
    [
        (GMAIL_BLOCK, AMY, "Amy Lee", "Withdrawal stuck", None),
        (OUTLOOK_ZH_BLOCK, "wang@example.cn", "王小明", "提现一直没到账", None),
        (THUNDERBIRD_BLOCK, AMY, "Amy Lee", "Withdrawal stuck", datetime(2026, 12, 1, 8, 30, tzinfo=UTC)),
        (QQ_BLOCK, "xiaoming@qq.com", "小明", "提现没到账", None),
        (FOXMAIL_BLOCK, "xiaoming@163.com", "小明", "提现没到账", None),
        (OLD_OUTLOOK_BLOCK, AMY, "Amy Lee", "Withdrawal stuck", None),
        (APPLE_BLOCK, AMY, "Amy Lee", "Withdrawal stuck", None),
    ],
    ids=["gmail", "outlook-zh", "thunderbird", "qq", "foxmail", "outlook-2003", "apple"],
)
def test_an_inline_forward_names_its_sender_subject_and_text(
    body: str, sender: str, name: str, subject: str, dated: datetime | None
) -> None:
    found = forwarded_mail(parse_message(inline_forward(body, subject="转发: " + subject)))
    assert found is not None
    assert (found.sender, found.sender_name, found.subject, found.date) == (sender, name, subject, dated)
    assert ("W20261129" in found.text or "到账" in found.text) and not re.search(
        r"Forward|发件人|原始|:", found.text
    )


def test_an_attached_forward_is_read_as_the_whole_mail() -> None:
    found = forwarded_mail(parse_message(attached_forward(original())))
    assert found is not None
    assert (found.sender, found.message_id, found.shape) == (AMY, "<orig@example.com>", "attached mail")
    assert found.date == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert found.note == "Customer wrote to support, please handle."


def test_a_forward_as_attachment_with_no_text_of_its_own_has_no_note() -> None:
    found = forwarded_mail(parse_message(attached_forward(original(), note="")))
    assert found is not None and found.sender == AMY and found.note == ""


def test_a_reply_quoting_a_mail_is_no_forward() -> None:
    body = (
        "Thanks, noted.\n\nOn Tue, Dec 1, 2026 at 4:30 PM Amy Lee <amy@example.com> wrote:\n> my withdrawal\n"
    )
    assert forwarded_mail(parse_message(inline_forward(body, subject="Re: Withdrawal stuck"))) is None


# --- filing it -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["attached", "inline"])
def test_a_proven_staff_forward_opens_the_customers_case_and_answers_them(tmp_path: Path, shape: str) -> None:
    raw = attached_forward(original()) if shape == "attached" else inline_forward(GMAIL_BLOCK)
    decision = run(make_config(tmp_path), raw)
    case = decision.case
    assert decision.outcome == "new_case" and case is not None
    assert (case.customer, case.customer_name, case.subject) == (AMY, "Amy Lee", "Withdrawal stuck")
    assert case.category == "funds_not_received"
    (forwarded,) = [event for event in case.events if event.kind == "forwarded"]
    assert forwarded.actor == AGENT and "proven: dmarc=pass" in forwarded.detail
    assert not [
        event for event in case.events if event.kind == "sender_checked"
    ]  # Bob's verdict is not Amy's
    recipients, text = reply_to_customer(decision)
    assert recipients == (AMY,) and case.case_id in text


def test_the_regulatory_clock_starts_when_the_customer_wrote(tmp_path: Path) -> None:
    decision = run(make_config(tmp_path), attached_forward(original()))
    assert decision.case is not None and decision.case.received_at == "2026-12-01T08:30:00+00:00"
    # A date with no zone: our receipt, not the forward's own Date (a minute earlier).
    forwarded = inline_forward(GMAIL_BLOCK).replace(
        format_datetime(NOW).encode(), format_datetime(NOW - timedelta(minutes=1)).encode()
    )
    inline = run(make_config(tmp_path), forwarded)
    assert inline.case is not None and inline.case.received_at == "2026-12-04T10:00:00+00:00"
    assert any(
        "the original's date: Tue, Dec 1, 2026 at 4:30 PM" in event.detail for event in inline.case.events
    )


def test_a_chinese_forward_is_answered_in_chinese(tmp_path: Path) -> None:
    decision = run(make_config(tmp_path), inline_forward(OUTLOOK_ZH_BLOCK, subject="FW: 提现一直没到账"))
    assert decision.case is not None and decision.case.customer == "wang@example.cn"
    assert decision.case.language == "zh"
    recipients, text = reply_to_customer(decision)
    assert recipients == ("wang@example.cn",)
    assert "王小明" in text and "提现一直没到账" in text


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (attached_forward(original(), results=FAILED), "from a forged sender: dmarc=fail"),
        (
            attached_forward(original(sender="Carol <carol@wallet.example>")),
            "a colleague's, not a customer's",
        ),
        (attached_forward(original(sender="Bank <no-reply@bank.example>")), "never answered: no_reply"),
        (attached_forward(original(sender="complaints@wallet.example")), "never answered: own_mail"),
        (
            attached_forward(original().replace(b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:")),
            "never answered: auto_reply",
        ),
        (inline_forward(GMAIL_BLOCK, to=AMY), "a conversation with the customer, not a forward"),
        (inline_forward(GMAIL_BLOCK.replace("<amy@example.com>", "")), "names no sender address"),
    ],
    ids=["forged", "colleague", "no-reply", "ours", "out-of-office", "customer-in-cc", "no-address"],
)
def test_a_forward_that_is_never_filed_is_kept_with_the_reason(tmp_path: Path, raw: bytes, why: str) -> None:
    decision = run(make_config(tmp_path), raw)
    assert decision.case is None and decision.outgoing == ()
    assert decision.skip is not None and decision.skip.reason == "staff_without_case"
    assert why in decision.skip.detail


@pytest.mark.parametrize(
    ("results", "staff_command", "why"),
    [
        (f"{OURS}; spf=none", ["aligned", "notification_reply"], "sender check: no aligned pass"),
        (PASSED, ["notification_reply"], "accepted proofs: notification_reply"),
    ],
    ids=["no-pass", "aligned-not-accepted"],
)
def test_an_unproven_forward_is_kept_for_a_supervisor_to_decide(
    tmp_path: Path, results: str, staff_command: list[str], why: str
) -> None:
    config = make_config(tmp_path, staff_command=staff_command)
    decision = run(config, inline_forward(GMAIL_BLOCK, results=results))
    assert decision.case is None and decision.outgoing == ()
    assert decision.skip is not None and decision.skip.reason == "forward_unproven"
    assert why in decision.skip.detail and "a supervisor may file it" in decision.skip.detail


def test_the_customers_own_copy_after_a_forward_is_the_same_mail(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    first = run(config, attached_forward(original()))
    assert first.case is not None and "<orig@example.com>" in first.case.message_ids
    direct = run(config, original(), first.case)  # Amy also wrote to us: the same Message-ID
    assert direct.case is not None and direct.case.case_id == first.case.case_id
    assert direct.skip is not None and direct.skip.reason == "redelivered" and direct.outgoing == ()
    again = run(config, attached_forward(original(), note="forwarding again"), first.case)
    assert again.case is not None and again.case.case_id == first.case.case_id and again.outgoing == ()


def test_a_forward_of_the_customers_reply_on_their_case_joins_it_and_is_not_answered_as_staff(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    first = run(config, attached_forward(original()))
    assert first.case is not None
    tag = f"[{first.case.case_id}]"
    reply = complaint(
        f"Amy Lee <{AMY}>",
        f"Re: {tag} Withdrawal stuck",
        "Here is the transaction id: TX20261201998877. Still nothing arrived.",
        message_id="<amy-reply@example.com>",
    )
    raw = (
        attached_forward(reply, note="FYI, she wrote to my own address.")
        .replace(b"Subject: Fwd: Withdrawal stuck", f"Subject: Fwd: Re: {tag} Withdrawal stuck".encode())
        .replace(b"fwd-attached", b"fwd-second")
    )
    decision = run(config, raw, first.case)
    assert decision.outcome == "joined" and decision.case is not None
    assert decision.case.case_id == first.case.case_id
    assert decision.message is not None and decision.message.sender == AMY
    assert decision.case.evidence_map["transaction_id"] == "TX20261201998877"
    assert [event.kind for event in decision.case.events].count("forwarded") == 2
    for mail in decision.outgoing:  # an acknowledgement to Amy; the colleague's "FYI" is not an answer
        assert mail.kind != "staff_reply" and b"FYI" not in mail.raw


def test_staff_mail_naming_no_case_and_forwarding_nothing_is_kept_as_before(tmp_path: Path) -> None:
    raw = complaint(
        f"Bob <{AGENT}>", "lunch?", "anyone for lunch", headers={"Authentication-Results": PASSED}
    )
    decision = run(make_config(tmp_path), raw)
    assert decision.case is None and decision.skip is not None
    assert (decision.skip.reason, decision.skip.detail) == ("staff_without_case", "")


# --- end to end: the real Dovecot and SMTP server ------------------------------------------


@pytest.mark.dovecot
def test_forwards_over_imap_and_a_supervisor_filing_an_unproven_one(
    dovecot: Any, smtp_server: Any, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        dovecot=dovecot,
        smtp=smtp_server,
        overrides={"staff": {"addresses": [AGENT]}, "trust": {"authserv_id": OURS}},
    )
    carol = original(sender="Carol Chen <carol@example.com>", message_id="<carol@example.com>")
    dan = original(sender="dan@example.com", message_id="<dan@example.com>")
    dovecot.append(attached_forward(original()))
    dovecot.append(
        attached_forward(carol, results=f"{OURS}; spf=none").replace(b"fwd-attached", b"fwd-carol")
    )
    dovecot.append(attached_forward(dan, results=FAILED).replace(b"fwd-attached", b"fwd-forged"))
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    (mail,) = smtp_server.wait_for(1)
    assert list(mail.rcpt_tos) == [AMY]
    assert [case["customer"] for case in cli_json(config, "cases")] == [AMY]

    kept = {row["reason"]: row for row in cli_json(config, "unfiled")}
    assert set(kept) == {"forward_unproven", "staff_without_case"}
    unproven, forged = kept["forward_unproven"], kept["staff_without_case"]
    assert "carol@example.com" in unproven["detail"] and not unproven["never_filed"]
    assert "forged sender" in forged["detail"]
    refused = cli(config, "unfiled", "file", forged["id"])
    assert refused.returncode == 1, refused.stdout

    filed = cli(config, "unfiled", "file", unproven["id"], "--by", "lead")
    assert filed.returncode == 0, filed.stdout + filed.stderr
    carols = next(case for case in cli_json(config, "cases") if case["customer"] == "carol@example.com")
    shown = cli_json(config, "show", carols["case_id"])
    kinds = {event["kind"]: event for event in shown["events"]}
    assert "by the supervisor who filed it" in kinds["forwarded"]["detail"]
    assert kinds["filed_by_staff"]["actor"] == "lead"
    assert cli(config, "run", "--once").returncode == 0
    answer = smtp_server.wait_for(2)[-1]
    assert list(answer.rcpt_tos) == ["carol@example.com"]

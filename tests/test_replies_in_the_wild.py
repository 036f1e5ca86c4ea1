"""Replies, auto-replies and follow-ups as real mail clients and mail servers send them,
run through the daemon (`run --once` on a Maildir, replies written to the outbox)."""

from __future__ import annotations

import email
import email.policy
import os
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config


class Mailbox:
    """A Maildir the daemon polls and the outbox it writes to."""

    def __init__(self, folder: Path, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self.folder = folder
        self.maildir = folder / "maildir"
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        self.config = write_config(folder, maildir=self.maildir, overrides=overrides)
        self.delivered = 0

    def deliver(self, raw: bytes) -> None:
        self.delivered += 1
        path = self.maildir / "new" / f"{self.delivered:04d}.mail"
        path.write_bytes(raw)
        moment = time.time() - 1000 + self.delivered  # arrival order = delivery order
        os.utime(path, (moment, moment))

    def run(self) -> None:
        result = cli(self.config, "run", "--once")
        assert result.returncode == 0, result.stderr[-2000:]

    def sent(self) -> list[EmailMessage]:
        paths = sorted((self.folder / "outbox").rglob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
        return [_parsed(path.read_bytes()) for path in paths]

    def cases(self) -> list[dict[str, Any]]:
        return cli_json(self.config, "cases")

    def show(self, case_id: str) -> dict[str, Any]:
        return cli_json(self.config, "show", case_id)


def _parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


@pytest.fixture
def mailbox(tmp_path: Path) -> Mailbox:
    return Mailbox(tmp_path)


def _reply_quoting(ack: EmailMessage, style: str, typed: str = "") -> bytes:
    """The customer's answer to our acknowledgement, our mail quoted as the client does."""
    text = _body(ack)
    if style == "gmail":
        quote = "On Thu, Dec 3, 2026 at 10:28 PM Wallet <complaints@wallet.example> wrote:\n\n"
        quote += "\n".join(f"> {line}" for line in text.splitlines())
    else:  # Outlook puts our mail under a From/Sent block, unmarked
        quote = "________________________________\nFrom: Wallet <complaints@wallet.example>\n"
        quote += f"Sent: Thursday, December 3, 2026 10:28 PM\nSubject: {ack['Subject']}\n\n{text}"
    answer = EmailMessage()
    answer["From"] = "alice@customer.example"
    answer["To"] = "complaints@wallet.example"
    answer["Subject"] = f"Re: {ack['Subject']}"
    answer["Message-ID"] = "<answer-1@customer.example>"
    answer["In-Reply-To"] = ack["Message-ID"]
    answer["Date"] = "Thu, 03 Dec 2026 22:40:00 +0000"
    answer.set_content(f"{typed}\n\n{quote}")
    answer.add_attachment(
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64, maintype="image", subtype="png", filename="shot.png"
    )
    return answer.as_bytes()


@pytest.mark.parametrize("style", ["gmail", "outlook"])
def test_a_reply_with_only_a_screenshot_is_not_read_as_our_quoted_acknowledgement(
    mailbox: Mailbox, style: str
) -> None:
    mailbox.deliver(complaint("alice@customer.example", "Payment failed", "My transfer failed yesterday."))
    mailbox.run()
    (ack,) = mailbox.sent()
    assert "E1024" in _body(ack)  # the template's example error code, quoted back below
    mailbox.deliver(_reply_quoting(ack, style))
    mailbox.run()
    (case,) = mailbox.cases()
    shown = mailbox.show(case["case_id"])
    assert "screenshot" in shown["evidence"]
    assert "error_message" not in shown["evidence"] and "transaction_time" not in shown["evidence"]
    assert "error_message" in shown["missing"] and "amount" in shown["missing"]
    answer = [m for m in shown["messages"] if m["message_id"] == "<answer-1@customer.example>"]
    assert answer and answer[0]["text"] == ""  # nothing typed, nothing of ours kept as theirs


def test_what_the_customer_typed_above_the_quote_is_still_read(mailbox: Mailbox) -> None:
    mailbox.deliver(complaint("alice@customer.example", "Payment failed", "My transfer failed yesterday."))
    mailbox.run()
    (ack,) = mailbox.sent()
    mailbox.deliver(_reply_quoting(ack, "gmail", typed="The amount was 42.00 USD."))
    mailbox.run()
    (case,) = mailbox.cases()
    shown = mailbox.show(case["case_id"])
    assert shown["evidence"]["amount"].startswith("42")
    assert "error_message" in shown["missing"]


def _with_trace(raw: bytes, route: str) -> bytes:
    return (
        f"Delivered-To: complaints@wallet.example\r\nReceived: from {route}; Fri, 20 Nov 2026 09:30:01 +0000\r\n".encode()
        + raw
    )


def test_one_mail_reaching_the_mailbox_by_two_routes_is_one_case_answered_once(mailbox: Mailbox) -> None:
    sent = complaint(
        "alice@customer.example",
        "Payment failed",
        "My payment of 200 yuan failed with error E101.",
        message_id="<same-1@customer.example>",
        headers={"Cc": "help@wallet.example"},
    )
    mailbox.deliver(_with_trace(sent, "mx1.customer.example"))
    mailbox.deliver(_with_trace(sent, "the help@ alias"))  # the Cc'd alias forwards it here
    mailbox.run()
    (case,) = mailbox.cases()
    assert len(mailbox.sent()) == 1
    shown = mailbox.show(case["case_id"])
    assert len([m for m in shown["messages"] if m["direction"] == "in"]) == 2  # both copies kept


def test_a_late_second_copy_does_not_reopen_a_resolved_case(mailbox: Mailbox) -> None:
    sent = complaint(
        "alice@customer.example", "Payment failed", "It failed.", message_id="<same-2@c.example>"
    )
    mailbox.deliver(_with_trace(sent, "mx1.customer.example"))
    mailbox.run()
    (case,) = mailbox.cases()
    assert cli(mailbox.config, "resolve", case["case_id"], "Refunded.", "--by", "agent.li").returncode == 0
    mailbox.deliver(_with_trace(sent, "a backup MX, a day late"))
    mailbox.run()
    assert mailbox.show(case["case_id"])["status"] == "resolved"
    assert len(mailbox.sent()) == 2  # the acknowledgement and the resolution, nothing more


def test_someone_else_reusing_a_message_id_opens_their_own_case(mailbox: Mailbox) -> None:
    mailbox.deliver(
        complaint("alice@customer.example", "Payment failed", "It failed.", message_id="<a@c.example>")
    )
    mailbox.deliver(complaint("bob@other.example", "Payment failed", "Mine too.", message_id="<a@c.example>"))
    mailbox.run()
    assert sorted(case["customer"] for case in mailbox.cases()) == [
        "alice@customer.example",
        "bob@other.example",
    ]


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("about wlt-2026-000001", "Any news?"),
        ("Re: [WLT-2026-1] Payment failed", "Any news?"),
        ("关于 ＷＬＴ－２０２６－０００００１", "有进展吗？"),
        ("WLT 2026 000001", "Any news?"),
        ("Still waiting", "This is about my case WLT-2026-000001. Any news?"),
    ],
)
def test_a_case_id_as_customers_retype_it_joins_their_case(mailbox: Mailbox, subject: str, text: str) -> None:
    mailbox.deliver(complaint("alice@customer.example", "Payment failed", "My transfer failed yesterday."))
    mailbox.run()
    mailbox.deliver(complaint("alice@customer.example", subject, text, message_id="<follow-up@c.example>"))
    mailbox.run()
    (case,) = mailbox.cases()
    assert case["case_id"] == "WLT-2026-000001"


def test_a_retyped_case_id_of_someone_else_opens_a_new_case(mailbox: Mailbox) -> None:
    mailbox.deliver(complaint("alice@customer.example", "Payment failed", "My transfer failed yesterday."))
    mailbox.run()
    mailbox.deliver(complaint("bob@other.example", "re wlt-2026-1", "Tell me about WLT 2026 000001."))
    mailbox.run()
    cases = {case["customer"]: case["case_id"] for case in mailbox.cases()}
    assert cases == {"alice@customer.example": "WLT-2026-000001", "bob@other.example": "WLT-2026-000002"}
    shown = mailbox.show("WLT-2026-000001")
    assert all(m["sender"] != "bob@other.example" for m in shown["messages"])


def test_sub_addresses_share_one_daily_acknowledgement_limit(tmp_path: Path) -> None:
    mailbox = Mailbox(
        tmp_path, overrides={"acknowledge": {"per_sender_per_day": 3, "per_case_interval": "0s"}}
    )
    for number in range(8):
        sender = f"joe+{number}@victim.example"
        mailbox.deliver(
            complaint(sender, f"Payment {number} failed", "It failed.", message_id=f"<j{number}@x>")
        )
    mailbox.run()
    assert len(mailbox.sent()) == 3


def test_a_staff_mail_that_only_mentions_a_case_in_its_text_never_reaches_its_customer(
    tmp_path: Path,
) -> None:
    # Proven staff (our server's DKIM and DMARC pass): a subject tag or a reply would act
    # on the case; an internal mail that only names it in passing must not answer it.
    mailbox = Mailbox(tmp_path, overrides={"trust": {"authserv_id": "mx.wallet.example"}})
    mailbox.deliver(complaint("alice@customer.example", "Payment failed", "My transfer failed yesterday."))
    mailbox.run()
    proven = {
        "Authentication-Results": "mx.wallet.example; dkim=pass header.d=staff.wallet.example; "
        "dmarc=pass header.from=staff.wallet.example"
    }
    internal = "FYI the pattern in WLT-2026-000001 looks like the fraud ring from last week."
    mailbox.deliver(complaint("agent.li@staff.wallet.example", "fraud pattern", internal, headers=proven))
    mailbox.run()
    assert [str(mail["To"]) for mail in mailbox.sent()] == [
        "alice@customer.example"
    ]  # the acknowledgement only
    events = mailbox.show("WLT-2026-000001")["events"]
    assert not [event for event in events if event["kind"] == "staff_reply"]

"""The loop guard on realistic mails: one reason code each, and normal complaints pass."""

from __future__ import annotations

import pytest

from inbox_agent.domain.model import ParsedMessage
from inbox_agent.stages.guard import is_auto_reply, loop_skip
from inbox_agent.stages.parse import parse_message

OWN = frozenset({"complaints@wallet.example"})
TOKEN = "wlt-7f3a9c"


def parsed(headers: str, body: str = "Hello.\n") -> ParsedMessage:
    raw = headers.strip("\n") + "\n\n" + body
    return parse_message(raw.replace("\n", "\r\n").encode("utf-8"))


def reason(msg: ParsedMessage) -> str | None:
    skip = loop_skip(msg, own_addresses=OWN, loop_token=TOKEN)
    return None if skip is None else skip.reason


COMPLAINT = """\
Return-Path: <pat@example.com>
From: Pat Customer <pat@example.com>
To: complaints@wallet.example
Subject: My payment failed twice
Date: Mon, 15 Jan 2024 10:30:00 +0000
Message-ID: <c1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
X-Mailer: Apple Mail (2.3731)
"""

OUTLOOK_OOF = """\
From: Alex Staff <alex@contoso.com>
To: complaints@wallet.example
Subject: Automatic reply: Your complaint WLT-2024-000123
Date: Mon, 15 Jan 2024 10:31:00 +0000
Message-ID: <oof-1@contoso.com>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: alex@contoso.com
Content-Type: text/plain; charset=utf-8
"""

GMAIL_VACATION = """\
From: Pat Customer <pat@gmail.com>
To: complaints@wallet.example
Subject: Re: Your complaint WLT-2024-000123
Date: Mon, 15 Jan 2024 10:32:00 +0000
Message-ID: <CAvacation@mail.gmail.com>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=UTF-8
"""

POSTFIX_BOUNCE = """\
Return-Path: <>
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: complaints@wallet.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 15 Jan 2024 10:33:00 +0000
Message-Id: <20240115103300.ABC12@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"
"""

POSTFIX_BOUNCE_BODY = """\
--B1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Final-Recipient: rfc822; nobody@example.org
Action: failed
Status: 5.1.1

--B1--
"""

EXCHANGE_NDR = """\
From: postmaster@contoso.com
To: complaints@wallet.example
Subject: Undeliverable: Your complaint WLT-2024-000123
Date: Mon, 15 Jan 2024 10:34:00 +0000
Message-ID: <ndr-1@contoso.com>
X-MS-Exchange-Message-Is-Ndr:
Content-Type: text/plain; charset=utf-8
"""

MAILING_LIST = """\
From: Wallet Users Forum <forum@lists.example.org>
To: wallet-users@lists.example.org
Subject: [wallet-users] Weekly digest
Date: Mon, 15 Jan 2024 10:35:00 +0000
Message-ID: <digest-1@lists.example.org>
List-Id: Wallet users <wallet-users.lists.example.org>
List-Unsubscribe: <mailto:wallet-users-leave@lists.example.org>
Precedence: list
"""


def test_a_normal_complaint_is_not_skipped() -> None:
    msg = parsed(COMPLAINT, "I was charged twice for order 5521.\n")
    assert loop_skip(msg, own_addresses=OWN, loop_token=TOKEN) is None
    assert not is_auto_reply(msg)


def test_outlook_out_of_office_is_auto_reply() -> None:
    msg = parsed(OUTLOOK_OOF, "I am out of the office until Monday.\n")
    assert reason(msg) == "auto_reply"
    assert is_auto_reply(msg)


def test_gmail_vacation_responder_is_auto_reply() -> None:
    msg = parsed(GMAIL_VACATION, "I'm on vacation.\n")
    assert reason(msg) == "auto_reply"
    assert is_auto_reply(msg)


@pytest.mark.parametrize(
    "extra",
    [
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "X-Auto-Response-Suppress: OOF, AutoReply",
        "Precedence: auto_reply",
        # what an Exchange out-of-office rule may carry and nothing else
        "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
    ],
)
def test_auto_reply_headers(extra: str) -> None:
    assert reason(parsed(COMPLAINT + extra + "\n")) == "auto_reply"


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: My payment",
        "Automatic reply: hello",
        "自动回复：您的投诉",
        "自動回覆: 您的投訴",
        "Auto: away",
        "RE: Out of Office",
        "Automatische Antwort: Ihre Beschwerde",
        "Risposta automatica: reclamo",
        "Автоматический ответ: жалоба",
        "Vacation reply: My payment",
        "自動応答: お問い合わせ",
    ],
)
def test_auto_reply_subjects(subject: str) -> None:
    headers = COMPLAINT.replace("Subject: My payment failed twice", f"Subject: {subject}")
    assert reason(parsed(headers)) == "auto_reply"


def test_auto_submitted_no_is_a_person() -> None:
    assert reason(parsed(COMPLAINT + "Auto-Submitted: no\n")) is None


@pytest.mark.parametrize(
    "subject", ["你们的自动回复没有用", "Vacation: card blocked abroad", "Re: my out of office refund"]
)
def test_complaint_mentioning_auto_reply_is_not_skipped(subject: str) -> None:
    headers = COMPLAINT.replace("Subject: My payment failed twice", f"Subject: {subject}")
    assert reason(parsed(headers)) is None


def test_a_redirected_complaint_is_not_an_auto_reply() -> None:
    # An Exchange rule that redirects support@ to the complaint box keeps the customer's
    # From and adds this header: the mail is still the customer's complaint.
    assert reason(parsed(COMPLAINT + "X-MS-Exchange-Inbox-Rules-Loop: support@bank.example\n")) is None


def test_postfix_bounce_is_bounce_not_auto_reply() -> None:
    msg = parsed(POSTFIX_BOUNCE, POSTFIX_BOUNCE_BODY)
    skip = loop_skip(msg, own_addresses=OWN, loop_token=TOKEN)
    assert skip is not None and skip.reason == "bounce"
    assert "delivery-status" in skip.detail
    assert is_auto_reply(msg)


def test_exchange_ndr_is_bounce() -> None:
    assert reason(parsed(EXCHANGE_NDR, "Delivery has failed to these recipients.\n")) == "bounce"


@pytest.mark.parametrize(
    "change",
    [
        (
            "From: Pat Customer <pat@example.com>",
            "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        ),
        ("Return-Path: <pat@example.com>", "Return-Path: <>"),
        ("X-Mailer: Apple Mail (2.3731)", "X-Failed-Recipients: nobody@example.org"),
        ("Subject: My payment failed twice", "Subject: Delivery Status Notification (Failure)"),
        ("Subject: My payment failed twice", "Subject: 系统退信"),
        ("Subject: My payment failed twice", "Subject: 邮件投递失败"),
        ("Subject: My payment failed twice", "Subject: Delivery Status Notification"),
        ("From: Pat Customer <pat@example.com>", "From: List <bounce+pat=example.com@lists.example>"),
        ("From: Pat Customer <pat@example.com>", "From: <bounces-1234@mail.example>"),
        (
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: multipart/report; report-type=disposition-notification",
        ),
    ],
)
def test_bounce_signals(change: tuple[str, str]) -> None:
    assert reason(parsed(COMPLAINT.replace(*change))) == "bounce"


def test_mailing_list_is_list() -> None:
    assert reason(parsed(MAILING_LIST, "This week on the forum...\n")) == "list"


@pytest.mark.parametrize(
    "extra",
    [
        "Precedence: bulk",
        "Precedence: junk",
        "Precedence: list (mailing)",
        "List-Post: <mailto:l@example.org>",
        "List-Help: <mailto:help@l.example>",
        "Mailing-List: contact l@l.example",
        "X-BeenThere: l@l.example",
    ],
)
def test_list_signals(extra: str) -> None:
    msg = parsed(COMPLAINT + extra + "\n")
    assert reason(msg) == "list"
    assert not is_auto_reply(msg)


@pytest.mark.parametrize(
    "local",
    [
        "noreply",
        "no-reply",
        "donotreply",
        "do-not-reply",
        "no_reply+shop",
        "notifications-noreply",
        "shop.no-reply",
    ],
)
def test_no_reply_senders(local: str) -> None:
    headers = COMPLAINT.replace("From: Pat Customer <pat@example.com>", f"From: Shop <{local}@shop.example>")
    assert reason(parsed(headers)) == "no_reply"


def test_own_mail_is_skipped() -> None:
    headers = COMPLAINT.replace(
        "From: Pat Customer <pat@example.com>", "From: Wallet <Complaints@Wallet.example>"
    )
    assert reason(parsed(headers)) == "own_mail"


def test_our_loop_header_with_our_token_is_loop() -> None:
    msg = parsed(COMPLAINT + f"X-Inbox-Agent-Loop: {TOKEN}\n")
    assert reason(msg) == "loop"


def test_a_foreign_loop_header_is_not_trusted_as_ours() -> None:
    assert reason(parsed(COMPLAINT + "X-Inbox-Agent-Loop: someone-else\n")) is None


@pytest.mark.parametrize(
    "from_line", ["From: undisclosed-recipients:;", "From: Pat Customer", "Sender: x@example.com"]
)
def test_no_usable_sender(from_line: str) -> None:
    headers = COMPLAINT.replace("From: Pat Customer <pat@example.com>", from_line)
    assert reason(parsed(headers)) == "no_sender"


def test_mail_with_no_from_header_at_all_is_no_sender() -> None:
    headers = "\n".join(line for line in COMPLAINT.splitlines() if not line.startswith("From:"))
    assert reason(parsed(headers)) == "no_sender"

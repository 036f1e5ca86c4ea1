"""Disclaimers and "Sent from my iPhone" lines below a complaint are not what the customer
wrote: they must not decide its category or its reply language, and nothing the
customer wrote may be cut with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbox_agent.config.loader import load_config
from inbox_agent.stages.categorize import categorize
from inbox_agent.stages.mail_footers import without_footers
from inbox_agent.stages.parse import parse_message

RULES = load_config(Path(__file__).resolve().parents[1] / "config.example.toml").rules

SIGNATURE = "\n\nBest regards,\nJohn Smith | Senior Analyst | ACME Corp\nT: +1 555 0100\n\n"
FOOTERS = {
    "en notice": (
        "CONFIDENTIALITY NOTICE: This email and any attachments are confidential and may be privileged. "
        "If you are not the intended recipient, please notify the sender immediately and delete this email. "
        "Any unauthorized review, use, disclosure or distribution is prohibited. Our privacy policy explains "
        "how we process your personal data."
    ),
    "en intended": (
        "This e-mail message is intended only for the named recipient(s) and may contain information that "
        "is privileged, confidential and exempt from disclosure. If you have received this message in error, "
        "please notify the sender and permanently delete it. Unauthorised copying or use is prohibited."
    ),
    "en information": (
        "The information in this email is confidential and may be legally privileged. It is intended solely "
        "for the addressee. Access to this email by anyone else is unauthorized."
    ),
    "zh iphone": (
        "发自我的iPhone\n\n本邮件及其附件含有保密信息，仅限于发送给上述收件人。禁止任何他人以任何形式使用"
        "（包括但不限于全部或部分地泄露、复制、或散发）本邮件中的信息。如果您错收了本邮件，请您立即电话或邮件通知发件人并删除本邮件！"
    ),
    "zh disclaimer": "免责声明：本邮件所载信息仅供收件人使用，可能包含机密或受法律保护的内容。未经授权，禁止披露、复制或传播。",
    "zh-Hant": "免責聲明：本郵件所載資訊僅供收件人使用，可能包含機密內容。如您誤收本郵件，請立即刪除並通知寄件人。",
    "mobile": "Sent from my iPhone",
}
COMPLAINTS = [
    (
        "Payment failed",
        "I tried to pay at the supermarket and the payment failed twice, error 'transaction declined'.",
    ),
    (
        "Money not received",
        "I transferred 300 USD to my sister three days ago and she still hasn't received it.",
    ),
    ("Charged twice", "I was charged twice for the same coffee order, please refund one of them."),
    ("Account locked", "My account has been frozen and I cannot log in or withdraw my balance."),
    ("Slow support", "I have emailed you four times in two weeks and nobody has answered me."),
    ("Stolen", "Someone logged into my account from another country and moved all my money."),
    ("支付失败", "我在超市付款时一直提示交易失败，试了两次都不行。"),
    ("没到账", "三天前转给我妹妹300元，她到现在还没收到。"),
    ("重复扣款", "同一笔咖啡订单扣了我两次钱，请退还一笔。"),
    ("账户冻结", "我的账户被冻结了，无法登录也无法提现。"),
]


def parsed(subject: str, text: str):
    raw = (
        f"From: pat@example.com\r\nTo: complaints@wallet.example\r\nSubject: {subject}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}"
    ).replace("\n", "\r\n")
    return parse_message(raw.replace("\r\r\n", "\r\n").encode())


@pytest.mark.parametrize(("subject", "text"), COMPLAINTS)
@pytest.mark.parametrize("footer", sorted(FOOTERS))
@pytest.mark.parametrize("signed", [False, True])
def test_a_footer_changes_neither_category_nor_language(
    subject: str, text: str, footer: str, signed: bool
) -> None:
    alone = parsed(subject, text)
    with_footer = parsed(subject, text + (SIGNATURE if signed else "\n\n") + FOOTERS[footer])
    assert categorize(with_footer.subject, with_footer.new_text, RULES).category == (
        categorize(alone.subject, alone.new_text, RULES).category
    )
    assert with_footer.language == alone.language
    assert text in with_footer.new_text
    assert with_footer.text.endswith(FOOTERS[footer][-20:])  # the mail's whole text keeps it


@pytest.mark.parametrize(
    "line",
    [
        "You disclosed my personal data without my consent, which is prohibited.",
        "This email is my third complaint about the confidential data you leaked.",
        "This message is to tell you that my account is still locked.",
        "If you are not going to refund me, I will go to the regulator.",
        "The information you sent me was wrong.",
        "本邮件是我第三次投诉，你们泄露了我的个人信息。",
        "如果你们再不处理，我就投诉到监管部门。",
        "我的手机是iPhone，发自己的验证码也收不到。",
        "Sent from my account to my sister: 300 USD, never arrived.",
    ],
)
def test_what_the_customer_writes_about_these_things_is_kept(line: str) -> None:
    text = f"Hello,\n\n{line}\nPlease help."
    assert without_footers(text) == text


def test_a_footer_alone_or_on_the_first_line_is_kept() -> None:
    assert without_footers("Sent from my iPhone") == "Sent from my iPhone"
    assert without_footers("免责声明：本邮件仅供收件人使用\n") == "免责声明：本邮件仅供收件人使用\n"


def test_a_forwarded_notice_below_a_mobile_line_is_kept() -> None:
    text = (
        "see below, the money never arrived\n\nSent from my iPhone\n\n"
        "---------- Forwarded message ---------\nFrom: Bank <notices@bank.example>\nSubject: Transfer\n\n"
        "Your transfer of USD 300.00, reference FT23334ABCDE, has been sent."
    )
    msg = parsed("Fwd: Transfer", text)
    assert "the money never arrived" in msg.new_text
    assert "FT23334ABCDE" in msg.new_text
    assert "Sent from my iPhone" not in msg.new_text

"""The masker's second round: card numbers split over lines or by other separators,
HTML mails read as text, more ways to write a code, a CVV, an expiry, a password, an
IBAN and an identity number; and the order, transaction and date numbers staff need
that must stay readable."""

from __future__ import annotations

import pytest

from inbox_agent.domain.mask import MASKED, iban_valid, mask_text
from inbox_agent.mail.compose import _customer_context
from inbox_agent.views.case_page import _ours

# (text, what must not survive, what staff still need to read)
CASES = {
    "card_line_break": [
        ("card 4111 1111\n1111 1111 was charged", "1111\n1111", "[card ****1111]"),
        ("卡号 6222 0212 3456\n7890 123", "3456\n7890", "****0123]"),
        ("4111 1111 \n 1111 1111", "1111 \n 1111", "[card ****1111]"),
    ],
    "card_separators": [
        ("card 4012.8888.8888.1881", "8888.8888", "[card ****1881]"),
        ("card no.5555555555554444", "5555555555554444", "card no.[card ****4444]"),
        ("card 4111/1111/1111/1111", "1111/1111", "[card ****1111]"),
        ("card 4111_1111_1111_1111", "1111_1111", "[card ****1111]"),
        ("card 4111 – 1111 – 1111 – 1111", "1111 – 1111", "[card ****1111]"),
        ("card 4111—1111—1111—1111", "1111—1111", "[card ****1111]"),
        ("card 4111  1111  1111  1111", "1111  1111", "[card ****1111]"),
    ],
    "html_as_text": [
        ("验证码| 918273", "918273", "验证码"),
        ("密码| qwe98765", "qwe98765", "密码"),
        ("CVV | 846", "846", "CVV"),
        ("CVV\t846", "846", "CVV"),
        ("Password\n\nZx8!pq77\n\nThanks", "Zx8!pq77", "Thanks"),
        ("验证码\n482913", "482913", "验证码"),
    ],
    "otp": [
        ("code: 482-913", "482-913", "code"),
        ("My code is 660417", "660417", "My code"),
        ("the OTP I got was 771903", "771903", "the OTP"),
        ("动态口令 731946", "731946", "动态口令"),
        ("验证码短信 482913", "482913", "验证码"),
        ("OTP code: 771903", "771903", "OTP"),
        ("验证码是 4 8 2 9 1 3，后来又收到一个 550127", "550127", "后来又收到一个"),
        ("验证码：482913、551234", "551234", "验证码"),
    ],
    "cvv_expiry": [
        ("CVN 321", "321", "CVN"),
        ("安全码(CVV)：321", "321", "安全码"),
        ("CVV码：654", "654", "CVV"),
        ("CVV code is 123", "123", "CVV"),
        ("cvv number 123", "123", "cvv"),
        ("expiry 12/27", "12/27", "expiry"),
        ("exp 12/27", "12/27", "exp"),
        ("valid thru 12/27", "12/27", "valid thru"),
        ("有效期 12/27", "12/27", "有效期"),
    ],
    "password": [
        ("PIN码2468", "2468", "PIN"),
        ("支付密码（6位）：135790", "135790", "支付密码"),
        ("密码是生日 900101", "900101", "密码"),
        ("password: P@ss w0rd", "w0rd", "password"),
        ("password: P@ss w0rd\nplease help", "P@ss", "please help"),
    ],
    "iban": [
        ("IBAN DE89 3704 0044 0532 0130 00", "3704 0044", "[IBAN DE ****3000]"),
        ("DE89370400440532013000", "370400440532", "[IBAN DE ****3000]"),
        ("my iban is GB29NWBK60161331926819 thanks", "60161331", "[IBAN GB ****6819]"),
        ("GB29 NWBK 6016 1331 9268 19 AND", "6016 1331", "[IBAN GB ****6819] AND"),
    ],
    "id": [
        ("身份证 110105 19491231 002X", "19491231", "身份证"),
        ("身份证 110105-19491231-002X", "19491231", "身份证"),
        ("台湾身分证 A123456789", "A123456789", "台湾身分证"),
        ("passport#E98765432", "E98765432", "passport"),
        ("护照号 E 1234 5678", "1234 5678", "护照号"),
    ],
}


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [case for cases in CASES.values() for case in cases],
    ids=[f"{kind}-{i}" for kind, cases in CASES.items() for i in range(len(cases))],
)
def test_the_secret_is_masked_and_the_rest_stays_readable(text: str, secret: str, kept: str) -> None:
    masked = mask_text(text)
    assert secret not in masked, masked
    assert kept in masked, masked


@pytest.mark.parametrize(
    "text",
    [
        # An id glued to letters, or after an order/transaction/reference word and failing Luhn.
        "transaction id TX2026111900042",
        "merchant order ORD2026111912345678",
        "订单号：202611191234567890",
        "订单号 2026111912345678",
        "UTR 2026111912345",
        "refund ref 2026 1119 0001 2345",
        "order no. 2026111912345678",
        # Dates, amounts, case ids.
        "charged 2026-11-19 2026-11-20",
        "我的账户 2026-11-19 被冻结",
        "验证码 2026年11月19日之后一直收不到",
        "交易时间 2026-11-19 14:30，金额 ¥1,288.00",
        "case WLT-2026-000001",
        "amount 1,288.00 on 20261119 ref 40012345",
        "验证码一直收不到，扣了 128800 元",
        "OTP [masked], balance 500000",
        "验证码 [masked]，余额 500000",
        # "code" that is no secret, a length, a count.
        "error code: 1001",
        "zip code: 94107",
        "password is 6 digits",
        "PIN 4 times wrong",
        "密码 6位",
        "I changed my password\nRegards\nLi Lei",
        # Not an IBAN: the check fails.
        "XY12 ABCD 1234 EFGH 5678 90",
    ],
)
def test_what_staff_need_stays_readable(text: str) -> None:
    assert mask_text(text) == text


def test_a_card_after_an_id_keyword_is_still_masked_when_it_passes_luhn() -> None:
    assert mask_text("order no. 4111111111111111") == "order no. [card ****1111]"


def test_a_card_next_to_dates_is_masked_whole() -> None:
    masked = mask_text("2026-11-19 4111 1111 1111 1111")
    assert masked == "2026-11-19 [card ****1111]"


def test_iban_check() -> None:
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_valid("DE88 3704 0044 0532 0130 00")


class _Labels:
    language = "en"

    def phrase(self, key: str) -> str:
        return key


NAME = "Li Lei 13812345678 card 4111111111111111"


def test_the_greeting_does_not_repeat_a_number_in_the_display_name() -> None:
    context = _customer_context(_Labels(), "WLT-2026-000001", NAME)  # type: ignore[arg-type]
    assert "13812345678" not in context["customer_name"]
    assert "4111111111111111" not in context["customer_name"]
    assert context["customer_name"].startswith("Li Lei")
    assert _customer_context(_Labels(), "X", "Smith, John")["customer_name"] == "John Smith"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "sent",
    [
        f"Dear {NAME},\n\nWe received your complaint. Hotline 400-123-4567, case WLT-2026-000001.",
        f"{NAME}，您好：\n\n我们已收到您的投诉。客服电话 400-123-4567。",
    ],
)
def test_our_sent_mail_shows_the_name_masked_and_our_text_as_written(sent: str) -> None:
    shown = _ours(sent, "付款失败")
    assert "13812345678" not in shown and "4111111111111111" not in shown
    assert "Li Lei" in shown
    assert shown.split("\n", 1)[1] == sent.split("\n", 1)[1]  # our own text untouched


def test_the_marker_is_the_one_staff_know() -> None:
    assert mask_text("验证码 482913") == f"验证码 {MASKED}"

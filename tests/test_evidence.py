"""Evidence extraction: every form a customer writes, normalised as staff expect it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.config.rules import default_rules, load_rules
from inbox_agent.domain.model import Attachment
from inbox_agent.stages.evidence import extract_evidence, mask_sensitive, missing_evidence

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 6 March 2024, 10:00 in Shanghai.
WEDNESDAY = datetime(2024, 3, 6, 10, 0, tzinfo=SHANGHAI)


def found(text: str, *, subject: str = "", reference: datetime = WEDNESDAY, attachments=()) -> dict[str, str]:
    return extract_evidence(subject, text, attachments, reference=reference, tz=SHANGHAI)


def attachment(name: str, content_type: str) -> Attachment:
    return Attachment(
        filename=name,
        safe_name=name,
        content_type=content_type,
        declared_type=content_type,
        size=10,
        sha256="",
    )


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The payment on 2024-03-05 failed.", "2024-03-05"),
        ("付款时间 2024/3/5", "2024-03-05"),
        ("It happened on 03/02/2024.", "2024-03-02"),  # US order: month first
        ("It happened on 13/02/2024.", "2024-02-13"),  # 13 cannot be a month: day first
        ("On 5 March 2024 I paid.", "2024-03-05"),
        ("On 4th of March I paid.", "2024-03-04"),
        ("I paid on March 5, nothing arrived.", "2024-03-05"),
        ("Charged on Mar 1st.", "2024-03-01"),
        ("我在2024年3月5日转账", "2024-03-05"),
        ("我在3月5号转账", "2024-03-05"),
        ("我在3月4日转账", "2024-03-04"),
        ("It failed today.", "2024-03-06"),
        ("It failed yesterday.", "2024-03-05"),
        ("It failed last Friday.", "2024-03-01"),
        ("It failed 3 days ago.", "2024-03-03"),
        ("今天付款失败", "2024-03-06"),
        ("昨天付款失败", "2024-03-05"),
        ("前天付款失败", "2024-03-04"),
        ("上周五付款失败", "2024-03-01"),
        ("上星期五付款失败", "2024-03-01"),
        ("上週五付款失敗", "2024-03-01"),
        ("上周日付款失败", "2024-03-03"),
        # A day alone, or month.day with 号/日, as customers write them (today: 2024-03-06).
        ("我3.5号转账", "2024-03-05"),
        ("5号转的账没到", "2024-03-05"),
        ("本月1号扣的款", "2024-03-01"),
        ("上个月28号扣的款", "2024-02-28"),
        ("20号转账", "2024-02-20"),  # the 20th is still to come this month: last month's
        # In Chinese numerals, as often as in digits.
        ("三月五日转账没到", "2024-03-05"),
        ("二月二十八号被扣款两次", "2024-02-28"),
        ("五号转的账没到", "2024-03-05"),
        ("上个月二十九号扣的款", "2024-02-29"),
        ("三天前转账", "2024-03-03"),
        ("两周前转账", "2024-02-21"),
        ("一个星期前转账", "2024-02-28"),
        ("本周一转账失败", "2024-03-04"),
        ("这周二下午转账", "2024-03-05"),
        # A day of the month alone, and month/day after "on" or "since", in English.
        ("I was charged twice on the 4th", "2024-03-04"),
        ("since the 1st I cannot log in", "2024-03-01"),
        ("the 28th of last month I sent money", "2024-02-28"),
        ("On 3/2 I sent $200", "2024-03-02"),
        ("two days ago the transfer failed", "2024-03-04"),
        ("a week ago the transfer failed", "2024-02-28"),
        # A weekday naming the date right after it gives way to the date.
        ("Payment on Monday 26th February failed", "2024-02-26"),
        ("周一2月26日转账", "2024-02-26"),
    ],
)
def test_transaction_date_forms(text: str, expected: str) -> None:
    assert found(text)["transaction_date"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "在地铁3号线站口",
        "住5号楼",
        "工号12号",
        "排第2号",
        "订单号18号",
        "说好3日内到账",
        "7日后再查",
        "二号线地铁",
        "排第一号",
        "同一日扣了两次",
        "一日三餐都用钱包支付",
        "一百二十八号",
        "三天前后",
        "几天前",
        "这周一直没到账",
        "the 2nd payment failed",
        "for the 1st time",
        "the 1st floor",
        "we offer 24/7 support",
        "pay 1/2 of the amount",
        "请在五日内回复",
        "本月20号会还款",  # this month's 20th is still to come: a promise, not a transaction
        "on the 20th of this month it will be paid",
    ],
)
def test_a_numbered_thing_is_not_a_day(text: str) -> None:
    assert "transaction_date" not in found(text)


def test_dates_without_year_and_relative_dates_cross_year_boundaries() -> None:
    new_year = datetime(2024, 1, 1, 9, 0, tzinfo=SHANGHAI)  # a Monday
    assert found("It failed yesterday.", reference=new_year)["transaction_date"] == "2023-12-31"
    assert found("我12月30日转的账", reference=new_year)["transaction_date"] == "2023-12-30"
    assert found("Paid on March 5", reference=new_year)["transaction_date"] == "2023-03-05"
    assert found("上周五付款失败", reference=new_year)["transaction_date"] == "2023-12-29"
    assert found("It failed last Monday.", reference=new_year)["transaction_date"] == "2023-12-25"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paid on 03/05/2024", "2024-03-05"),  # both readings past: month/day, as before
        ("paid on 13/02/2024", "2024-02-13"),  # only day/month is a date
        ("paid on 04/03/2024", "2024-03-04"),  # April 3 is after the mail (6 March), 4 March is not
        ("paid on 12/12/2023", "2023-12-12"),
        ("paid on 03/25/2024", "2024-03-25"),  # after the mail either way: kept as written
    ],
)
def test_a_slashed_date_after_the_mail_is_read_day_first_when_that_is_not(text: str, expected: str) -> None:
    assert found(text)["transaction_date"] == expected


def test_relative_dates_use_the_service_time_zone_and_month_ends() -> None:
    # 17:00 UTC on 29 Feb is already 1 March in Shanghai: "yesterday" is the 29th.
    late_utc = datetime(2024, 2, 29, 17, 0, tzinfo=UTC)
    assert found("昨天转账没到", reference=late_utc)["transaction_date"] == "2024-02-29"
    assert found("前天转账没到", reference=late_utc)["transaction_date"] == "2024-02-28"
    assert (
        found("Paid on Feb 29", reference=datetime(2025, 3, 1, tzinfo=UTC))["transaction_date"]
        == "2024-02-29"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A date about the account is not the incident (today: 2024-03-06). Before, the
        # first date won, and the case read as "older than the complaint window".
        ("I've been a customer since 2015-03-02. On 28 February my payment of $40 failed.", "2024-02-28"),
        ("I opened my account on 3 May 2019 and on 1 March a payment failed", "2024-03-01"),
        ("My account was opened 2019-05-03; the charge on 2 March is wrong", "2024-03-02"),
        ("My card expires 2028-05-01, the charge on 2 March was taken twice", "2024-03-02"),
        ("我2019年3月1日开户的，2月28日转账失败了", "2024-02-28"),
        ("我是2018年5月6日注册的老用户，3月2日被扣了两次款", "2024-03-02"),
        # Guards (passed before too): "since" and "opened" that date the incident.
        ("Since 28 February I cannot log in", "2024-02-28"),
        ("I opened the app on 2 March and saw a charge I never made", "2024-03-02"),
        ("I opened a ticket on 1 March about the transfer of 2 February", "2024-03-01"),
        ("Date of birth 1990-04-12. 3月2日转账没到", "2024-03-02"),  # years that old are no incident
    ],
)
def test_a_date_about_the_account_is_not_the_transaction_date(text: str, expected: str) -> None:
    assert found(text)["transaction_date"] == expected


@pytest.mark.parametrize(
    "text",
    ["Customer since 2015-03-02 and never had a problem until now", "我2019年3月1日开户，现在登不上了"],
)
def test_only_a_date_about_the_account_gives_no_transaction_date(text: str) -> None:
    assert "transaction_date" not in found(text)


def test_impossible_dates_are_ignored() -> None:
    assert "transaction_date" not in found("Reference 2024-02-31 is not a date.")


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at 15:30 it failed", "15:30"),
        ("at 3:30 pm it failed", "15:30"),
        ("around 3pm it failed", "15:00"),
        ("around 9.45 a.m. it failed", "09:45"),
        ("下午3点15分付款失败", "15:15"),
        ("晚上8点付款失败", "20:00"),
        ("上午10:20付款失败", "10:20"),
        ("下午3點半轉帳", "15:30"),
        ("凌晨12点被盗刷", "00:00"),
        ("下午三点转账失败", "15:00"),
        ("晚上八点半被盗刷", "20:30"),
        ("下午三点十五分付款", "15:15"),
        ("上午十点一刻付款", "10:15"),
        ("十一点半转账失败", "11:30"),
        ("凌晨两点被盗刷", "02:00"),
        ("中午十二点付款", "12:00"),
    ],
)
def test_transaction_time_forms(text: str, expected: str) -> None:
    assert found(text)["transaction_time"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "I paid 25 dollars for 3 items.",
        "请快一点处理",
        "晚一点再试",
        "我有三点建议",
        "一时半会儿处理不了",
        "有一点问题",
    ],
)
def test_no_time_in_plain_numbers(text: str) -> None:
    assert "transaction_time" not in found(text)


# --------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I paid ¥268.50 for it", "268.50 CNY"),
        ("付了￥268.5", "268.50 CNY"),
        ("扣了500元", "500.00 CNY"),
        ("扣了 500 元", "500.00 CNY"),
        ("sent RMB 200", "200.00 CNY"),
        ("sent CNY 1,200", "1200.00 CNY"),
        ("charged $1,240.00", "1240.00 USD"),
        ("charged USD 89.20", "89.20 USD"),
        ("charged 89.20 USD", "89.20 USD"),
        ("paid €35 at dinner", "35.00 EUR"),
        ("paid HK$300 fee", "300.00 HKD"),
        ("轉了 NT$500", "500.00 TWD"),
        ("the amount was 1,000.50", "1000.50"),
        ("ＲＭＢ　２００", "200.00 CNY"),
        # Written in Chinese numerals, or with 千 / 万, as customers write them.
        ("转账两千元没到账", "2000.00 CNY"),
        ("转账五百元没到账", "500.00 CNY"),
        ("扣了我人民币叁佰元", "300.00 CNY"),
        ("被盗刷了两千五百块", "2500.00 CNY"),
        ("壹仟贰佰叁拾肆元", "1234.00 CNY"),
        ("一百零八元", "108.00 CNY"),
        ("两千零五元", "2005.00 CNY"),
        ("一万零五百元", "10500.00 CNY"),
        ("两万五千块钱", "25000.00 CNY"),
        ("一块钱也没退", "1.00 CNY"),
        ("转了1.5万没到账", "15000.00 CNY"),
        ("提现3千到银行卡", "3000.00 CNY"),
        ("被盜刷了兩萬塊", "20000.00 CNY"),
        # As most of Europe writes money: decimal comma, dots for thousands, sign after.
        ("I was charged €12,50 twice", "12.50 EUR"),
        ("abgebucht: 1.234,56 € statt 123,45 €", "1234.56 EUR"),
        ("débité de 12,50 EUR", "12.50 EUR"),
        ("charged EUR 1.234,56", "1234.56 EUR"),
        ("charged €1.234 for a 12 € ticket", "1234.00 EUR"),
        ("charged $0,99", "0.99 USD"),
    ],
)
def test_amount_forms(text: str, expected: str) -> None:
    assert found(text)["amount"] == expected


@pytest.mark.parametrize(
    "text",
    ["我们一块去银行", "买了一万个", "试了1.5万次", "第一千零一夜", "有2万人在用", "2026.11.18 那天"],
)
def test_chinese_numbers_that_are_not_money_are_not_amounts(text: str) -> None:
    assert "amount" not in found(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11.18转账200元没到账", "200.00 CNY"),  # 11.18 is a date here: the marked amount wins
        ("我11.18号转账了200元", "200.00 CNY"),
        ("2026.11.18转账200元", "200.00 CNY"),  # was read as "2026.11"
        ("12.30 paid 45 USD", "45.00 USD"),
    ],
)
def test_an_amount_with_its_currency_beats_a_bare_number_that_may_be_a_date(text: str, expected: str) -> None:
    assert found(text)["amount"] == expected


def test_numbers_that_are_not_money_are_not_amounts() -> None:
    assert "amount" not in found("I tried 3 times, version 2.10 of the app, room 1,024 of 2 buildings.")


def test_first_amount_is_the_amount_and_should_be_is_the_expected_amount() -> None:
    result = found("I was charged $120.00 but it should be $12.00.")
    assert (result["amount"], result["expected_amount"]) == ("120.00 USD", "12.00 USD")
    result = found("实际扣了350元，应扣300元。")
    assert (result["amount"], result["expected_amount"]) == ("350.00 CNY", "300.00 CNY")
    result = found("应该是100元，结果扣了200元")
    assert (result["amount"], result["expected_amount"]) == ("200.00 CNY", "100.00 CNY")
    assert "expected_amount" not in found("I paid ¥50 and then ¥60.")


# --------------------------------------------------------------------------- transaction ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("交易号：4200001234202403051234", "4200001234202403051234"),
        ("交易單號: T2024030588", "T2024030588"),
        ("订单号 ORD-99812345", "ORD-99812345"),
        ("訂單號碼 A88120034", "A88120034"),
        ("流水号W202406100088123", "W202406100088123"),
        ("交易编号为 88120034567", "88120034567"),
        ("Transaction ID: 9f3a2b77c1", "9f3a2b77c1"),
        ("transaction no. 55120987", "55120987"),
        ("Order number: 112-4410932-55", "112-4410932-55"),
        ("Ref: ABC12345", "ABC12345"),
        ("txn 778100234", "778100234"),
        ("It was TXN8820349911 I think", "TXN8820349911"),
        # Before: the id-shaped pattern stopped at the first hyphen ("TX20261201").
        ("Here is the transaction id: TX20261201-998877.", "TX20261201-998877"),
        # Before: "reference" read as the id of "transaction", and the number was lost.
        ("transaction reference number is 0123456789", "0123456789"),
        ("transaction reference no. AB123456", "AB123456"),
        ("UTR number 432112345678 money not credited", "432112345678"),
        ("RRN: 332211445566", "332211445566"),
    ],
)
def test_transaction_id_forms(text: str, expected: str) -> None:
    assert found(text)["transaction_id"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号是什么我不知道，请打我手机 13812345678",
        "order number 13812345678",
        "transaction date 20240305",
        "工单号 GD20240611009",
        "the reference is in the screenshot",
    ],
)
def test_phone_numbers_dates_and_tickets_are_not_transaction_ids(text: str) -> None:
    assert "transaction_id" not in found(text)


# --------------------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('The app says "Insufficient balance" every time.', "Insufficient balance"),
        ("It shows 'Card not supported' now.", "Card not supported"),
        ("页面提示“余额不足，请充值”", "余额不足，请充值"),
        ("畫面顯示「交易失敗，請稍後再試」", "交易失敗，請稍後再試"),
        ("报错：系统繁忙。", "系统繁忙"),
        ("Error E1023 when I log in", "E1023"),
        ("It fails with ERR_LIMIT_EXCEEDED.", "ERR_LIMIT_EXCEEDED"),
        ("I got error code 51.", "51"),
        ('It says "Payment failed" (error code 51).', "Payment failed (51)"),
        ("错误代码：E2045", "E2045"),
    ],
)
def test_error_message_forms(text: str, expected: str) -> None:
    assert found(text)["error_message"] == expected


# --------------------------------------------------------------------------- screenshots


def test_screenshot_needs_a_real_image_or_pdf_attachment() -> None:
    assert "screenshot" not in found("Screenshot attached. 截图见附件。")
    assert "screenshot" not in found("see attachment", attachments=[attachment("notes.txt", "text/plain")])
    one = found("see attachment", attachments=[attachment("a.png", "image/png")])
    assert one["screenshot"] == "1 file: a.png"
    two = found("", attachments=[attachment("a.png", "image/png"), attachment("b.pdf", "application/pdf")])
    assert two["screenshot"] == "2 files: a.png, b.pdf"


# --------------------------------------------------------------------------- accounts and recipients


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My registered phone number is 13812345678.", "138****5678"),
        ("账号：138 1234 5678", "138****5678"),
        ("帳號是 138****5678", "138****5678"),
        ("註冊手機號碼 0912-345-678", "091***5678"),
        ("My account email is john.doe@example.com", "j***@example.com"),
        ("registered with j***@example.com", "j***@example.com"),
        ("Wallet ID: 55120093", "55120093"),
        ("手机号 139****8821 的账户", "139****8821"),
    ],
)
def test_account_id_forms_are_masked(text: str, expected: str) -> None:
    assert found(text)["account_id"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I sent $50 to John Smith on Monday.", "John Smith"),
        ("I transferred 300 euros to my landlord, Anna Weber.", "my landlord"),
        ("Recipient: Li Lei", "Li Lei"),
        ("收款人：张三，金额500元", "张三"),
        ("我昨天转给李四500元", "李四"),
        ("我轉了 NT$12,000 給房東陳先生，錢包顯示已完成", "房東陳先生"),
        ("對方帳號：6222020200112233", "6222020200112233"),
        # The name ends where the amount or the complaint begins; 给 X 转 names X.
        ("转给张三300元没到账", "张三"),
        ("转给陈大文一直没有到账", "陈大文"),
        ("转给王小明￥500", "王小明"),
        ("我给张三转了300元", "张三"),
        ("给我妈妈转了五百块，对方说没收到", "我妈妈"),
        ("我还给张三转过钱", "张三"),
    ],
)
def test_recipient_forms(text: str, expected: str) -> None:
    assert found(text)["recipient"] == expected


def test_no_recipient_for_requests_to_us() -> None:
    assert "recipient" not in found("Could you send it to this address? Please send the statement to me.")


@pytest.mark.parametrize("text", ["请给我退款", "给你们打了三次电话", "我给客服打了电话", "给他转了两千元"])
def test_no_recipient_for_pronouns_or_calls(text: str) -> None:
    assert "recipient" not in found(text)


# --------------------------------------------------------------------------- contacts and wishes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is about ticket #48213 again.", "ticket 48213"),
        ("Case number: CS-20240303-117", "case CS-20240303-117"),
        ("工单号 GD20240611009 一直没人处理", "工单 GD20240611009"),
        ("I called support on March 3 and nobody helped.", "I called support on March 3 and nobody helped"),
        ("我已经联系过客服三次了", "已经联系过客服三次了"),
        ("之前投诉过一次", "之前投诉过一次"),
        ("我打了好几次客服电话", "打了好几次客服电话"),
    ],
)
def test_contact_history_forms(text: str, expected: str) -> None:
    assert found(text)["contact_history"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please refund the duplicate charge.", "refund"),
        ("请尽快退款", "refund"),
        ("请把钱退回给我", "refund"),
        ("I want compensation for this.", "compensation"),
        ("要求赔偿损失", "compensation"),
        ("要求賠償", "compensation"),
        ("Please unlock my account.", "unlock"),
        ("请帮我解封账号", "unlock"),
        ("请马上解冻", "unlock"),
        ("Please cancel the order.", "cancel"),
        ("I want the payment reversed.", "reverse"),
        ("I will request a chargeback.", "chargeback"),
        ("Please explain what happened.", "explanation"),
        ("Please refund me and I also want compensation.", "refund, compensation"),
    ],
)
def test_desired_resolution_forms(text: str, expected: str) -> None:
    assert found(text)["desired_resolution"] == expected


def test_a_refund_in_the_story_is_not_a_wish() -> None:
    assert "desired_resolution" not in found("The merchant refunded me last week. Where is the money?")


# --------------------------------------------------------------------------- masking


def test_card_and_identity_numbers_never_leave_unmasked() -> None:
    text = (
        "My card 4532 0151 1283 0366 was charged. Account: 4532015112830366. "
        "I sent it to 4111-1111-1111-1111. My ID 11010519491231002X, Ticket 4532015112830366."
    )
    values = " ".join(found(text).values())
    assert values  # something was found, and none of it is a full number
    assert not re.search(r"4532\D?0151\D?1283\D?0366|4111\D?1111\D?1111\D?1111|11010519491231002X", values)


def test_mask_sensitive_keeps_the_last_four() -> None:
    assert mask_sensitive("card 4532 0151 1283 0366 ok") == "card **** **** **** 0366 ok"
    assert mask_sensitive("4111111111111111") == "************1111"
    assert mask_sensitive("ID 11010519491231002X") == "ID **************002X"
    assert mask_sensitive("身分證字號 A123456789") == "身分證字號 ******6789"
    # A long transaction id that is not a card number stays readable.
    assert mask_sensitive("4200001234202403051234") == "4200001234202403051234"
    assert mask_sensitive("1234567890123456") == "1234567890123456"  # fails the Luhn check


# --------------------------------------------------------------------------- missing evidence


def test_missing_evidence_in_configured_order_with_alternatives() -> None:
    rules = default_rules()
    assert missing_evidence("transaction_failed", {}, rules) == (
        "transaction_date",
        "amount",
        "error_message",
        "transaction_id",  # the group "transaction_id|screenshot" asks for its first item
    )
    have = {"amount": "5.00 USD", "screenshot": "1 file: a.png"}
    assert missing_evidence("transaction_failed", have, rules) == ("transaction_date", "error_message")
    assert (
        missing_evidence("transaction_failed", {"transaction_id": "T1234567"}, rules)[-1] == "error_message"
    )


def test_missing_evidence_follows_user_configuration() -> None:
    errors: list[str] = []
    rules = load_rules(None, {"required": {"other": ["desired_resolution", "account_id"]}}, None, errors)
    assert errors == []
    assert missing_evidence("other", {"account_id": "138****5678"}, rules) == ("desired_resolution",)
    assert missing_evidence("unknown-category", {}, rules) == ()


def test_a_whole_complaint() -> None:
    text = (
        "您好，我在上週五下午3點15分用錢包轉帳 NT$5,000 給我媽媽，畫面顯示「交易失敗，錯誤代碼E2045」。\n"
        "交易編號：88120034567。註冊手機號碼 0912-345-678。之前已經聯繫過客服，請盡快退款。"
    )
    assert found(text, subject="轉帳失敗") == {
        "transaction_date": "2024-03-01",
        "transaction_time": "15:15",
        "amount": "5000.00 TWD",
        "transaction_id": "88120034567",
        "error_message": "交易失敗，錯誤代碼E2045",
        "account_id": "091***5678",
        "recipient": "我媽媽",
        "contact_history": "已經聯繫過客服",
        "desired_resolution": "refund",
    }


_CARD_RUN = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "交易号：",
                "Transaction ID: ",
                "account ",
                "sent $50 to ",
                "error ",
                "提示“",
                "”",
                "昨天",
                "上周五",
                "3月5号",
                "下午3点",
                "¥",
                "元",
                "4532 0151 1283 0366",
                "11010519491231002X",
                "138****5678",
                "a@b.co",
                " ",
                "\n",
                "，",
                ".",
                "12",
                "2024-02-30",
                "last Monday",
                "请退款",
            ]
        )
        | st.text(max_size=12),
        max_size=25,
    )
)
def test_any_text_gives_a_clean_result_and_no_card_number(pieces: list[str]) -> None:
    result = found("".join(pieces))
    assert all(isinstance(value, str) and value for value in result.values())
    for value in result.values():
        for match in _CARD_RUN.finditer(value):
            assert not _luhn_valid(re.sub(r"\D", "", match.group())), value


def _written_in_chinese(number: int) -> str:
    """The formal reading: 10500 "一万零五百", 1005 "一千零五", 15 "一十五"."""
    digits = "零一二三四五六七八九"

    def below_ten_thousand(value: int) -> str:
        out, gap = "", False
        for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            digit = value // unit % 10
            if digit == 0:
                gap = gap or bool(out)
                continue
            out += ("零" if gap else "") + digits[digit] + name
            gap = False
        return out

    high, low = divmod(number, 10_000)
    if not high:
        return below_ten_thousand(low)
    return below_ten_thousand(high) + "万" + ("零" if 0 < low < 1000 else "") + below_ten_thousand(low)


@given(st.integers(1, 99_999_999))
def test_any_number_written_in_chinese_reads_back(number: int) -> None:
    assert found(f"被扣了{_written_in_chinese(number)}元")["amount"] == f"{number}.00 CNY"

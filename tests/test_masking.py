"""One masking module (domain/mask.py) for every staff-facing output: notifications,
the staff page, `show` and the logs. Secrets are put into generated zh/en/mixed text,
right next to CJK characters, and none may survive in any of them."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox_agent.config.loader import build_config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.mask import MaskingFilter, luhn_valid, mask_text
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.escalation import level_deadlines, notification_mail
from inbox_agent.stages.evidence import extract_evidence
from inbox_agent.views.clock import wall_clock
from inbox_agent.views.masked import masked_case, masked_message
from inbox_agent.views.page import build_page, render_page

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
OPENED = NOW - timedelta(hours=30)


# --- the examples from the issue -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("我刚才收到验证码 482913", "482913"),
        ("我的密码：Abc12345", "Abc12345"),
        ("验证码是482913请尽快", "482913"),
        ("卡号6222 0212 3456 7890 123被扣款", "6222 0212 3456 7890 123"),
        ("card 6222 0212 3456 7890 123 was charged", "6222 0212 3456 7890 123"),  # fails Luhn
        ("支付密码Abc12345，谢谢", "Abc12345"),
        ("my password is Hunter2-Kx9q.", "Hunter2-Kx9q"),
        ("PIN:4821", "4821"),
        ("CVV 737", "737"),
        ("安全码123", "123"),
        ("身份证号11010519491231002X。", "11010519491231002X"),
        ("手机13812345678联系我", "13812345678"),
        ("手机号+86 138-1234-5678", "138-1234-5678"),
        ("转到银行账号6217001234567890失败", "6217001234567890"),
        ("OTP482913", "482913"),
        # "is" and a colon together, a line break after a colon, brackets and quotes.
        ("验证码是：482913", "482913"),
        ("OTP was: 482913", "482913"),
        ("您的验证码为：【482913】", "482913"),
        ("Verification code:\n482913", "482913"),
        ("verification code (482913)", "482913"),
        ("验证码“482913”", "482913"),
        ("OTP-482913", "482913"),
        ("密码是：Abc12345", "Abc12345"),
        ("密码：【Abc12345】", "Abc12345"),
        ("password is: Abc12345", "Abc12345"),
        # The code before its keyword, as SMS put it.
        ("482913 is your verification code", "482913"),
        ("G-482913 is your Google verification code.", "482913"),
        ("【钱包】482913（动态验证码），请勿泄露", "482913"),
        ("【钱包】482913为您的验证码，5分钟内有效", "482913"),
        ("482913是您的支付宝验证码", "482913"),
        ("482913 is your Wallet code", "482913"),
        ("4821 is my PIN", "4821"),
        # Identity documents other than the mainland card.
        ("身分證字號 A123456789", "A123456789"),
        ("身份證號碼：A123456(7)", "A123456"),
        ("A123456(7) is my HKID", "A123456"),
        ("passport no. E12345678 expired", "E12345678"),
        ("回乡证H12345678", "H12345678"),
        # Full-width digits and letters, as a Chinese input method's full-width mode types them.
        ("验证码：４８２９１３", "４８２９１３"),
        ("手机号１３８１２３４５６７８", "１３８１２３４５６７８"),
        ("身份证号：１１０１０１１９９００３０７１２３４", "１１０１０１１９９００３０７１２３４"),
        ("密码：Ａｂｃ１２３４５", "Ａｂｃ１２３４５"),
        ("ＯＴＰ：４８２９１３，请尽快处理。", "４８２９１３"),
        ("＋８６\u3000１３８\u3000１２３４\u3000５６７８", "１２３４"),
        ("卡号 ６２２２\u3000０２１２\u3000３４５６\u3000７８９０\u3000１２３", "３４５６"),
    ],
)
def test_each_kind_of_secret_is_masked(text: str, secret: str) -> None:
    masked = mask_text(text)
    assert secret not in masked
    assert unicodedata.normalize("NFKC", secret) not in masked  # nor its ASCII twin


@pytest.mark.parametrize(
    "text",
    [
        "密码错误三次",
        "my password is wrong",
        "error code 1001",
        "交易号 TXN8820349911",
        "amount 268.50 on 2026-11-20",
        # A number before a code's keyword is not a code without "is" or a bracket between.
        "I paid 5000 yesterday and then got a verification code",
        "转账5000元，收到了验证码",
        "2026-11-10 14:32 收到验证码",
        "5000 is the amount, the verification code never came",
        "1001 is your error code",
        "单号 88203499 是我的订单号",
        "password is: wrong",
        "ID card lost",
        "身份证被盗用了",
        "order id 12345678",
        "请尽快处理，谢谢！订单号ＴＸ１２３，金额　５００元",  # full-width, nothing to mask: kept as written
    ],
)
def test_ordinary_words_stay_readable(text: str) -> None:
    assert mask_text(text) == text


def test_an_sms_code_is_never_taken_as_the_account_id() -> None:
    found = extract_evidence("账户被盗", "我的账户被盗了，我刚才收到验证码 482913", (), reference=NOW, tz=UTC)
    assert "482913" not in found.get("account_id", "")
    found = extract_evidence(
        "locked", "My account: the verification code is 482913", (), reference=NOW, tz=UTC
    )
    assert "482913" not in found.get("account_id", "")


# --- generated text ------------------------------------------------------------------------


def _luhn_card(body: str) -> str:
    check = next(d for d in "0123456789" if luhn_valid(body + d))
    return body + check


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
cards = st.one_of(
    st.text(alphabet="0123456789", min_size=15, max_size=15).map(lambda d: _luhn_card("4" + d[1:])),
    st.text(alphabet="0123456789", min_size=17, max_size=17).map(lambda d: "62" + d),  # UnionPay, any check
).flatmap(
    lambda number: st.sampled_from([number, " ".join(number[i : i + 4] for i in range(0, len(number), 4))])
)
# Digits 4-9 only: the fixed text around (dates, the case id, times) cannot contain them by chance.
otps = st.text(alphabet="456789", min_size=6, max_size=6)
passwords = st.tuples(
    st.text(alphabet="ABCDEFGHJKabcdefghjk", min_size=3, max_size=6),
    st.text(alphabet="0123456789", min_size=2, max_size=4),
    st.sampled_from(["", "!", "-x", "#"]),
).map("".join)
cn_ids = st.tuples(
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.integers(1950, 2008),
    st.integers(1, 12),
    st.integers(1, 28),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.sampled_from("0123456789X"),
).map(lambda p: f"{p[0]}{p[1]}{p[2]:02d}{p[3]:02d}{p[4]}{p[5]}")
phones = st.tuples(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9)).map(
    lambda p: f"1{p[0]}{p[1]}"
)

SEPARATORS = ["", " ", "：", ":", "是", " is ", "为", "是：", " is: ", " was ", ":\n", "：【", " (", "“", "-"]
SECRETS = st.one_of(
    st.tuples(st.sampled_from(["", "卡号", "card ", "银行卡"]), st.just(""), cards),
    st.tuples(
        st.sampled_from(["验证码", "驗證碼", "verification code", "OTP", "sms code", "动态码"]),
        st.sampled_from(SEPARATORS),
        otps,
    ),
    st.tuples(
        st.sampled_from(["密码", "支付密码", "password", "登录密码", "pwd"]),
        st.sampled_from(SEPARATORS),
        passwords,
    ),
    st.tuples(
        st.sampled_from(["PIN", "pin", "取款密码"]), st.sampled_from(SEPARATORS), otps.map(lambda d: d[:4])
    ),
    st.tuples(
        st.sampled_from(["CVV", "cvv2", "安全码"]), st.sampled_from(SEPARATORS), otps.map(lambda d: d[:3])
    ),
    st.tuples(st.sampled_from(["", "身份证", "ID number "]), st.just(""), cn_ids),
    st.tuples(
        st.sampled_from(["身分證字號", "身份證號碼", "passport no. ", "护照号", "HKID "]),
        st.sampled_from(["", "：", " is ", "是"]),
        st.tuples(st.sampled_from("ADEHK"), st.sampled_from("12"), otps, st.sampled_from(["45", "67"])).map(
            "".join
        ),
    ),
    st.tuples(st.sampled_from(["", "手机", "phone ", "手机号"]), st.just(""), phones),
)
# The code first, its keyword after, as SMS put it.
CODE_FIRST = st.tuples(
    otps,
    st.sampled_from(
        [
            " is your verification code",
            "（动态验证码）",
            "为您的验证码",
            "是您的支付宝验证码",
            " is your Wallet code",
            " is your one-time password",
            " (OTP)",
            " is your PIN",
        ]
    ),
)
FILLER = st.one_of(
    st.sampled_from(["我的", "昨天", "扣款了两次", "请帮忙", "账户被盗", "退款", "，", "。", "谢谢"]),
    st.sampled_from(["my account", "was charged", "please help", "yesterday", "refund", ", ", ". "]),
    st.text(alphabet="的了是我你他们在有这个账户钱包支付失败", min_size=1, max_size=6),
)


FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)} | {0x20: 0x3000}


@st.composite
def complaints(draw: st.DrawFn) -> tuple[str, list[str]]:
    pieces: list[str] = []
    secrets: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        pieces.append(draw(FILLER))
        if draw(st.integers(0, 4)) == 0:
            secret, keyword_after = draw(CODE_FIRST)
            space = " " if pieces[-1][-1:].isalnum() else ""
            pieces.append(f"{space}{secret}{keyword_after}")
            secrets.append(secret)
            pieces.append(draw(FILLER))
            continue
        keyword, separator, secret = draw(SECRETS)
        if draw(st.integers(0, 5)) == 0:  # typed in a Chinese input method's full-width mode
            secret = secret.translate(FULL_WIDTH)
        # English words are separated by spaces; next to CJK anything goes (no space).
        space = " " if keyword[:1].isascii() and keyword and pieces[-1][-1:].isascii() else ""
        pieces.append(f"{space}{keyword}{separator}{secret}")
        # A PIN or CVV is short: what must not survive is the code next to its keyword
        # (a kept last-four of a card may hold the same three digits).
        secrets.append(secret if len(secret) >= 6 else f"{keyword}{separator}{secret}")
        pieces.append(draw(FILLER))
    return "".join(pieces), secrets


def _first_line(text: str) -> str:
    """A subject or evidence value from the text: whole lines, as the daemon keeps them (a
    cut in the middle of "482913 is your verification code" would cut the keyword off
    its code, which no stored field does)."""
    return text.splitlines()[0]


def _the_case(text: str) -> tuple[Case, MessageRecord]:
    at = iso(OPENED)
    case = Case(
        case_id="WLT-2026-000001",
        seq=1,
        customer="amy@example.com",
        customer_name="Amy",
        subject=_first_line(text),
        language="zh",
        category="security",
        categories=("security",),
        confidence=0.9,
        matched=(),
        severity="urgent",
        status=CaseStatus.WAITING_STAFF,
        created_at=at,
        updated_at=at,
        evidence=(("error_message", _first_line(text)),),
        awaiting_since=at,
        events=(Event(at=at, kind="opened", actor="amy@example.com", detail=text),),
    )
    message = MessageRecord(
        key="k",
        case_id=case.case_id,
        direction="in",
        message_id="<a@example.com>",
        raw_sha256="f" * 64,
        sender=case.customer,
        subject=_first_line(text),
        date=at,
        received_at=at,
        source="test",
        text=text,
    )
    return case, message


def _notification_text(case: Case, message: MessageRecord, tmp_path: Path) -> str:
    config = build_config(
        {
            "mailbox": {"address": "complaints@wallet.example", "maildir": {"path": str(tmp_path)}},
            "smtp": {"directory": str(tmp_path)},
            "storage": {"data_dir": str(tmp_path)},
            "escalation": {"L1": {"after": "100%", "recipients": ["team@wallet.example"]}},
        },
        base_dir=tmp_path,
    )
    deadline = level_deadlines(case, config)[0]
    mail = notification_mail(case, deadline, config, TEMPLATES, NOW, message)
    parsed = email.message_from_bytes(mail.raw, policy=email.policy.default)
    return "\n".join(
        _visible(part.get_content()) for part in parsed.walk() if part.get_content_maintype() == "text"
    )


def _page(case: Case, message: MessageRecord) -> str:
    page = build_page(
        [case],
        {case.case_id: [message]},
        now=NOW,
        clock_of=wall_clock(NOW, lambda _category: 3600.0),
        labels=TEMPLATES.labels("zh"),
    )
    return _visible(render_page(TEMPLATES, page))


def _visible(html: str) -> str:
    """What a reader sees of an HTML part: no style sheet, no tags (their colours and
    sizes are digits, not customer text)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<style.*?</style>", " ", html))


def _shown(case: Case, message: MessageRecord) -> str:
    shown_case, shown_message = masked_case(case), masked_message(message)
    return repr((shown_case, shown_message))


def _logged(text: str) -> str:
    record = logging.LogRecord("inbox_agent", logging.INFO, __file__, 1, "customer wrote: %s", (text,), None)
    MaskingFilter().filter(record)
    return record.getMessage()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(complaints())
def test_no_secret_survives_in_any_staff_facing_output(
    tmp_path: Path, generated: tuple[str, list[str]]
) -> None:
    text, secrets = generated
    case, message = _the_case(text)
    outputs = {
        "notification": _notification_text(case, message, tmp_path),
        "page": _page(case, message),
        "show": _shown(case, message),
        "log": _logged(text),
    }
    for where, output in outputs.items():
        squashed = output.replace(" ", "").replace("-", "")
        for secret in secrets:
            for form in (secret, unicodedata.normalize("NFKC", secret)):  # and its ASCII twin
                assert form.replace(" ", "").replace("-", "") not in squashed, (where, secret, text)


def test_show_unmasked_is_the_stored_text(tmp_path: Path) -> None:
    case, message = _the_case("验证码482913")
    assert "482913" not in _shown(case, message)
    assert replace(message) == message and "482913" in message.text


def test_show_masks_by_default_and_unmask_is_recorded_with_who_looked(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    body = "有人盗用我的账户，我刚才收到验证码 482913，我的密码：Abc12345，卡号6222 0212 3456 7890 123。"
    (maildir / "new" / "1.mail").write_bytes(complaint("li@example.cn", "账户被盗 验证码482913", body))
    config = write_config(tmp_path, maildir=maildir)
    run = cli(config, "run", "--once")
    assert run.returncode == 0
    (case,) = cli_json(config, "cases")
    secrets = ("482913", "Abc12345", "6222 0212 3456 7890 123")
    # The run's table and the case list show the subject: masked too, and the marker
    # itself visible (not swallowed as terminal markup).
    for output in (run.stdout, cli(config, "cases").stdout, json.dumps(case, ensure_ascii=False)):
        assert "482913" not in output and "[masked]" in output
    for output in (
        cli(config, "show", case["case_id"]).stdout,
        json.dumps(cli_json(config, "show", case["case_id"]), ensure_ascii=False),
    ):
        assert not [secret for secret in secrets if secret in output]
    unmasked = cli(config, "show", case["case_id"], "--unmask", "--by", "alice")
    assert unmasked.returncode == 0 and "482913" in unmasked.stdout
    events = cli_json(config, "show", case["case_id"])["events"]
    assert [(e["kind"], e["actor"]) for e in events if e["kind"] == "viewed_unmasked"] == [
        ("viewed_unmasked", "alice")
    ]
    assert cli(config, "show", "WLT-2026-999999", "--unmask").returncode == 1


def test_a_phone_number_as_address_or_name_is_masked_in_cases_and_show(tmp_path: Path) -> None:
    """Mainland customers often write from 13812345678@163.com with their number as the
    display name: `cases` and `show` mask both, as the page and the notifications do."""
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    raw = complaint('"13900001111" <13812345678@163.com>', "付款失败", "付款失败了，扣了两次钱。")
    (maildir / "new" / "1.mail").write_bytes(raw)
    config = write_config(tmp_path, maildir=maildir)
    assert cli(config, "run", "--once").returncode == 0
    (case,) = cli_json(config, "cases")
    assert case["customer"] == "[phone ***5678]@163.com"
    shown = cli_json(config, "show", case["case_id"])
    for output in (json.dumps(case), json.dumps(shown), cli(config, "show", case["case_id"]).stdout):
        assert "13812345678" not in output and "13900001111" not in output
    assert "13812345678@163.com" in cli(config, "show", case["case_id"], "--unmask", "--by", "li").stdout

"""The parser stage on hand-written mails: charsets, bodies, attachments, headers, limits."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox_agent.stages.charsets import decode_bytes, normalize_charset
from inbox_agent.stages.evidence import extract_evidence
from inbox_agent.stages.parse import MAX_ATTACHMENTS, ParseFailure, parse_message, strip_quoted
from inbox_agent.stages.quoted_reply import written_part

MAILS = Path(__file__).resolve().parent / "mails" / "parse"


def load(name: str) -> bytes:
    return (MAILS / name).read_bytes()


def mail(headers: str, body: str = "hello\r\n", *, raw_body: bytes | None = None) -> bytes:
    head = headers.strip("\n").replace("\n", "\r\n") + "\r\n\r\n"
    return head.encode("ascii") + (raw_body if raw_body is not None else body.encode("ascii"))


BASIC = "From: pat@example.com\nTo: complaints@wallet.example\nSubject: hi\n"


# ----------------------------------------------------------------- charsets


def test_gbk_body_labelled_gb2312_keeps_gbk_only_characters() -> None:
    msg = parse_message(load("gbk_labelled_gb2312.eml"))
    assert "王镕堃" in msg.text
    assert "账户昨天被锁定了" in msg.text
    assert "锟斤拷" not in msg.text and "\ufffd" not in msg.text
    assert msg.subject == "镕堃的账户被锁定"
    assert msg.sender_name == "王镕堃"
    assert msg.sender == "wang.rongkun@example.cn"
    assert msg.language == "zh"
    assert msg.defects == ()


def test_raw_utf8_subject_without_declared_charset() -> None:
    msg = parse_message(load("raw8bit_utf8_subject.eml"))
    assert msg.subject == "退款一直没有到账"
    assert "还没有到账" in msg.text


def test_raw_gbk_subject_and_body_without_declared_charset() -> None:
    msg = parse_message(load("raw8bit_gbk_subject.eml"))
    assert msg.subject == "账户被冻结怎么办"
    assert msg.text == "我的钱包账户突然被冻结了，余额无法使用。"
    assert any("gb18030" in defect for defect in msg.defects)


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        ("=?utf-8?B?" + base64.b64encode("交易失败".encode()).decode() + "?=", "交易失败"),
        ("=?UTF-8?Q?Payment_failed_=E2=80=94_=E4=BA=A4=E6=98=93?=", "Payment failed — 交易"),
        ("=?gb2312?B?" + base64.b64encode("重复扣款 镕".encode("gbk")).decode() + "?=", "重复扣款 镕"),
        ("=?GB2312?Q?=D6=D8=B8=B4=BF=DB=BF=EE?=", "重复扣款"),
        # A character split across two encoded words, joined before decoding.
        ("=?utf-8?B?5L2g?=\n =?utf-8?B?5aW9?=", "你好"),
        ("Re: =?utf-8?q?caf=C3=A9?= order", "Re: café order"),
    ],
)
def test_rfc2047_subjects(encoded: str, expected: str) -> None:
    msg = parse_message(mail(f"From: pat@example.com\nSubject: {encoded}\n"))
    assert msg.subject == expected


def test_big5_traditional_with_hkscs_characters() -> None:
    msg = parse_message(load("big5_traditional.eml"))
    assert msg.subject == "帳戶被鎖定"
    assert msg.text == "我的帳戶被鎖定，無法登入。點解會咁㗎？嘅"
    assert msg.language == "zh-Hant"  # answered in Traditional Chinese


def test_unknown_and_broken_charset_labels_fall_back_to_detection() -> None:
    body = "余额不足，付款失败".encode("gbk")
    for label in ("x-no-such-charset", "utf\\x00-8", "utf-8"):
        raw = mail(BASIC + f"Content-Type: text/plain; charset={label}\n", raw_body=body)
        assert parse_message(raw).text == "余额不足，付款失败", label


def test_undecodable_body_is_replaced_not_lost() -> None:
    raw = mail(BASIC + "Content-Type: text/plain; charset=ascii\n", raw_body=b"ok \xff\xfe\xfd\xfc end")
    msg = parse_message(raw)
    assert msg.text.startswith("ok ") and msg.text.endswith(" end")
    assert msg.text.encode("utf-8")  # no lone surrogates


def test_nul_in_charset_name_does_not_crash() -> None:
    raw = mail(BASIC + 'Content-Type: text/plain; charset="utf\x00-8"\n', body="payment failed\r\n")
    msg = parse_message(raw)
    assert msg.text == "payment failed"


def test_charset_helpers() -> None:
    assert normalize_charset("GB2312") == "gb18030"
    assert normalize_charset("x-gbk") == "gb18030"
    assert normalize_charset("Big5") == "big5hkscs"
    assert normalize_charset("base64") is None  # a bytes codec, not a charset
    assert normalize_charset("x-unknown") is None
    assert decode_bytes("镕".encode("gbk"), "gb2312") == ("镕", "gb18030")
    assert decode_bytes("café".encode("latin-1"), None) == ("café", "cp1252")
    text, _used = decode_bytes(b"\xff\xfe\x00\xd8", "utf-8")
    text.encode("utf-8")  # whatever was guessed, never a lone surrogate


# ----------------------------------------------------------------- bodies


def test_html_only_mail_is_readable_text_without_script_or_style() -> None:
    msg = parse_message(load("html_only.eml"))
    assert "My payment of $25.00 failed with error E1234." in msg.text
    assert "https://wallet.example/tx/991" in msg.text  # links stay as text
    for marker in ("SCRIPT_MARKER", "SECOND_SCRIPT", "hidden-style-marker", "color: red", "TRACKING_PIXEL"):
        assert marker not in msg.text
    assert "<script>" in msg.html  # the original is kept, never rendered unescaped
    assert msg.sender_name == "Pat Customer"


def test_multipart_alternative_prefers_the_plain_part() -> None:
    msg = parse_message(load("alternative.eml"))
    assert msg.text == "I was charged twice for order 5521 — please refund one."
    assert "<b>twice</b>" in msg.html
    assert msg.content_type == "multipart/alternative"
    assert msg.attachments == ()


@pytest.mark.parametrize(
    ("fixture", "kept", "removed"),
    [
        ("reply_en.eml", "The transaction id is TX-88812", ("QUOTED_MARKER", "SIGNATURE_MARKER", "wrote:")),
        ("reply_outlook.eml", "Here is the screenshot you asked for.", ("QUOTED_MARKER", "Original Message")),
        ("reply_zh.eml", "交易单号是 TX-99123，金额 500 元。", ("QUOTED_MARKER", "写道")),
        ("reply_zh_outlook.eml", "附件是截图。", ("QUOTED_MARKER", "原始邮件", "发件人")),
    ],
)
def test_quoted_replies_are_stripped(fixture: str, kept: str, removed: tuple[str, ...]) -> None:
    msg = parse_message(load(fixture))
    assert msg.new_text.startswith(kept)
    for marker in removed:
        assert marker not in msg.new_text
        assert marker in msg.text  # the full text still has everything


# What mail clients set to other languages put above the quoted mail (Gmail, Apple
# Mail, Thunderbird: one "wrote" line; Outlook: a From / Sent block).
_QUOTE_HEADERS = {
    "gmail_fr": "Le jeu. 3 déc. 2026 à 10:00, Service <care@wallet.example> a écrit :",
    "gmail_de": "Am Do., 3. Dez. 2026 um 10:00 Uhr schrieb Service <care@wallet.example>:",
    "gmail_es": "El jue, 3 dic 2026 a las 10:00, Service (<care@wallet.example>) escribió:",
    "gmail_it": "Il giorno gio 3 dic 2026 alle ore 10:00 Service <care@wallet.example> ha scritto:",
    "gmail_nl": "Op do 3 dec. 2026 om 10:00 schreef Service <care@wallet.example>:",
    "gmail_pt": "Em qui., 3 de dez. de 2026 às 10:00, Service <care@wallet.example> escreveu:",
    "gmail_wrapped": "Le jeu. 3 déc. 2026 à 10:00, Service <\ncare@wallet.example> a écrit :",
    "outlook_fr": "De : Service <care@wallet.example>\nEnvoyé : jeudi 3 décembre 2026 10:00\nÀ : moi",
    "outlook_de": "Von: Service <care@wallet.example>\nGesendet: Donnerstag, 3. Dezember 2026 10:00",
    "outlook_es": "De: Service <care@wallet.example>\nEnviado: jueves, 3 de diciembre de 2026 10:00",
    "outlook_ja": "差出人: Service <care@wallet.example>\n送信日時: 2026年12月3日 10:00",
    "outlook_zh_tw": "寄件者: Service <care@wallet.example>\n寄件日期: 2026年12月3日 10:00",
    "outlook_zh_cn": "发件人: Service <care@wallet.example>\n发送时间: 2026年12月3日 10:00",
}


@pytest.mark.parametrize("header", _QUOTE_HEADERS.values(), ids=_QUOTE_HEADERS.keys())
def test_quote_headers_of_mail_clients_in_other_languages_are_cut_points(header: str) -> None:
    text = f"The transfer is still missing.\n\n{header}\n\nQUOTED_MARKER our acknowledgement"
    assert strip_quoted(text) == "The transfer is still missing."


@pytest.mark.parametrize(
    "text",
    [
        "Mon conseiller a écrit :\nrien du tout",  # no address or time: a sentence of the mail
        "De: mon compte, 200 euros ont disparu\nDate: hier",  # no colon-space form of a From block
        "He schrieb: nothing",
    ],
)
def test_sentences_that_look_like_quote_headers_are_kept(text: str) -> None:
    assert strip_quoted(text) == text


_BANK_NOTICE = "Your transfer of 500.00 USD (transaction ID TXN88123456) was sent."
_FORWARDS = {
    "gmail": "---------- Forwarded message ---------\nFrom: Wallet <noreply@wallet.example>\n"
    "Date: Tue, Nov 18, 2026 at 10:00 AM\nSubject: Transfer sent\nTo: <amy@example.com>\n\n",
    "apple": "Begin forwarded message:\n\nFrom: Wallet <noreply@wallet.example>\nSubject: Transfer sent\n"
    "Date: 18 November 2026 at 10:00:00 CET\nTo: amy@example.com\n\n",
    "gmail_zh": "---------- 转发的邮件 ---------\n发件人： 钱包 <noreply@wallet.example>\n"
    "日期：2026年11月18日 周二 10:00\n主题：转账通知\n收件人：<amy@example.com>\n\n",
}


@pytest.mark.parametrize("marker", _FORWARDS.values(), ids=_FORWARDS.keys())
def test_a_forwarded_notice_is_kept_without_its_header_block(marker: str) -> None:
    # Before: cut like a quote, so the acknowledgement asked again for the transaction
    # id the customer had forwarded.
    text = f"See below: the money never arrived.\n\n{marker}{_BANK_NOTICE}"
    assert strip_quoted(text) == f"See below: the money never arrived.\n\n{_BANK_NOTICE}"
    assert written_part(text) == "See below: the money never arrived."  # staff mail: only what they typed


def test_an_outlook_forward_is_told_by_its_subject_and_our_own_mail_forwarded_back_is_not_kept() -> None:
    outlook = (
        "See the bank's mail.\n\n________________________________\nFrom: Bank <alerts@bank.example>\n"
        f"Sent: Tuesday, November 18, 2026 10:00 AM\nTo: Amy\nSubject: Debit alert\n\n{_BANK_NOTICE}"
    )
    assert strip_quoted(outlook, forward=True).endswith(_BANK_NOTICE)
    assert strip_quoted(outlook) == "See the bank's mail."  # the same block under "Re:" is a reply
    ours = (
        "Nobody answered this!\n\n---------- Forwarded message ---------\n"
        "From: Wallet Complaints <complaints@wallet.example>\nSubject: [WLT-2026-000001] My transfer\n\n"
        "Hello, we have opened case WLT-2026-000001. Category: Account locked"
    )
    assert strip_quoted(ours) == "Nobody answered this!"


def test_a_forwarded_receipt_supplies_its_evidence() -> None:
    mail = (
        "From: Amy <amy@example.com>\r\nTo: complaints@wallet.example\r\nSubject: Fwd: Transfer sent\r\n"
        "Message-ID: <fwd-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "The money never arrived.\r\n\r\n" + _FORWARDS["gmail"].replace("\n", "\r\n") + _BANK_NOTICE + "\r\n"
    ).encode()
    msg = parse_message(mail)
    found = extract_evidence(
        msg.subject, msg.new_text, msg.attachments, reference=datetime(2026, 11, 20, tzinfo=UTC), tz=UTC
    )
    assert (found["transaction_id"], found["amount"]) == ("TXN88123456", "500.00 USD")


def test_stripping_that_would_leave_nothing_keeps_the_text() -> None:
    text = "> only a quote\n> of an earlier mail"
    assert strip_quoted(text) == text


def test_in_reply_to_and_references_are_id_tuples() -> None:
    msg = parse_message(load("reply_en.eml"))
    assert msg.in_reply_to == ("<ack-1@wallet.example>",)
    assert msg.references == ("<orig@example.com>", "<ack-1@wallet.example>")


def test_english_mail_is_en() -> None:
    assert parse_message(load("alternative.eml")).language == "en"


# ----------------------------------------------------------------- attachments


def test_png_declared_octet_stream_is_sniffed_as_png() -> None:
    msg = parse_message(load("png_attachment.eml"))
    assert msg.text == "The app shows this error."
    (attachment,) = msg.attachments
    assert attachment.filename == "付款截图.png"
    assert attachment.content_type == "image/png"
    assert attachment.declared_type == "application/octet-stream"
    assert attachment.is_screenshot
    assert attachment.payload.startswith(b"\x89PNG")
    assert attachment.size == len(attachment.payload)
    assert attachment.sha256 == hashlib.sha256(attachment.payload).hexdigest()
    assert attachment.safe_name == attachment.sha256[:16] + ".png"


_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def _with_attachment(payload: bytes, mime_type: str, name: str, *, cid: str = "") -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "pat@example.com", "complaints@wallet.example", "Payment failed"
    msg.set_content("It failed, see the screenshot.")
    maintype, subtype = mime_type.split("/")
    msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    if cid:
        part = msg.get_payload()[-1]
        part.replace_header("Content-Disposition", f'inline; filename="{name}"')
        part["Content-ID"] = f"<{cid}>"
    return msg.as_bytes()


@pytest.mark.parametrize(
    ("payload", "mime_type", "cid", "counts"),
    [
        (_PNG + b"\x00" * 64, "image/png", "", True),  # a real PNG, attached
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "image/heic", "", True),  # an iPhone photo
        (b"%PDF-1.7\n" + b"\x00" * 64, "application/pdf", "", True),
        (b"", "image/png", "", False),  # an empty "image"
        (b"<html><script>alert(1)</script></html>", "image/png", "", False),  # HTML named .png
        (b"MZ\x90\x00" + b"\x00" * 60, "image/jpeg", "", False),  # a program named .jpg
        (_PNG + b"\x00" * 2000, "image/png", "logo001@corp", False),  # a signature logo in the text
        (_PNG + b"\x00" * 40_000, "image/png", "pasted@client", True),  # a screenshot pasted in the text
    ],
)
def test_only_an_image_or_pdf_by_its_bytes_counts_as_a_screenshot(
    payload: bytes, mime_type: str, cid: str, counts: bool
) -> None:
    msg = parse_message(_with_attachment(payload, mime_type, "shot.png", cid=cid))
    (attachment,) = msg.attachments
    assert attachment.is_screenshot is counts


def test_an_attachment_decoded_from_damaged_base64_is_named_a_defect_and_not_evidence() -> None:
    good = base64.b64encode(_PNG + bytes(range(256)) * 4).decode()
    broken = good[:40] + "!!!@@@###" + good[40:80] + "\r\n" + good[81:]  # junk, and a character lost
    raw = _with_attachment(b"x", "image/png", "shot.png").replace(base64.b64encode(b"x"), broken.encode())
    msg = parse_message(raw)
    (attachment,) = msg.attachments
    assert not attachment.is_screenshot
    assert any("damaged base64" in defect for defect in msg.defects)


def test_hostile_attachment_names_only_ever_give_safe_names() -> None:
    msg = parse_message(load("hostile_names.eml"))
    names = [attachment.filename for attachment in msg.attachments]
    assert names[:4] == ["../../etc/passwd", "/etc/shadow", "../../boot.ini", "C:\\Windows\\..\\evil.exe"]
    assert "\x00" not in names[4] and "\r" not in names[4] and "\n" not in names[4]
    assert len(names[5]) <= 255
    for attachment in msg.attachments:
        stem, extension = attachment.safe_name.split(".")
        assert len(stem) == 16 and all(char in "0123456789abcdef" for char in stem)
        assert extension in ("png", "jpg", "gif", "webp", "pdf", "zip", "txt", "bin")
    # "image/png" declared but not PNG bytes: the sniffed type wins, so not a screenshot.
    assert msg.attachments[5].safe_name.endswith(".bin")
    assert msg.attachments[0].safe_name.endswith(".txt")


def test_attachment_limit_is_recorded() -> None:
    parts = "".join(
        f"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=f{i}.pdf\r\n\r\n%PDF-{i}\r\n"
        for i in range(MAX_ATTACHMENTS + 5)
    )
    raw = mail(
        BASIC + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n', parts + "--b--\r\n"
    )
    msg = parse_message(raw)
    assert len(msg.attachments) == MAX_ATTACHMENTS
    assert all(attachment.content_type == "application/pdf" for attachment in msg.attachments)
    assert any("5 more not kept" in defect for defect in msg.defects)


def test_zip_is_kept_whole_not_unpacked() -> None:
    payload = b"PK\x03\x04" + b"\x00" * 40
    body = (
        "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=logs.zip\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(payload).decode() + "\r\n--b--\r\n"
    )
    msg = parse_message(mail(BASIC + 'Content-Type: multipart/mixed; boundary="b"\n', body))
    (attachment,) = msg.attachments
    assert (attachment.content_type, attachment.payload) == ("application/zip", payload)


# ----------------------------------------------------------------- headers


def test_crlf_never_survives_in_subject_or_message_id() -> None:
    msg = parse_message(load("crlf_headers.eml"))
    assert msg.subject == "Account locked Bcc: victim@example.com"
    assert msg.message_id == "<crlf-1@example.com>"
    for key, value in msg.headers:
        assert "\r" not in value and "\n" not in value, key


def test_missing_date_is_none() -> None:
    msg = parse_message(mail(BASIC + "Message-ID: <a@b>\n"))
    assert msg.date is None


@pytest.mark.parametrize(
    "value", ["not a date", "Mon, 45 Foo 2024 99:99:99 +0000", "", "Mon, 15 Jan 2024 10:30:00 +9999"]
)
def test_invalid_date_is_none_with_a_defect(value: str) -> None:
    msg = parse_message(mail(BASIC + f"Date: {value}\n"))
    assert msg.date is None
    assert any("Date" in defect for defect in msg.defects)


def test_date_is_aware_utc() -> None:
    msg = parse_message(mail(BASIC + "Date: Mon, 15 Jan 2024 10:30:00 +0800\n"))
    assert msg.date == datetime(2024, 1, 15, 2, 30, tzinfo=UTC)


def test_no_message_id_is_empty_string() -> None:
    assert parse_message(mail(BASIC)).message_id == ""


def test_addresses_recipients_reply_to_and_return_path() -> None:
    raw = mail(
        "Return-Path: <>\n"
        'From: "=?utf-8?B?5byg5LiJ?=, Ltd" <ZHANG.San@Example.COM>\n'
        "To: complaints@wallet.example, Other <Other@Example.org>\n"
        "Cc: cc@example.net\n"
        "Reply-To: <Replies@Example.com>\n"
        "Subject: x\n"
    )
    msg = parse_message(raw)
    assert msg.sender == "zhang.san@example.com"
    assert msg.sender_name == "张三, Ltd"
    assert msg.recipients == ("complaints@wallet.example", "other@example.org", "cc@example.net")
    assert msg.reply_to == "replies@example.com"
    assert msg.return_path == ""
    assert parse_message(mail(BASIC)).return_path is None
    assert (
        parse_message(mail("Return-Path: <Bounce@Example.com>\n" + BASIC)).return_path == "bounce@example.com"
    )


def test_loop_relevant_headers_are_kept_decoded() -> None:
    raw = mail(
        BASIC + "Auto-Submitted: auto-replied\nList-Id: <news.example.com>\nX-Auto-Response-Suppress: All\n"
        "X-MS-Exchange-Inbox-Rules-Loop: pat@example.com\nX-Unrelated: 1\n"
    )
    msg = parse_message(raw)
    assert msg.header("Auto-Submitted") == "auto-replied"
    assert msg.header("list-id") == "<news.example.com>"
    assert msg.header("x-auto-response-suppress") == "All"
    assert msg.header("x-ms-exchange-inbox-rules-loop") == "pat@example.com"
    assert msg.header("x-unrelated") is None


def test_obsolete_white_space_before_colon_is_accepted() -> None:
    msg = parse_message(mail("From  : pat@example.com\nSubject     : Saying Hello\n"))
    assert (msg.sender, msg.subject) == ("pat@example.com", "Saying Hello")


def test_raw_sha256_and_size() -> None:
    raw = load("alternative.eml")
    msg = parse_message(raw)
    assert msg.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert msg.size == len(raw)


# ----------------------------------------------------------------- limits and failures


def test_two_thousand_nested_multiparts_do_not_crash() -> None:
    depth = 2_000
    opening = "--b0\r\n" + "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(1, depth)
    )
    closing = "".join(f"\r\n--b{i}--" for i in reversed(range(depth)))
    top = BASIC + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n"
    raw = mail(top, opening + "Content-Type: text/plain\r\n\r\nhello from the bottom" + closing + "\r\n")
    msg = parse_message(raw)
    assert msg.text == "hello from the bottom"
    assert any("nesting too deep" in defect for defect in msg.defects)


def test_twenty_thousand_parts_parse() -> None:
    count = 20_000
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(count))
    raw = mail(BASIC + 'Content-Type: multipart/mixed; boundary="b"\n', parts + "--b--\r\n")
    msg = parse_message(raw)
    assert msg.text.startswith("part 0\n\npart 1")
    assert msg.text.endswith(f"part {count - 1}")


@pytest.mark.parametrize(
    ("raw", "reason_words"),
    [
        (b"", "empty"),
        (b"  \r\n\r\n ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a mail"),
        (b"just some words\nwith no headers\n", "not a mail"),
        (b"X-Custom: 1\r\n\r\nbody", "standard mail headers"),
    ],
)
def test_unusable_input_raises_parse_failure_with_reason(raw: bytes, reason_words: str) -> None:
    with pytest.raises(ParseFailure) as failure:
        parse_message(raw)
    assert reason_words in failure.value.reason


def test_future_date_is_flagged_against_receipt_time() -> None:
    raw = mail(BASIC + "Date: Mon, 15 Jan 2035 10:30:00 +0000\n")
    received = datetime(2024, 1, 15, tzinfo=UTC)
    msg = parse_message(raw, received_at=received)
    assert msg.date == datetime(2035, 1, 15, 10, 30, tzinfo=UTC)
    assert any("after the mail was received" in defect for defect in msg.defects)


FIXTURES = sorted(MAILS.glob("*.eml"))
SPICE = [
    b"\x00",
    b"\r",
    b"\n--",
    b"=?",
    b"?=",
    b"=?utf-8?B?",
    b";",
    b'"',
    b"\xff",
    b"boundary=",
    b"charset=\x00",
    b"*0*=",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fixture=st.sampled_from(FIXTURES),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.one_of(st.sampled_from(SPICE), st.binary(max_size=8))), max_size=12
    ),
)
def test_mangled_mail_never_raises_anything_but_a_clear_parse_failure(
    fixture: Path, edits: list[tuple[float, bytes]]
) -> None:
    data = bytearray(fixture.read_bytes())
    for where, insert in edits:
        position = int(where * len(data))
        data[position : position + len(insert) // 2] = insert
    try:
        msg = parse_message(bytes(data))
    except ParseFailure as failure:
        assert "unexpectedly" not in failure.reason, failure.__cause__
        return
    assert "\n" not in msg.subject and "\r" not in msg.subject
    msg.text.encode("utf-8")

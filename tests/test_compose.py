"""Outgoing mail: subjects, headers that cannot be injected, 7-bit output, and the example mailbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.mail.compose import (
    AckRequest,
    build_email_bytes,
    clean_subject,
    format_duration,
    make_message_id,
    render_ack,
    reply_subject,
    validated_addr_spec,
)
from inbox_agent.mail.render import TemplateSet

ROOT = Path(__file__).resolve().parents[1]
# Read back as sent: refold_source="none" keeps our header lines exactly as written
# when a test serialises the parsed message again.
READ_BACK = policy.SMTP.clone(cte_type="7bit", refold_source="none")
TEMPLATES = ROOT / "inbox_agent" / "mail" / "templates"
EXAMPLES = ROOT / "examples" / "maildir"
WHEN = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)
EXPECTED_HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "X-Auto-Response-Suppress",
    "X-Inbox-Agent-Loop",
    "MIME-Version",
    "Content-Type",
]


@pytest.fixture(scope="module")
def templates() -> TemplateSet:
    return TemplateSet(TEMPLATES)


def email_for(**changes) -> EmailMessage:
    fields = {
        "from_addr": "complaints@wallet.example",
        "from_name": "钱包客户服务中心",
        "to_addr": "li.wei@example.com",
        "subject": "[WLT-2026-000001] 付款失败",
        "text": "您好：\n我们已收到您的来信。\n",
        "html": "<p>您好：</p>",
        "message_id": make_message_id("wallet.example", "WLT-2026-000001.ack_first.0123abcd"),
        "in_reply_to": "<20261102201902.58231@mail.example.com>",
        "references": ("<20261102201902.58231@mail.example.com>",),
        "date": WHEN,
        "loop_header": "X-Inbox-Agent-Loop",
        "loop_token": "a1b2c3",
    }
    fields.update(changes)
    # The bytes as a mail client reads them back.
    return message_from_bytes(build_email_bytes(**fields), policy=READ_BACK)  # type: ignore[return-value]


def reparse(message: EmailMessage) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(message.as_bytes())


def ack(**changes) -> AckRequest:
    fields = {
        "case_id": "WLT-2026-000123",
        "kind": "ack_first",
        "language": "en",
        "category": "wrong_charge",
        "severity": "normal",
        "response_hours": 24.0,
        "received": (),
        "missing": ("transaction_id",),
        "customer_name": "Sarah",
        "original_subject": "Charged twice",
        "hotline": "",
    }
    fields.update(changes)
    return AckRequest(**fields)


# --- subjects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Charged twice", "[WLT-2026-000123] Charged twice"),
        ("Re: [WLT-2026-000123] Charged twice", "[WLT-2026-000123] Charged twice"),
        ("RE: Re: [WLT-2026-000123] Re: Charged twice", "[WLT-2026-000123] Charged twice"),
        ("回复：[WLT-2026-000123] 付款失败", "[WLT-2026-000123] 付款失败"),
        ("答复: 回复: 付款失败", "[WLT-2026-000123] 付款失败"),
        ("[WLT-2026-000007] Re: old case tag", "[WLT-2026-000123] old case tag"),
        ("Refund request", "[WLT-2026-000123] Refund request"),  # "Re" inside a word stays
        ("", "[WLT-2026-000123] Your complaint"),
        ("Re: [WLT-2026-000123]", "[WLT-2026-000123] Your complaint"),
    ],
)
def test_reply_subject_carries_one_case_tag(original: str, expected: str) -> None:
    assert reply_subject("WLT-2026-000123", original, "Your complaint") == expected


def test_an_empty_subject_gets_a_default_in_the_customers_language(templates: TemplateSet) -> None:
    assert (
        render_ack(templates, ack(language="zh", original_subject="")).subject == "[WLT-2026-000123] 您的投诉"
    )
    assert (
        render_ack(templates, ack(language="en", original_subject="  ")).subject
        == "[WLT-2026-000123] Your complaint"
    )


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_card_number_or_code_in_the_customers_subject_is_not_sent_back(
    templates: TemplateSet, language: str
) -> None:
    # Before: the acknowledgement repeated the subject in full, in its Subject and its
    # text, so our own mail (and its copy in the Sent folder) carried the card number.
    subject = "Card 4111 1111 1111 1111 charged twice, OTP 482913, 手机13812345678"
    mail = render_ack(templates, ack(language=language, original_subject=subject))
    for part in (mail.subject, mail.text, mail.html):
        for secret in ("4111 1111 1111 1111", "482913", "13812345678"):
            assert secret not in part
    assert (
        mail.subject
        == "[WLT-2026-000123] Card [card ****1111] charged twice, OTP [masked], 手机[phone ***5678]"
    )


def test_line_breaks_in_a_subject_are_folded_and_long_subjects_cut() -> None:
    assert clean_subject("Charged\r\ntwice\n\tagain") == "Charged twice again"
    long = reply_subject("WLT-2026-000123", "付款失败" * 100, "x")
    assert long.startswith("[WLT-2026-000123] 付款失败") and len(long) <= 200 and long.endswith("…")


# --- headers cannot be injected ----------------------------------------------------------


INJECTIONS = [
    "Payment failed\r\nBcc: attacker@evil.example",
    "Payment failed\nTo: attacker@evil.example\n\n<b>body</b>",
    "Payment failed\rX-Injected: yes",
    "Payment failed\u2028Bcc: attacker@evil.example",
    # As it arrives RFC 2047-encoded and a decoder turns it back into a real CR/LF:
    str(make_header(decode_header("=?utf-8?b?5LuY5qy+5aSx6LSlDQpCY2M6IGF0dGFja2VyQGV2aWwuZXhhbXBsZQ==?="))),
]


def test_the_encoded_injection_sample_really_decodes_to_a_line_break() -> None:
    assert "\r\nBcc: attacker@evil.example" in INJECTIONS[-1]


@pytest.mark.parametrize("subject", INJECTIONS)
def test_line_breaks_in_a_customer_subject_never_create_a_header(
    templates: TemplateSet, subject: str
) -> None:
    rendered = render_ack(templates, ack(original_subject=subject, customer_name=subject))
    parsed = reparse(
        email_for(subject=rendered.subject, from_name=subject, text=rendered.text, html=rendered.html)
    )

    assert list(parsed.keys()) == EXPECTED_HEADERS
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
    assert parsed["Subject"].startswith("[WLT-2026-000123] ")
    assert getaddresses(parsed.get_all("To")) == [("", "li.wei@example.com")]
    assert parsed["From"].addresses[0].addr_spec == "complaints@wallet.example"


@settings(max_examples=150, deadline=None)
@given(subject=st.text(), name=st.text(), token=st.text(alphabet="abcdef0123456789", min_size=1, max_size=40))
def test_any_subject_and_name_keep_the_header_set_fixed(subject: str, name: str, token: str) -> None:
    message = email_for(subject=f"[WLT-2026-000123] {subject}", from_name=name, loop_token=token)
    raw = message.as_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(raw)

    assert list(parsed.keys()) == EXPECTED_HEADERS
    assert raw.isascii()
    assert getaddresses(parsed.get_all("To")) == [("", "li.wei@example.com")]
    assert parsed["X-Inbox-Agent-Loop"] == token
    # What the customer's mail client shows: their subject, on one line, nothing lost.
    one_line = " ".join(re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]", " ", subject).split())
    assert parsed["Subject"] == f"[WLT-2026-000123] {one_line}".strip()


def test_extra_headers_are_single_line_and_cannot_replace_ours() -> None:
    parsed = reparse(email_for(extra_headers={"X-Case-Id": "WLT-2026-000001\r\nBcc: attacker@evil.example"}))
    assert list(parsed.keys()) == [*EXPECTED_HEADERS[:-2], "X-Case-Id", *EXPECTED_HEADERS[-2:]]
    assert parsed["X-Case-Id"] == "WLT-2026-000001 Bcc: attacker@evil.example"
    for name in ("To", "bcc", "Subject", "X-Inbox-Agent-Loop", "Bad Name", "X-Colon:"):
        with pytest.raises(ValueError):
            email_for(extra_headers={name: "value"})


# --- exactly one, valid recipient --------------------------------------------------------


@pytest.mark.parametrize(
    "to_addr",
    [
        "a@example.com, b@example.com",
        "a@example.com,b@example.com",
        "a@example.com; b@example.com",
        "a@example.com\r\nBcc: attacker@evil.example",
        "a@example.com\nb@example.com",
        "Sarah <a@example.com>",
        "<a@example.com>",
        "no-at-sign.example.com",
        "a@b@example.com",
        "",
        "a b@example.com",
        "a@",
        "@example.com",
        "a@exa mple.com",
        "a@example.com (comment)",
        '"a,b"@example.com',
        "用户@example.com",
    ],
)
def test_a_bad_recipient_is_refused(to_addr: str) -> None:
    with pytest.raises(ValueError):
        email_for(to_addr=to_addr)


def test_a_good_recipient_is_the_only_one() -> None:
    parsed = reparse(email_for(to_addr="  Sarah.Thompson+wallet@example.net "))
    assert getaddresses(parsed.get_all("To")) == [("", "Sarah.Thompson+wallet@example.net")]
    assert parsed.get_all("Cc") is None and parsed.get_all("Bcc") is None


def test_an_international_domain_is_sent_as_punycode() -> None:
    assert validated_addr_spec("kunde@bücher.example") == "kunde@xn--bcher-kva.example"


def test_the_sender_address_is_validated_too() -> None:
    with pytest.raises(ValueError):
        email_for(from_addr="complaints@wallet.example, attacker@evil.example")


# --- threading and loop protection -------------------------------------------------------


def test_message_id_in_reply_to_and_references_thread_the_reply() -> None:
    outlook_id = "<DM6PR11MB4321A1B2C3D4E5F6A7B8C9D0E1F2@DM6PR11MB4321.namprd11.prod.outlook.example.com>"
    parsed = reparse(
        email_for(
            in_reply_to=outlook_id,
            references=(
                "<first@example.com>",
                "not-an-id",
                "<first@example.com>",
                "<x y@example.com>",
                outlook_id,
            ),
        )
    )
    assert parsed["Message-ID"] == "<WLT-2026-000001.ack_first.0123abcd@wallet.example>"
    assert parsed["In-Reply-To"] == outlook_id
    assert parsed["References"].split() == ["<first@example.com>", outlook_id]
    # A long id is written whole, never RFC 2047-encoded: an encoded id no longer threads.
    head = email_for(in_reply_to=outlook_id, references=(outlook_id,)).as_bytes().split(b"\r\n\r\n")[0]
    assert b"In-Reply-To: " + outlook_id.encode() + b"\r\n" in head
    assert b"References: " + outlook_id.encode() + b"\r\n" in head


def test_an_invalid_parent_id_is_left_out_not_copied() -> None:
    parsed = reparse(email_for(in_reply_to="garbage\r\nBcc: x@evil.example", references=("also garbage",)))
    assert parsed["In-Reply-To"] is None and parsed["References"] is None
    assert parsed["Message-ID"]


def test_our_mail_is_marked_automatic_so_no_one_answers_it() -> None:
    parsed = reparse(email_for())
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["X-Inbox-Agent-Loop"] == "a1b2c3"


def test_the_date_header_is_the_time_passed_in() -> None:
    beijing = timezone(timedelta(hours=8))
    parsed = reparse(email_for(date=datetime(2026, 11, 2, 20, 30, tzinfo=beijing)))
    assert parsedate_to_datetime(parsed["Date"]) == WHEN


def test_make_message_id_refuses_anything_that_could_break_the_header() -> None:
    assert make_message_id("wallet.example", "WLT-2026-000001.ack_first.ab12") == (
        "<WLT-2026-000001.ack_first.ab12@wallet.example>"
    )
    for unique, domain in (
        ("a b", "wallet.example"),
        ("a>b", "wallet.example"),
        ("ab", "wallet.example\r\n"),
        ("", "x"),
    ):
        with pytest.raises(ValueError):
            make_message_id(domain, unique)
    with pytest.raises(ValueError):
        email_for(message_id="not-an-id")


# --- the bytes -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_serialised_mail_is_7bit_clean_and_decodes_back(templates: TemplateSet, language: str) -> None:
    rendered = render_ack(templates, ack(language=language, category="security", hotline="400-820-0000"))
    message = email_for(subject=rendered.subject, text=rendered.text, html=rendered.html)
    raw = message.as_bytes()

    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html
    assert parsed["Subject"] == rendered.subject
    assert str(parsed["From"]) == "钱包客户服务中心 <complaints@wallet.example>"


def test_long_ascii_lines_are_still_encoded_safely() -> None:
    raw = email_for(text="x" * 3000, html="<p>" + "y" * 3000 + "</p>").as_bytes()
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    ("hours", "en", "zh"),
    [
        (24, "24 hours", "24小时"),
        (1, "1 hour", "1小时"),
        (0.5, "30 minutes", "30分钟"),
        (1.5, "1 hour 30 minutes", "1小时30分钟"),
        (48, "48 hours", "48小时"),
        (74, "3 days 2 hours", "3天2小时"),
        (0, "0 minutes", "0分钟"),
    ],
)
def test_durations_read_naturally(hours: float, en: str, zh: str) -> None:
    assert format_duration(hours, "en") == en
    assert format_duration(hours, "zh") == zh


# --- the shipped example mailbox -----------------------------------------------------------


EXAMPLE_FILES = sorted(path for path in (EXAMPLES / "new").iterdir() if not path.name.startswith("."))


def parsed_examples() -> dict[str, EmailMessage]:
    return {
        path.name: BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in EXAMPLE_FILES
    }


def test_the_example_maildir_is_a_maildir_with_enough_mail() -> None:
    for folder in ("cur", "new", "tmp"):
        assert (EXAMPLES / folder).is_dir()
    assert len(EXAMPLE_FILES) >= 14
    for path in EXAMPLE_FILES:
        # Maildir: new/ holds "time.unique.host" names; the ":2,flags" info comes with cur/.
        assert re.fullmatch(r"\d{10}\.M\d+P\d+\.example", path.name), path.name


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_every_example_parses_with_the_stdlib(path: Path) -> None:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert message.defects == []
    assert message["From"].addresses and message["Message-ID"] and message["Subject"]
    date = parsedate_to_datetime(message["Date"])
    assert (date.year, date.month) == (2026, 11)
    body = message.get_body(("plain", "html"))
    assert body is not None and body.get_content().strip()


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_every_example_parses_with_the_project_parser(path: Path) -> None:
    parse = pytest.importorskip("inbox_agent.stages.parse")
    raw = path.read_bytes()
    parsed = parse.parse_message(raw)
    stdlib = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed.sender == stdlib["From"].addresses[0].addr_spec.lower()
    assert parsed.subject == stdlib["Subject"]
    assert parsed.text.strip()


def test_the_examples_cover_what_the_readme_promises() -> None:
    mails = parsed_examples()
    types = {message.get_content_type() for message in mails.values()}
    assert {
        "text/plain",
        "text/html",
        "multipart/alternative",
        "multipart/mixed",
        "multipart/report",
    } <= types

    charsets = {part.get_content_charset() for message in mails.values() for part in message.walk()}
    assert "gbk" in charsets

    pngs = [
        part
        for m in mails.values()
        for part in m.iter_attachments()
        if part.get_content_type() == "image/png"
    ]
    assert len(pngs) == 1
    assert pngs[0].get_content().startswith(b"\x89PNG\r\n\x1a\n")

    assert any(
        m["Auto-Submitted"] == "auto-replied" and "MAILER" not in str(m["From"]) for m in mails.values()
    )
    bounce = next(m for m in mails.values() if m.get_content_type() == "multipart/report")
    assert bounce.get_param("report-type") == "delivery-status" and bounce["Return-Path"] == "<>"

    texts = " ".join(m.get_body(("plain", "html")).get_content() for m in mails.values())
    assert "帳戶" in texts  # Traditional Chinese
    assert "账户" in texts  # Simplified Chinese


def test_the_follow_up_example_answers_an_earlier_one_from_the_same_sender() -> None:
    mails = parsed_examples()
    by_id = {m["Message-ID"]: (name, m) for name, m in mails.items()}
    follow_ups = [(name, m) for name, m in mails.items() if m["In-Reply-To"]]
    assert follow_ups
    for name, message in follow_ups:
        parent_name, parent = by_id[message["In-Reply-To"]]
        assert parent_name < name  # delivered earlier
        assert parent["From"].addresses[0].addr_spec == message["From"].addresses[0].addr_spec
        assert message["In-Reply-To"] in message["References"].split()
        assert "T2026110220153377" in message.get_body(("plain",)).get_content()


def test_the_readme_lists_every_example_file() -> None:
    readme = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    for path in EXAMPLE_FILES:
        assert path.name in readme


def test_a_text_holding_the_boundary_cannot_split_the_mail() -> None:
    """The boundary comes from the Message-ID; a customer who guessed it and put it in
    the text (quoted back in a reply) still gets a mail of exactly two parts."""
    plain = email_for()
    boundary = plain.get_boundary()
    assert boundary
    text = f"quoted:\n--{boundary}\nContent-Type: text/html\n\n<b>forged</b>\n--{boundary}--\n"
    message = email_for(text=text)
    assert message.get_boundary() != boundary
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert "forged" in message.get_body(("plain",)).get_content()

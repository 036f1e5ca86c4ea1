"""Signed and encrypted mail (S/MIME, OpenPGP): an opaque-signed mail is read like any
other, an encrypted one is flagged and answered with a request to write again without
encryption, never filed as an empty mail; a damaged ``smime.p7m`` never breaks a parse.

The S/MIME objects are made by the ``openssl`` tool at test time (the same tool the IMAP
tests need for their certificate), and the CMS reader is checked against
``openssl cms -verify`` on them. The OpenPGP mails in ``tests/mails/sealed`` were made
with GnuPG 2.2 for these tests.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import random
import subprocess
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from servers import find_binary

from inbox_agent.config.loader import Config, build_config
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.classify import classify_bytes
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.process import process
from inbox_agent.stages.cms_reader import CmsUnreadable, read_cms
from inbox_agent.stages.parse import parse_message

ROOT = Path(__file__).resolve().parents[1]
SEALED = Path(__file__).parent / "mails" / "sealed"
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    + b"\x00" * 4000
)


def openssl(*args: str, data: bytes = b"") -> bytes:
    tool = find_binary("openssl")
    assert tool is not None, "openssl is needed (the IMAP tests need it too)"
    done = subprocess.run([tool, *args], input=data, capture_output=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("smime")
    cert, key = folder / "cert.pem", folder / "key.pem"
    openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=amy@example.com"),
        *("-keyout", str(key), "-out", str(cert)),
    )
    return str(cert), str(key)


def headers(subject: str = "account locked") -> bytes:
    return (
        b"From: Amy Lee <amy@example.com>\r\nTo: complaints@wallet.example\r\n"
        + f"Subject: {subject}\r\n".encode()
        + b"Date: Fri, 04 Dec 2026 09:00:00 +0000\r\nMessage-ID: <sealed@example.com>\r\n"
    )


def inner_entity() -> bytes:
    """What the customer wrote: GBK Chinese text and a screenshot, as a mail client signs it."""
    msg = EmailMessage()
    msg.set_content("我的账户被冻结了，无法登录。交易号 TX20261204001。".encode("gbk"), "text", "plain")
    msg.replace_header("Content-Type", 'text/plain; charset="gbk"')
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="截图.png")
    return msg.as_bytes().replace(b"\n", b"\r\n").split(b"\r\n", 1)[1]  # without MIME-Version


def signed_mail(signer: tuple[str, str], *extra: str, content: bytes | None = None) -> bytes:
    cert, key = signer
    body = openssl(
        "smime", "-sign", "-nodetach", "-signer", cert, "-inkey", key, *extra, data=content or inner_entity()
    )
    return headers() + body


def encrypted_mail(signer: tuple[str, str], subject: str = "account locked") -> bytes:
    body = openssl(
        "smime", "-encrypt", "-aes256", signer[0], data=b"Content-Type: text/plain\r\n\r\nsecret\r\n"
    )
    return headers(subject) + body


def make_config(tmp_path: Path) -> Config:
    data = {
        "mailbox": {"address": "complaints@wallet.example", "maildir": {"path": str(tmp_path / "md")}},
        "storage": {"data_dir": str(tmp_path / "data")},
        "smtp": {"directory": str(tmp_path / "out")},
    }
    return build_config(data, base_dir=tmp_path)


def run(config: Config, raw: bytes) -> Decision:
    view = BatchView(lambda _id: None, {}, set(), 1, lambda key: {"key": key})
    return process(Incoming(raw, "test", NOW), view, config, TEMPLATES, NOW)


def reply_text(decision: Decision) -> str:
    (mail,) = decision.outgoing
    msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
    return msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


# --- opaque-signed S/MIME: read like any mail ----------------------------------------------


@pytest.mark.parametrize("mode", [(), ("-stream",)], ids=["DER", "BER-streamed"])
def test_an_opaque_signed_mail_is_read_with_its_text_and_screenshot(
    signer: tuple[str, str], mode: tuple[str, ...]
) -> None:
    msg = parse_message(signed_mail(signer, *mode))
    assert "我的账户被冻结了" in msg.text
    assert msg.language == "zh"
    (shot,) = msg.attachments
    assert shot.filename == "截图.png" and shot.is_screenshot
    assert msg.encrypted == ""
    assert "smime: opaque-signed mail opened (the signature is not checked)" in msg.defects


def test_an_opaque_signed_mail_is_categorized_and_its_evidence_found(signer: tuple[str, str]) -> None:
    result = classify_bytes(signed_mail(signer), make_config(Path("/nonexistent")), NOW)
    assert result["category"] == "account_locked"
    assert result["evidence"]["transaction_id"] == "TX20261204001"
    assert "screenshot" in result["evidence"]
    assert result["encrypted"] is None


def test_a_detached_signature_leaves_the_mail_as_it_was(signer: tuple[str, str]) -> None:
    cert, key = signer
    raw = headers() + openssl("smime", "-sign", "-signer", cert, "-inkey", key, data=inner_entity())
    msg = parse_message(raw)
    assert "我的账户被冻结了" in msg.text
    assert {a.filename for a in msg.attachments} == {"截图.png", "smime.p7s"}
    assert msg.encrypted == "" and not any(d.startswith("smime") for d in msg.defects)


# --- the CMS reader against openssl ---------------------------------------------------------


def _contents() -> list[bytes]:
    rng = random.Random(20261204)
    return [
        b"Content-Type: text/plain\r\n\r\nshort\r\n",
        inner_entity(),
        bytes(range(256)) * 40,  # every byte value: the content is bytes, not text
        bytes(rng.getrandbits(8) for _ in range(70_000)),  # past openssl's streaming chunk size
    ]


@pytest.mark.parametrize("content", _contents(), ids=["short", "mail", "all-bytes", "70kB"])
@pytest.mark.parametrize("mode", [(), ("-stream",)], ids=["DER", "BER-streamed"])
def test_the_cms_reader_reads_what_openssl_reads(
    signer: tuple[str, str], content: bytes, mode: tuple[str, ...], tmp_path: Path
) -> None:
    cert, key = signer
    der = openssl(
        *("cms", "-sign", "-nodetach", "-binary", "-outform", "DER", "-signer", cert, "-inkey", key),
        *mode,
        data=content,
    )
    (tmp_path / "signed.der").write_bytes(der)
    theirs = openssl(
        "cms", "-verify", "-noverify", "-binary", "-inform", "DER", "-in", str(tmp_path / "signed.der")
    )
    cms = read_cms(der)
    assert cms.kind == "signed"
    assert cms.content == theirs == content


def test_the_cms_reader_names_encrypted_and_detached_objects(signer: tuple[str, str]) -> None:
    cert, key = signer
    encrypted = openssl("cms", "-encrypt", "-outform", "DER", cert, data=b"secret")
    detached = openssl("cms", "-sign", "-outform", "DER", "-signer", cert, "-inkey", key, data=b"text")
    assert read_cms(encrypted).kind == "encrypted" and read_cms(encrypted).content is None
    assert read_cms(detached).kind == "signed" and read_cms(detached).content is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "truncated"),
        (b"\x30\x80" * 10_000, "nested too deep"),
        (b"\x30\x84\xff\xff\xff\xff\x06\x00", "runs past its container"),
        (b"\x30\x89\x01\x02\x03\x04\x05\x06\x07\x08\x09", "cannot fit"),
        (b"\x04\x80\x00\x00", "indefinite length on a primitive"),
        (b"\x30\x80\x06\x01\x2a", "without its end marker"),
        (b"\x30\x03\x02\x01\x00", "contentType expected"),
    ],
)
def test_a_damaged_object_is_refused_with_its_reason(data: bytes, why: str) -> None:
    with pytest.raises(CmsUnreadable, match=why):
        read_cms(data)


@settings(max_examples=300, deadline=None)
@given(
    cut=st.integers(0, 5000), flips=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), max_size=6)
)
def test_a_mutated_signed_object_is_read_or_refused_never_crashes(
    sample_der: bytes, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(sample_der[: max(cut, 2)])
    for where, value in flips:
        if where < len(data):
            data[where] = value
    with contextlib.suppress(CmsUnreadable):
        read_cms(bytes(data))
    # The mail around it always parses: a damaged smime.p7m stays an attachment.
    wrapped = headers() + (
        b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    msg = parse_message(wrapped + base64.encodebytes(bytes(data)))
    assert msg.sender == "amy@example.com"


@pytest.fixture(scope="module")
def sample_der(signer: tuple[str, str]) -> bytes:
    cert, key = signer
    return openssl(
        *("cms", "-sign", "-nodetach", "-stream", "-outform", "DER", "-signer", cert, "-inkey", key),
        data=inner_entity(),
    )


def test_a_multipart_bomb_inside_a_signature_is_read_not_a_crash(signer: tuple[str, str]) -> None:
    depth = 3000  # past Python's recursion limit: the MIME parsers give up, the splitter does not
    opening = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(depth))
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(depth)))
    inner = f"{opening}Content-Type: text/plain\r\n\r\nMy account is locked.\r\n{closing}".encode()
    msg = parse_message(signed_mail(signer, content=inner))
    assert msg.text == "My account is locked."
    assert "mime: nesting too deep for the MIME parser" in msg.defects


def test_a_damaged_smime_p7m_stays_an_attachment_with_the_reason(signer: tuple[str, str]) -> None:
    raw = signed_mail(signer)
    cut = raw[: len(raw) - 900] + b"\r\n"  # the base64 ends early: a truncated object
    msg = parse_message(cut)
    assert [a.filename for a in msg.attachments] == ["smime.p7m"]
    assert any(d.startswith("smime: smime.p7m unreadable (") for d in msg.defects), msg.defects


# --- encrypted mail: flagged, and the customer asked to write again --------------------------


def test_an_encrypted_smime_mail_is_flagged_and_answered_in_the_customers_language(
    signer: tuple[str, str], tmp_path: Path
) -> None:
    raw = encrypted_mail(
        signer, subject="=?utf-8?b?" + base64.b64encode("账户被冻结".encode()).decode() + "?="
    )
    msg = parse_message(raw)
    assert msg.encrypted == "S/MIME" and msg.text == ""
    assert [a.filename for a in msg.attachments] == ["smime.p7m"]
    decision = run(make_config(tmp_path), raw)
    assert decision.outcome == "new_case"
    assert "encrypted" in decision.case.flags
    (flagged,) = [e for e in decision.case.events if e.kind == "flagged"]
    assert "arrived S/MIME-encrypted" in flagged.detail
    assert "您的邮件是加密发送的（S/MIME），我们无法读取加密邮件" in reply_text(decision)


def test_a_readable_mail_gets_no_word_about_encryption(signer: tuple[str, str], tmp_path: Path) -> None:
    decision = run(make_config(tmp_path), signed_mail(signer))
    assert "encrypted" not in decision.case.flags
    assert "加密" not in reply_text(decision)


def test_a_pgp_mime_encrypted_mail_is_flagged_and_keeps_its_data(tmp_path: Path) -> None:
    raw = (SEALED / "pgp_mime_encrypted.eml").read_bytes()
    msg = parse_message(raw)
    assert msg.encrypted == "OpenPGP" and msg.text == ""
    assert [a.filename for a in msg.attachments] == ["encrypted.asc"]  # no "Version: 1" part
    decision = run(make_config(tmp_path), raw)
    assert "encrypted" in decision.case.flags
    text = reply_text(decision)
    assert "Your message arrived encrypted (OpenPGP), and we cannot read encrypted mail." in text


def test_an_inline_encrypted_block_is_removed_and_the_words_around_it_kept() -> None:
    msg = parse_message((SEALED / "pgp_inline_encrypted.eml").read_bytes())
    assert msg.encrypted == "OpenPGP"
    assert msg.text == "Hello, I wrote my complaint encrypted for safety:\n\nThanks, Bob"


def test_a_clear_signed_text_is_read_without_its_armour() -> None:
    msg = parse_message((SEALED / "pgp_clearsigned.eml").read_bytes())
    assert msg.encrypted == ""
    assert msg.text == (
        "Hi,\nmy payment failed twice at checkout.\n- the first try was at 10:05\n-- and the second at 10:07\nBob"
    )


@pytest.mark.parametrize(
    ("name", "encrypted", "text"),
    [
        ("smime_opaque_signed.eml", "", "我的账户被冻结了，无法登录。交易号 TX20261204001。"),
        ("smime_encrypted.eml", "S/MIME", ""),
        ("pgp_mime_encrypted.eml", "OpenPGP", ""),
        ("pgp_mime_signed.eml", "", "My payment failed twice at checkout, error code E102.\nBob"),
    ],
)
def test_the_kept_sealed_mails_read_as_made(name: str, encrypted: str, text: str) -> None:
    """The mails kept in tests/mails/sealed (the fuzzer's seeds too), made once by openssl
    and GnuPG: they read the same whatever openssl version the machine has."""
    msg = parse_message((SEALED / name).read_bytes())
    assert (msg.encrypted, msg.text) == (encrypted, text)


def test_a_pgp_mime_signed_mail_reads_as_before() -> None:
    msg = parse_message((SEALED / "pgp_mime_signed.eml").read_bytes())
    assert msg.text == "My payment failed twice at checkout, error code E102.\nBob"
    assert msg.encrypted == "" and [a.filename for a in msg.attachments] == ["signature.asc"]


# --- end to end: the real Dovecot and SMTP server --------------------------------------------


@pytest.mark.dovecot
def test_encrypted_and_signed_mail_over_imap(
    dovecot: Any, smtp_server: Any, signer: tuple[str, str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    dovecot.append(encrypted_mail(signer).replace(b"<sealed@", b"<one@").replace(b"amy@", b"ann@"))
    dovecot.append(signed_mail(signer))
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    received = {mail.rcpt_tos[0]: mail for mail in smtp_server.wait_for(2)}
    assert set(received) == {"ann@example.com", "amy@example.com"}
    cases = {case["customer"]: case for case in cli_json(config, "cases")}
    assert cases["amy@example.com"]["category"] == "account_locked"
    shown = cli(config, "show", cases["ann@example.com"]["case_id"])
    assert "arrived S/MIME-encrypted" in shown.stdout, shown.stdout

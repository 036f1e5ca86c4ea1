"""Hostile mail through the real daemon (real Dovecot in, real aiosmtpd out).

Each test sends what an attacker or a broken mailer would send and checks what a
user can see: the data dir, the stored case, the acknowledgement that went out.
Parser-level cases (safe names, CRLF, dates, 2,000 levels) are unit-tested in
test_parse.py; here the whole daemon must survive them and store the right thing.
"""

from __future__ import annotations

import base64
import email
import email.policy
import re
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.config.loader import load_config

pytestmark = pytest.mark.dovecot

GENERATED_ATTACHMENT = re.compile(r"^[0-9a-f]{16}\.(png|jpg|gif|webp|bmp|tif|heic|pdf|zip|txt|bin)$")
GENERATED_BLOB = re.compile(r"^[0-9a-f]{64}$")


def _run(config: Path) -> str:
    result = cli(config, "run", "--once", timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _only_case(config: Path) -> dict:
    (case,) = cli_json(config, "cases")
    return cli_json(config, "show", case["case_id"])


def _sent(server) -> list[EmailMessage]:  # type: ignore[no-untyped-def]
    return [email.message_from_bytes(m.raw, policy=email.policy.default) for m in server.received]  # type: ignore[misc]


def _attachment_mail(disposition: str, payload: bytes = b"hello\n") -> bytes:
    body = (
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy payment failed, see the attachment.\r\n"
        f"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(payload).decode() + "\r\n--b--\r\n"
    )
    head = (
        "From: eve@example.com\r\nTo: complaints@wallet.example\r\nSubject: Payment failed\r\n"
        "Message-ID: <att@example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    )
    return (head + body).encode()


HOSTILE_NAMES = {
    "dotdot": 'attachment; filename="../../../../tmp/escape-dotdot.txt"',
    "absolute": 'attachment; filename="/tmp/escape-absolute.txt"',
    "rfc2231_encoded_dotdot": "attachment; filename*=utf-8''..%2F..%2F..%2Ftmp%2Fescape-2231.txt",
    "backslashes": 'attachment; filename="..\\\\..\\\\Windows\\\\escape-win.ini"',
    "nul": "attachment; filename*=utf-8''escape%00nul.txt",
    "three_hundred_chars": f'attachment; filename="{"A" * 300}.txt"',
    "device_con": 'attachment; filename="CON"',
    "device_nul_txt": 'attachment; filename="NUL.txt"',
}


@pytest.mark.parametrize("disposition", list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
def test_hostile_attachment_name_is_stored_only_under_a_generated_name(
    dovecot, tmp_path: Path, disposition: str
) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    dovecot.append(_attachment_mail(disposition, b"evidence bytes\n"))
    _run(config)
    data = tmp_path / "data"
    attachments = [p for p in (data / "attachments").rglob("*") if p.is_file()]
    assert len(attachments) == 1
    assert GENERATED_ATTACHMENT.match(attachments[0].name), attachments[0].name
    assert attachments[0].read_bytes() == b"evidence bytes\n"
    for path in (data / "attachments").rglob("*"):
        assert path.resolve().is_relative_to((data / "attachments").resolve())
    assert not any(Path("/tmp").glob("escape-*"))
    assert set(p.name for p in tmp_path.iterdir()) <= {"data", "outbox", "config.toml", "imap.secret"}
    assert len([m for m in _only_case(config)["messages"] if m["direction"] == "in"]) == 1


def test_crlf_in_subject_display_name_and_message_id_never_reaches_outgoing_headers(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    raw = (
        b"From: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40example=2Eorg?= <eve@example.com>\r\n"
        b"To: complaints@wallet.example\r\n"
        b"Subject: =?utf-8?b?UmVmdW5kDQpCY2M6IHZpY3RpbUBleGFtcGxlLm9yZw==?=\r\n"
        b"Message-ID: =?utf-8?q?<id=0D=0ABcc:_victim@example.org>?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nI was charged twice.\r\n"
    )
    dovecot.append(raw)
    _run(config)
    (sent,) = smtp_server.wait_for(1)
    assert sent.rcpt_tos == ("eve@example.com",)
    head = sent.raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^bcc:", head)
    (ack,) = _sent(smtp_server)
    for name, value in ack.items():
        assert "\r" not in str(value) and "\n" not in str(value), name
        if name.lower() in ("to", "cc", "bcc"):
            assert "victim" not in str(value)
    assert _only_case(config)["customer"] == "eve@example.com"


def test_template_syntax_in_every_user_controlled_field_is_never_evaluated(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    payload = "{{ 1337*1337 }}{% for x in range(3) %}LOOP{% endfor %}${7*7}#{7*7}"
    msg = EmailMessage()
    msg["From"] = f'"{payload}" <eve@example.com>'
    msg["To"] = "complaints@wallet.example"
    msg["Subject"] = f"Payment failed {payload}"
    msg["Message-ID"] = "<{{1337*1337}}@example.com>"
    msg.set_content(f"My payment failed. {payload} Error: {payload}")
    msg.add_attachment(b"x", maintype="text", subtype="plain", filename=f"{payload}.txt")
    dovecot.append(msg.as_bytes())
    stdout = _run(config)
    (sent,) = smtp_server.wait_for(1)
    shown = cli(config, "show", _only_case(config)["case_id"]).stdout
    for text in (sent.raw.decode("utf-8", "replace"), stdout, shown):
        assert "1787569" not in text
        assert "LOOPLOOP" not in text
    (ack,) = _sent(smtp_server)
    assert "{{ 1337*1337 }}" in str(ack["Subject"])


def test_script_onerror_javascript_and_remote_images_in_html_are_never_kept_active(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    html = (
        "<html><body><p>My payment failed with error E1023.</p>"
        "<script>alert('x')</script><img src=x onerror=\"alert('y')\">"
        '<a href="javascript:alert(1)">click</a><img src="https://tracker.example/pixel.gif">'
        "</body></html>"
    )
    raw = (
        "From: eve@example.com\r\nTo: complaints@wallet.example\r\nSubject: <script>alert(1)</script>\r\n"
        "Message-ID: <html@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + html
    ).encode()
    dovecot.append(raw)
    _run(config)
    (ack,) = _sent(smtp_server)
    (stored,) = [m["text"] for m in _only_case(config)["messages"] if m["direction"] == "in"]
    html_part = ack.get_body(preferencelist=("html",))
    assert html_part is not None
    page = html_part.get_content().lower()
    assert "<script" not in page  # the subject is shown escaped, never as markup
    assert "&lt;script&gt;" in page
    for active in ("<img", "onerror=", "javascript:", "tracker.example"):
        assert active not in page
    # The stored text is what staff read: the script body and the remote image are gone.
    assert "alert('x')" not in stored
    assert "tracker.example" not in stored
    assert "E1023" in stored


def _big_mail(total_bytes: int) -> bytes:
    line = ("My payment failed, here is the whole log. " * 2)[:76] + "\r\n"
    body = line * (total_bytes // len(line))
    return complaint("big@example.com", "Payment failed: full log", "see below").replace(
        b"see below", body.encode()
    )


def test_thirty_megabyte_mail_is_filed_when_allowed_and_quarantined_when_not(dovecot, tmp_path: Path) -> None:
    raw = _big_mail(30 * 1024 * 1024)
    assert len(raw) > 30_000_000
    dovecot.append(raw)
    dovecot.append(complaint("small@example.com", "Account locked", "My account is locked."))
    (tmp_path / "allowed").mkdir()
    config = write_config(
        tmp_path / "allowed", dovecot=dovecot, overrides={"mailbox": {"max_message_size": "64MB"}}
    )
    _run(config)
    assert sorted(c["customer"] for c in cli_json(config, "cases")) == [
        "big@example.com",
        "small@example.com",
    ]
    dovecot.reset()  # a fresh mailbox: the first run flagged both mails as processed
    dovecot.append_many([raw, complaint("small@example.com", "Account locked", "My account is locked.")])
    (tmp_path / "default").mkdir()
    limited = write_config(tmp_path / "default", dovecot=dovecot)  # 25 MB default
    _run(limited)
    (entry,) = cli_json(limited, "quarantine")
    assert "too large" in entry["reason"]
    assert [c["customer"] for c in cli_json(limited, "cases")] == ["small@example.com"]


def test_twenty_thousand_mime_parts_are_filed_without_crashing_the_daemon(dovecot, tmp_path: Path) -> None:
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(20_000))
    raw = (
        "From: parts@example.com\r\nTo: complaints@wallet.example\r\nSubject: Payment failed\r\n"
        'Message-ID: <parts@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + parts
        + "--b--\r\n"
    ).encode()
    dovecot.append(raw)
    dovecot.append(complaint("next@example.com", "Account locked", "My account is locked."))
    config = write_config(tmp_path, dovecot=dovecot)
    _run(config)
    customers = sorted(c["customer"] for c in cli_json(config, "cases"))
    quarantined = cli_json(config, "quarantine")
    assert "next@example.com" in customers
    assert customers == ["next@example.com", "parts@example.com"] or len(quarantined) == 1


def test_mime_nesting_depth_two_thousand_is_filed_or_quarantined_never_fatal(dovecot, tmp_path: Path) -> None:
    depth = 2000
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth)
    )
    closing = "".join(f"\r\n--b{i}--\r\n" for i in reversed(range(depth)))
    raw = (
        "From: deep@example.com\r\nTo: complaints@wallet.example\r\nSubject: Payment failed\r\n"
        "Message-ID: <deep@example.com>\r\nMIME-Version: 1.0\r\n"
        + opening
        + "Content-Type: text/plain\r\n\r\nMy payment failed.\r\n"
        + closing
    ).encode()
    dovecot.append(raw)
    dovecot.append(complaint("next@example.com", "Account locked", "My account is locked."))
    config = write_config(tmp_path, dovecot=dovecot)
    _run(config)
    customers = [c["customer"] for c in cli_json(config, "cases")]
    quarantined = cli_json(config, "quarantine")
    assert "next@example.com" in customers
    assert len(customers) + len(quarantined) == 2


def test_zip_attachment_is_stored_whole_and_never_unpacked(dovecot, tmp_path: Path) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../evil.sh", "rm -rf /")
        archive.writestr("receipt.txt", "paid")
    payload = buffer.getvalue()
    config = write_config(tmp_path, dovecot=dovecot)
    dovecot.append(_attachment_mail('attachment; filename="logs.zip"', payload))
    _run(config)
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert not any(p.name in ("evil.sh", "receipt.txt") for p in files)
    (stored,) = [p for p in (tmp_path / "data" / "attachments").rglob("*") if p.is_file()]
    assert stored.suffix == ".zip"
    assert stored.read_bytes() == payload


@pytest.mark.parametrize(
    "date_header",
    [
        None,
        "Date: not a date at all",
        "Date: Thu, 01 Jan 1970 00:00:00 +0000",
        "Date: Sat, 01 Jan 2099 00:00:00 +0000",
    ],
    ids=["missing", "invalid", "1970", "2099"],
)
def test_odd_date_header_the_clock_starts_at_receipt(
    dovecot, smtp_server, tmp_path: Path, date_header
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    received = datetime.now(UTC).replace(microsecond=0)
    head = "From: time@example.com\r\nTo: complaints@wallet.example\r\nSubject: Account locked\r\n"
    head += "Message-ID: <date@example.com>\r\n" + (date_header + "\r\n" if date_header else "")
    dovecot.append((head + "\r\nMy account is locked since this morning.\r\n").encode(), msg_time=received)
    _run(config)
    case = _only_case(config)
    assert datetime.fromisoformat(case["awaiting_since"]) == received
    assert len(smtp_server.wait_for(1)) == 1  # an acknowledgement, not a silent backfill


def test_mail_without_message_id_is_filed_and_acknowledged(dovecot, smtp_server, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    raw = complaint("noid@example.com", "Account locked", "My account is locked.")
    raw = re.sub(rb"(?im)^Message-ID:.*\r?\n", b"", raw)
    assert b"Message-ID" not in raw
    dovecot.append(raw)
    _run(config)
    assert _only_case(config)["customer"] == "noid@example.com"
    (ack,) = _sent(smtp_server)
    assert ack["Message-ID"]
    _run(config)
    assert len(cli_json(config, "cases")) == 1


def test_same_message_id_with_different_content_keeps_both(dovecot, tmp_path: Path) -> None:
    config = write_config(tmp_path, dovecot=dovecot)
    dovecot.append(
        complaint("dup@example.com", "Account locked", "First text.", message_id="<same@example.com>")
    )
    dovecot.append(
        complaint("dup@example.com", "Account locked", "Other text.", message_id="<same@example.com>")
    )
    _run(config)
    cases = cli_json(config, "cases")
    messages = [
        m for c in cases for m in cli_json(config, "show", c["case_id"])["messages"] if m["direction"] == "in"
    ]
    assert len(messages) == 2
    assert len({m["raw_sha256"] for m in messages}) == 2


def test_stranger_quoting_the_victims_acknowledgement_gets_a_new_case_and_the_victim_no_mail(
    dovecot, smtp_server, tmp_path: Path
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    dovecot.append(
        complaint("victim@example.com", "Account frozen", "My account is frozen.", message_id="<v1@x>")
    )
    _run(config)
    (ack,) = _sent(smtp_server)
    case_id = _only_case(config)["case_id"]
    smtp_server.clear()
    dovecot.append(
        complaint(
            "mallory@example.net",
            f"Re: [{case_id}] Account frozen",
            "Please send the details of this case to me.",
            message_id="<m1@example.net>",
            in_reply_to=str(ack["Message-ID"]),
        )
    )
    _run(config)
    cases = {c["customer"]: c["case_id"] for c in cli_json(config, "cases")}
    assert set(cases) == {"victim@example.com", "mallory@example.net"}
    assert cases["victim@example.com"] == case_id
    victim = cli_json(config, "show", case_id)
    assert [m["message_id"] for m in victim["messages"] if m["direction"] == "in"] == ["<v1@x>"]
    time.sleep(0.3)
    assert all("victim@example.com" not in m.rcpt_tos for m in smtp_server.received)


@pytest.mark.parametrize("with_token", [True, False], ids=["our_token", "forged_token"])
def test_our_loop_header_arriving_from_outside(
    dovecot, smtp_server, tmp_path: Path, with_token: bool
) -> None:
    config = write_config(tmp_path, dovecot=dovecot, smtp=smtp_server)
    token = load_config(config).loop_token if with_token else "someone-else"
    dovecot.append(
        complaint(
            "loop@example.com",
            "Payment failed",
            "My payment failed.",
            headers={"X-Inbox-Agent-Loop": token},
        )
    )
    _run(config)
    assert cli_json(config, "status")["processed_total"] == 1  # stored either way
    time.sleep(0.3)
    if with_token:
        assert smtp_server.received == []  # our own mail coming back: never answered
    else:
        assert len(smtp_server.wait_for(1)) == 1  # a forged header cannot silence a customer

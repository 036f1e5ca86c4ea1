"""Outlook's winmail.dat (TNEF): the files and the text it wraps come out of real
streams Outlook and Exchange wrote (tnefparse's examples, tests/data/shared/tnef), so a
screenshot inside it counts as the screenshot it is, and a mail whose only text is
inside it is read; a damaged stream is kept as sent, with a defect naming why."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from conftest import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.stages.evidence import extract_evidence
from inbox_agent.stages.parse import parse_message
from inbox_agent.stages.tnef import TnefUnreadable, _rtf_text, unpack_tnef
from inbox_agent.stages.tnef_reader import PR_BODY, PR_PREVIEW, read_mapi, read_tnef

TNEF = DATA / "tnef"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def outlook_mail(stream: bytes, text: str | None = "Please see the attached files.") -> bytes:
    """A mail as Outlook sends one in Rich Text: a text part (or none) and winmail.dat."""
    msg = EmailMessage()
    msg["From"] = "Anna Berg <anna@firma.example>"
    msg["To"] = "complaints@wallet.example"
    msg["Subject"] = "Charged twice"
    msg["Message-ID"] = "<outlook-1@firma.example>"
    if text is not None:
        msg.set_content(text)
    else:
        msg.make_mixed()
    msg.add_attachment(stream, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return msg.as_bytes()


def _parsed(name: str, text: str | None = "Please see the attached files.") -> object:
    return parse_message(outlook_mail((TNEF / name).read_bytes(), text))


def test_the_files_inside_come_out_under_their_names_and_winmail_dat_does_not() -> None:
    msg = _parsed("umlaut.tnef")
    names = {a.filename: a for a in msg.attachments}
    assert set(names) == {"TBZ PARIV GmbH.jpg", "image003.jpg", "UmlautAnhang-äüö.txt"}
    assert (
        names["TBZ PARIV GmbH.jpg"].content_type == "image/jpeg" and names["TBZ PARIV GmbH.jpg"].size == 44764
    )
    assert names["TBZ PARIV GmbH.jpg"].safe_name.endswith(".jpg")
    # The body shows image003.jpg in its text (cid:): a logo, not a file the customer attached.
    assert names["image003.jpg"].inline and not names["TBZ PARIV GmbH.jpg"].inline
    assert msg.new_text.startswith("Please see the attached files.")  # the text part stays the text
    assert not any("TNEF" in defect for defect in msg.defects)


@pytest.mark.parametrize(
    ("name", "files"),
    [
        ("two-files.tnef", {"AUTHORS", "README"}),
        ("long-filename.tnef", {"allproductsmar2000.dat"}),
        ("unicode-mapi-attr.tnef", {"example.dat"}),
    ],
)
def test_more_streams(name: str, files: set[str]) -> None:
    assert {a.filename for a in _parsed(name).attachments} == files


def test_a_screenshot_inside_winmail_dat_is_the_screenshot_evidence() -> None:
    msg = _parsed("umlaut.tnef", "You charged me twice. Screenshot attached.")
    found = extract_evidence(msg.subject, msg.new_text, msg.attachments, reference=NOW, tz=ZoneInfo("UTC"))
    assert "TBZ PARIV GmbH.jpg" in found["screenshot"] and "image003" not in found["screenshot"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("rtf.tnef", "Senior Engineer"),  # compressed RTF, the only body
        ("body.tnef", "Amendments 1-10 of the Constitution"),  # HTML, the only body
    ],
)
def test_a_mail_whose_only_text_is_inside_winmail_dat_is_read(name: str, words: str) -> None:
    msg = _parsed(name, text=None)
    assert words in msg.text, msg.defects
    assert "\\rtf" not in msg.text and "<" not in msg.text and "{" not in msg.text


def test_an_html_body_inside_winmail_dat_is_read_as_text() -> None:
    msg = _parsed("unicode-mapi-attr.tnef", text=None)
    assert "hello world" in msg.text and "<" not in msg.text


@pytest.mark.parametrize("cut", [40, 400, None])
def test_a_stream_with_nothing_to_read_is_kept_as_sent_with_a_defect(cut: int | None) -> None:
    """Cut short (the first 40 or 400 bytes), or a stream of properties only (with
    bytes after its end): winmail.dat stays, never silently gone."""
    name = "garbage-at-end.tnef" if cut is None else "two-files.tnef"
    stream = (TNEF / name).read_bytes()[:cut]
    msg = parse_message(outlook_mail(stream))
    (kept,) = msg.attachments
    assert kept.filename == "winmail.dat" and kept.payload == stream
    assert any("winmail.dat (TNEF)" in defect for defect in msg.defects), msg.defects


def test_rtf_in_a_chinese_code_page_is_read_in_it() -> None:
    gbk = "我的账户被冻结了".encode("gbk")
    rtf = r"{\rtf1\ansi\ansicpg936\deff0{\fonttbl{\f0\fnil\fcharset134 SimSun;}}\f0 "
    rtf += "".join(f"\\'{byte:02x}" for byte in gbk) + r"\par }"
    assert _rtf_text(rtf.encode("ascii")).strip() == "我的账户被冻结了"
    assert _rtf_text(rb"{\rtf1\ansi\ansicpg99999 plain\par}").strip() == "plain"  # unknown page
    assert _rtf_text(b"not rtf at all") == ""


# --- our reader against tnefparse, and against hostile streams ---------------------------

STREAMS = sorted(path.name for path in TNEF.glob("*.tnef"))


@pytest.mark.parametrize("name", STREAMS)
def test_our_reader_agrees_with_tnefparse_on_real_streams(name: str) -> None:
    from tnefparse import TNEF as Theirs

    data = (TNEF / name).read_bytes()
    theirs, ours = Theirs(data), read_tnef(data)
    assert [a.name for a in ours.attachments] == [a.long_filename() for a in theirs.attachments]
    for mine, other in zip(ours.attachments, theirs.attachments, strict=True):
        if not mine.embedded:  # an attached mail: tnefparse keeps its stream, we read into it
            assert mine.data == bytes(other.data)
    assert unpack_tnef(data).html == (theirs.htmlbody or "")  # ours decoded by PR_INTERNET_CPID
    body = ours.props.get(PR_BODY) or ours.body or ours.props.get(PR_PREVIEW) or None
    assert (body.rstrip("\x00") if body else None) == (theirs.body.rstrip("\x00") if theirs.body else None)


def test_an_attached_mail_with_nothing_to_read_stays_as_it_came() -> None:
    msg = _parsed("IPM-DistList.tnef")  # a contact list attached in Outlook
    (kept,) = msg.attachments
    assert kept.filename == "Untitled Attachment" and kept.payload.startswith(b"\x78\x9f\x3e\x22")


def _stream(*attributes: tuple[int, int, bytes]) -> bytes:
    """A TNEF stream of (level, attribute id, data) as Outlook lays one out."""
    out = b"\x78\x9f\x3e\x22" + b"\x01\x00"
    for level, attribute, data in attributes:
        out += struct.pack("<BII", level, attribute, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)
    return out


def test_a_count_the_bytes_cannot_hold_is_not_believed() -> None:
    """tnefparse loops 4,294,967,295 times over this 21-byte stream; ours reads it as
    holding nothing (and the mail keeps its winmail.dat, with a defect)."""
    hostile = _stream((1, 0x00069003, b"\xff\xff\xff\xff"))
    assert read_tnef(hostile).props == {}
    msg = parse_message(outlook_mail(hostile))
    assert [a.filename for a in msg.attachments] == ["winmail.dat"]
    many_values = struct.pack("<IHHI", 1, 0x1002, 0x0E07, 0xFFFFFFFF)  # a multi-valued short, 4e9 values
    assert read_mapi(many_values, "cp1252") == {}


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(STREAMS),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=30),
    st.integers(0, 10**6) | st.none(),
)
def test_any_damage_to_a_real_stream_ends_in_files_or_a_clear_refusal(
    name: str, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray((TNEF / name).read_bytes())
    for where, value in flips:
        data[where % len(data)] = value
    stream = bytes(data[:cut] if cut is not None else data)
    try:
        unpacked = unpack_tnef(stream)
    except TnefUnreadable:
        return
    assert all(isinstance(f.data, bytes) and isinstance(f.name, str) for f in unpacked.files)
    parse_message(outlook_mail(stream))  # and the mail around it always parses

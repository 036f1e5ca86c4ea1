"""Every failure class of issue 12, in every charset it applies to (bench/parse_classes.py).

The same mails feed ``bench/parse_diff.py --classes``, which compares our parse
with mail-parser's and Python's ``email``; here each mail's expected parse is
asserted outright.
"""

from __future__ import annotations

import pytest

from bench.parse_classes import CLASSES, MULTIBYTE, RAW_8BIT, GeneratedMail, generate
from inbox_agent.stages.parse import parse_message

GENERATED = generate()


@pytest.mark.parametrize("generated", GENERATED, ids=[generated.name for generated in GENERATED])
def test_generated_mail_parses_as_expected(generated: GeneratedMail) -> None:
    msg = parse_message(generated.raw)
    expect = generated.expect
    if expect.subject is not None:
        assert msg.subject == expect.subject
    if expect.sender is not None:
        assert msg.sender == expect.sender
    if expect.sender_name is not None:
        assert msg.sender_name == expect.sender_name
    for snippet in expect.text_contains:
        assert snippet in msg.text
        assert snippet in msg.new_text  # what the categorizer reads
    names = {attachment.filename for attachment in msg.attachments}
    assert set(expect.attachment_names) <= names
    for value in (msg.subject, msg.sender_name, msg.text):
        assert "\ufffd" not in value
        assert "=?" not in value


def test_every_class_is_generated_in_every_charset_it_applies_to() -> None:
    covered: dict[str, set[str]] = {}
    for generated in GENERATED:
        covered.setdefault(generated.failure_class, set()).add(generated.charset)
    assert set(covered) == set(CLASSES)
    every = {"gb2312", "gbk", "gb18030", "big5", "iso-2022-jp", "shift_jis", "euc-kr", "utf-7", "utf-8"}
    assert every <= covered["boundary_missing"]
    assert every <= covered["boundary_mismatched"]
    assert every <= covered["encoded_word_spaces"]
    assert set(MULTIBYTE) <= covered["encoded_word_cut"]
    assert set(RAW_8BIT) | {"iso-2022-jp"} <= covered["raw_8bit_headers"]
    assert every - {"utf-7"} <= covered["display_name_comma"]


def test_a_multipart_without_its_boundary_is_recorded_as_a_defect() -> None:
    generated = next(mail for mail in GENERATED if mail.failure_class == "boundary_missing")
    msg = parse_message(generated.raw)
    assert msg.attachments == ()
    assert any("boundary" in defect for defect in msg.defects)


def test_a_cut_multibyte_character_is_dropped_and_recorded() -> None:
    generated = next(mail for mail in GENERATED if mail.failure_class == "encoded_word_cut")
    msg = parse_message(generated.raw)
    assert any("cut" in defect for defect in msg.defects)

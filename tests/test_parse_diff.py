"""bench/parse_diff.py: the differential harness flags what it should, and our parser passes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.parse_diff import (
    ATTACHED_MAIL_TEXT,
    MIME_SYNTAX_TEXT,
    Fields,
    explain_by_rule,
    field_flags,
    main,
)

PLAIN = b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
WITH_ATTACHED_MAIL = (
    b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nmine\r\n"
    b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: old\r\n\r\ntheirs\r\n--b--\r\n"
)


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        (Fields(subject=""), Fields(subject="账户"), {"subject": ["empty"]}),
        (
            Fields(subject="=?gb2312?Q?=D5=CB?="),
            Fields(subject="账"),
            {"subject": ["leftover_encoded_word", "fewer_cjk"]},
        ),
        (
            Fields(subject="账\ufffd"),
            Fields(subject="账户"),
            {"subject": ["more_replacement_chars", "fewer_cjk"]},
        ),
        (
            Fields(sender_name="×ª·¢"),
            Fields(sender_name="转发"),
            {"sender_name": ["fewer_cjk", "latin1_mojibake"]},
        ),
        (Fields(text="short"), Fields(text="short " + "and much longer " * 5), {"text": ["shorter_text"]}),
        (Fields(sender=""), Fields(sender="a@example.com"), {"sender": ["empty"]}),
        (Fields(sender="garbage"), Fields(sender="a@example.com"), {"sender": ["no_domain"]}),
        (
            Fields(attachment_count=1, attachment_names=("",)),
            Fields(attachment_count=2, attachment_names=("a.png", "b.png")),
            {"attachments": ["fewer_attachments"], "attachment_names": ["fewer_attachment_names"]},
        ),
    ],
)
def test_each_way_of_being_worse_is_flagged(ours: Fields, theirs: Fields, expected: dict) -> None:
    assert field_flags(ours, theirs) == expected


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (Fields(subject="账户", text="x" * 50), Fields(subject="账户", text="x" * 50)),
        (Fields(subject="账户被冻结"), Fields(subject="=?gb2312?B?1cu7p7G7tqy94Q==?=")),  # ours decoded it
        (Fields(sender='"a b"@example.com'), Fields(sender="a b@example.com")),  # the same address, quoted
        (Fields(sender=""), Fields(sender="<>")),  # the null sender is no address
        # A decoded ISO-2022-JP text is shorter than its escape sequences, not worse.
        (Fields(text="振込が失敗しました" * 3), Fields(text="$B?69~$,<:GT$7$^$7$?(B" * 3)),
        # More U+FFFD in more text is not a worse decode of the same text.
        (Fields(text="päivää yötä vaan \ufffd\ufffd more text here"), Fields(text="päivää")),
    ],
)
def test_equal_or_better_fields_are_not_flagged(ours: Fields, theirs: Fields) -> None:
    assert field_flags(ours, theirs) == {}


def test_rules_explain_a_baseline_only_when_their_premise_holds() -> None:
    mine, theirs = Fields(text="mine"), Fields(text="mine theirs and more text of the attached mail")
    assert explain_by_rule("text", ["shorter_text"], mine, theirs, WITH_ATTACHED_MAIL) == ATTACHED_MAIL_TEXT
    assert explain_by_rule("text", ["shorter_text"], mine, theirs, PLAIN) == ""
    assert explain_by_rule("subject", ["empty"], mine, theirs, WITH_ATTACHED_MAIL) == ""
    syntax = Fields(text="--b\nContent-Type: text/plain\n\nmine and the rest of it")
    assert explain_by_rule("text", ["shorter_text"], mine, syntax, PLAIN) == MIME_SYNTAX_TEXT


def test_our_parser_is_nowhere_worse_than_both_baselines(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The acceptance run: shared corpus, our own mails and every generated failure class."""
    status = main(["--no-rate", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "worse than both baselines: 0 fields" in out
    assert ", 0 without a recorded reason" in out
    assert status == 0
    flagged = sorted(tmp_path.glob("*.json"))
    assert flagged, "the worse-than-one fields are written out for inspection"
    assert {path.with_suffix(".eml").exists() for path in flagged} == {True}


def test_a_folder_that_does_not_exist_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--only", str(tmp_path / "missing"), "--no-rate", "--out", str(tmp_path / "out")]) == 2
    assert "not a folder" in capsys.readouterr().err

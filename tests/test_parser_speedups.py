"""The two parser speed-ups (stages/parser_speedups) change nothing but the time.

The boundary matcher is compared with the pattern the standard library compiles, on
made-up boundaries and lines (hypothesis) and on every mail of the repository: the same
tree, the same defects. The remembered address reading gives what mail-parser gives,
and no caller can change what the next one gets.
"""

from __future__ import annotations

import email
import email.feedparser
import re
from pathlib import Path

import mailparser.core
import mailparser.utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import inbox_agent.stages.mime_tree  # noqa: F401 - installs the speed-ups
from inbox_agent.stages.parse import parse_message
from inbox_agent.stages.parser_speedups import (
    BoundaryPattern,
    boundary_separator,
    remembered_get_addresses,
)

TESTS = Path(__file__).parent
MAILS = sorted(p for p in TESTS.rglob("*.eml") if p.is_file()) + sorted(
    p for p in (TESTS / "mails").rglob("*") if p.is_file() and p.suffix != ".eml"
)


def stdlib_pattern(boundary: str) -> re.Pattern[str]:
    """Exactly what email.feedparser compiles for a multipart with this boundary."""
    separator = "--" + boundary
    return re.compile(
        "(?P<sep>" + re.escape(separator) + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    )


def ours(boundary: str) -> BoundaryPattern:
    pattern = stdlib_pattern(boundary).pattern
    separator = boundary_separator(pattern)
    assert separator == "--" + boundary
    return BoundaryPattern(pattern, separator)


def same_match(boundary: str, line: str) -> None:
    expected = stdlib_pattern(boundary).match(line)
    got = ours(boundary).match(line)
    assert (got is None) == (expected is None), (boundary, line)
    if expected is not None and got is not None:
        for group in (0, "sep", "end", "ws", "linesep"):
            assert got.group(group) == expected.group(group), (boundary, line, group)
        assert got.end() == expected.end()


BOUNDARY = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=70)
TAIL = st.lists(st.sampled_from(["--", "-", " ", "\t", "\r\n", "\r", "\n", "x", "=", "."]), max_size=6).map(
    "".join
)


@settings(max_examples=600, deadline=None)
@given(boundary=BOUNDARY, tail=TAIL, cut=st.integers(min_value=0, max_value=3))
def test_boundary_lines_match_as_the_compiled_pattern_does(boundary: str, tail: str, cut: int) -> None:
    separator = "--" + boundary
    same_match(boundary, separator + tail)
    same_match(boundary, separator[: max(0, len(separator) - cut)] + tail)  # a line that falls short
    same_match(boundary, " " + separator + tail)  # not at the start of the line


@settings(max_examples=300, deadline=None)
@given(boundary=BOUNDARY, line=st.text(max_size=80))
def test_any_line_matches_as_the_compiled_pattern_does(boundary: str, line: str) -> None:
    same_match(boundary, line)
    same_match(boundary, "--" + boundary + line)


@pytest.mark.parametrize(
    "pattern",
    [
        r"(\r\n|\r|\n)",
        "(?P<sep>--a)(?P<end>--)?",  # another tail
        "(?P<sep>--a b)" + r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$",  # " " unescaped
        "(?P<sep>--a\\\\"
        + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$",  # not as re.escape writes it ("-" unescaped)
        b"(?P<sep>--a)",
    ],
)
def test_every_other_pattern_is_left_to_re(pattern: object) -> None:
    assert boundary_separator(pattern) is None
    compiled = email.feedparser.re.compile(pattern)
    assert isinstance(compiled, re.Pattern)


def test_a_pattern_re_refuses_is_refused_the_same_way() -> None:
    with pytest.raises(re.error):
        email.feedparser.re.compile("(?P<sep>--a\\" + r")(?P<end>--)?")


def test_the_feed_parser_compiles_no_pattern_per_multipart(monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes it faster: a mail of nested multiparts with fresh boundaries compiles nothing."""
    compiled: list[object] = []
    real_compile = re.compile
    monkeypatch.setattr(
        re, "compile", lambda pattern, flags=0: compiled.append(pattern) or real_compile(pattern, flags)
    )
    boundaries = [f"=_fresh_{n}_{id(compiled)}_boundary" for n in range(3)]
    mail = (
        f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{boundaries[0]}"\n\n'
        f'--{boundaries[0]}\nContent-Type: multipart/alternative; boundary="{boundaries[1]}"\n\n'
        f"--{boundaries[1]}\nContent-Type: text/plain\n\nhello\n--{boundaries[1]}\n"
        f"Content-Type: text/html\n\n<p>hello</p>\n--{boundaries[1]}--\n"
        f"--{boundaries[0]}\nContent-Type: text/plain\n\nsecond\n--{boundaries[0]}--\n"
    )
    message = email.message_from_string(mail)
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/plain",
    ]
    assert not any(b in str(pattern) for pattern in compiled for b in boundaries)


def tree(data: bytes) -> list[tuple[object, ...]]:
    message = email.message_from_bytes(data)
    return [
        (
            part.get_content_type(),
            part.get_boundary(),
            part.preamble,
            part.epilogue,
            [type(defect).__name__ for defect in part.defects],
            None if part.is_multipart() else part.get_payload(),
        )
        for part in message.walk()
    ]


@pytest.mark.parametrize("path", MAILS, ids=lambda p: str(p.relative_to(TESTS)))
def test_every_mail_of_the_repository_parses_to_the_same_tree(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = path.read_bytes()
    fast = tree(data)
    monkeypatch.setattr(email.feedparser, "re", re)
    assert tree(data) == fast


ADDRESS_HEADERS = [
    "complaints@example.com",
    "Wallet Complaints <complaints@example.com>",
    '"Li, Wei" <li.wei@example.cn>, Mary <mary@example.com>',
    "=?utf-8?b?5p2O5Lyf?= <li@example.cn>",
    "undisclosed-recipients:;",
    "john@example.com <john@example.com>",  # an address as the display name: diagnosed
    "broken <a@b",
    "a@b.c (comment), <d@e.f>",
    "",
]


@pytest.mark.parametrize("value", ADDRESS_HEADERS)
def test_remembered_addresses_are_mail_parsers_own(value: str) -> None:
    for _ in range(2):  # the first reading and the remembered one
        expected_defects: list[dict[str, object]] = []
        got_defects: list[dict[str, object]] = []
        expected = mailparser.utils.get_addresses(value, defects=expected_defects, decode_names=True)
        got = remembered_get_addresses(value, defects=got_defects, decode_names=True)
        assert got == expected
        assert got_defects == expected_defects


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=60))
def test_remembered_addresses_of_any_text_are_mail_parsers_own(value: str) -> None:
    expected_defects: list[dict[str, object]] = []
    got_defects: list[dict[str, object]] = []
    expected = mailparser.utils.get_addresses(value, defects=expected_defects, decode_names=True)
    assert remembered_get_addresses(value, defects=got_defects, decode_names=True) == expected
    assert got_defects == expected_defects


def test_a_caller_cannot_change_what_the_next_one_reads() -> None:
    value = "john@example.com <john@example.com>"
    first: list[dict[str, object]] = []
    addresses = remembered_get_addresses(value, defects=first, decode_names=True)
    assert first, "this header is diagnosed"
    first[0].update(header="to", occurrence=3)
    first[0]["candidates"].append("changed")  # type: ignore[attr-defined]
    addresses.append(("x", "y"))
    second: list[dict[str, object]] = []
    assert ("x", "y") not in remembered_get_addresses(value, defects=second, decode_names=True)
    assert "header" not in second[0] and "changed" not in second[0]["candidates"]  # type: ignore[operator]


def test_both_are_in_place_for_the_parser() -> None:
    assert mailparser.core.get_addresses is remembered_get_addresses
    assert not isinstance(email.feedparser.re.compile(stdlib_pattern("b").pattern), re.Pattern)


def test_a_mail_with_diagnosed_addresses_keeps_its_findings_on_every_parse() -> None:
    mail = (
        b"From: john@example.com <john@example.com>\r\nTo: complaints@example.com\r\n"
        b"Subject: x\r\nMessage-ID: <a@example.com>\r\n\r\nmy payment failed\r\n"
    )
    first, second = parse_message(mail), parse_message(mail)
    assert first.defects == second.defects
    assert any("address" in defect.lower() for defect in first.defects), first.defects

"""Setting long base64 runs aside during the MIME parse changes nothing but its cost.

Differential: the tree built with the runs set aside and put back is compared with
the stdlib parser's tree of the mail as it is (every part's headers, text, preamble,
epilogue and defects), on arbitrary line soups as well as on real-looking mail.
"""

from __future__ import annotations

import base64
import email
import random
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import generate_corpus
from inbox_agent.stages import mime_set_aside, mime_tree
from inbox_agent.stages.mime_parts import payload_bytes, wire_payload
from inbox_agent.stages.mime_set_aside import RunLeaf, SetAside, set_aside
from inbox_agent.stages.parse import parse_message
from inbox_agent.stages.parse_defects import Defects

MAILS = Path(__file__).resolve().parent / "mails"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _shape(root: Message) -> list[tuple[object, ...]]:
    """Everything the parse put into the tree, part by part."""
    return [
        (
            part.get_unixfrom(),
            list(part._headers),  # type: ignore[attr-defined]  # the raw header list
            part._payload if isinstance(part._payload, str) else None,  # type: ignore[attr-defined]
            part.preamble,
            part.epilogue,
            [type(defect).__name__ for defect in part.defects],
        )
        for part in root.walk()
    ]


def _tree(data: bytes) -> tuple[list[tuple[object, ...]], list[str]]:
    defects = Defects()
    root, _ = mime_tree.mime_tree(data, defects)
    return _shape(root), list(defects.items)


@contextmanager
def _set_aside(always: bool) -> Iterator[None]:
    """Every run of every mail set aside, or none: the size floors are only about cost,
    and generated mails are small."""
    saved = mime_set_aside.MIN_MAIL_BYTES, mime_set_aside.MIN_RUN_BYTES
    floor = 0 if always else 10**12
    mime_set_aside.MIN_MAIL_BYTES = mime_set_aside.MIN_RUN_BYTES = floor
    try:
        yield
    finally:
        mime_set_aside.MIN_MAIL_BYTES, mime_set_aside.MIN_RUN_BYTES = saved


def _parsed_both_ways(data: bytes) -> tuple[object, object]:
    """The tree and defects ``mime_tree`` gives, with runs set aside and without."""
    with _set_aside(always=True):
        ours = _tree(data)
    with _set_aside(always=False):
        theirs = _tree(data)
    return ours, theirs


def _b64_lines(seed: int, count: int) -> list[bytes]:
    """Mostly encoder-length lines, some short: a run starts at a line of 40 or more."""
    rng = random.Random(seed)
    return [
        "".join(rng.choices(B64, k=rng.choice([76, 64, 40, 39, rng.randint(1, 76)]))).encode()
        for _ in range(count)
    ]


# The lines a mail is made of, meaningful to the parser or not: boundaries of two
# nested multiparts (closed or not), headers that open them, a folded header, blank
# lines, prose, a lone CR, an mbox "From " line, and runs of base64 lines.
_STRUCTURE = st.sampled_from(
    [
        b"--outer",
        b"--outer--",
        b"--inner",
        b"--inner--",
        b"--outer  ",
        b"Content-Type: multipart/mixed; boundary=outer",
        b'Content-Type: multipart/alternative; boundary="inner"',
        b"Content-Type: message/rfc822",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: base64",
        b"Subject: a subject",
        b"\tfolded on",
        b"",
        b"",
        b"some words: here",
        b"From someone",
        b"AAAA\rBBBB",
        b"=?utf-8?q?x?=",
    ]
)
_LINE_GROUPS = st.one_of(
    _STRUCTURE.map(lambda line: [line]),
    st.tuples(st.integers(0, 10**6), st.integers(1, 80)).map(lambda a: _b64_lines(*a)),
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_LINE_GROUPS, min_size=1, max_size=40),
    st.sampled_from([b"\r\n", b"\n", b"mixed"]),
    st.booleans(),
)
def test_any_line_soup_parses_to_the_same_tree(
    groups: list[list[bytes]], ending: bytes, last_eol: bool
) -> None:
    head = [b"Content-Type: multipart/mixed; boundary=outer", b"MIME-Version: 1.0"]
    lines = head + [line for group in groups for line in group]
    endings = [
        (b"\r\n" if index % 3 else b"\n") if ending == b"mixed" else ending for index in range(len(lines))
    ]
    data = b"".join(line + eol for line, eol in zip(lines, endings, strict=True))
    if not last_eol:
        data = data.rstrip(b"\r\n")
    ours, theirs = _parsed_both_ways(data)
    assert ours == theirs


def test_a_screenshot_mail_is_parsed_with_its_runs_set_aside() -> None:
    """Not vacuous: the image's lines really are set aside, and come back byte for byte."""
    picture = base64.encodebytes(random.Random(7).randbytes(60_000)).replace(b"\n", b"\r\n")
    data = (
        b"From: a@example.com\r\nSubject: charged twice\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n--b1\r\n'
        b"Content-Type: text/plain\r\n\r\nI was charged twice.\r\n--b1\r\n"
        b'Content-Type: image/png; name="shot.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + picture
        + b"--b1--\r\n"
    )
    ours, theirs = _parsed_both_ways(data)
    assert ours == theirs
    aside = set_aside(data)
    assert len(aside.runs) == 1 and len(aside.data) < 1_000
    root = email.message_from_bytes(aside.data, policy=compat32)
    assert aside.put_back(root) and _shape(root) == _shape(email.message_from_bytes(data, policy=compat32))
    parsed = parse_message(data)
    assert [item.size for item in parsed.attachments] == [60_000]


@pytest.mark.parametrize("path", sorted(MAILS.rglob("*.eml")), ids=lambda path: path.name)
def test_every_test_mail_parses_to_the_same_tree(path: Path) -> None:
    ours, theirs = _parsed_both_ways(path.read_bytes())
    assert ours == theirs


def test_the_benchmark_corpus_parses_to_the_same_messages() -> None:
    """The whole parse stage, with and without: the same ParsedMessage for every mail."""
    mails = [mail.raw for mail in generate_corpus(300)]
    assert sum(bool(set_aside(raw).runs) for raw in mails) > 30
    with_runs_aside = [parse_message(raw) for raw in mails]
    with _set_aside(always=False):
        assert [parse_message(raw) for raw in mails] == with_runs_aside


def test_a_stand_in_not_found_once_means_the_mail_is_read_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + (b"QUJD" * 19 + b"\r\n") * 40
    )
    with _set_aside(always=True):
        aside = set_aside(data)
    root = email.message_from_bytes(aside.data + b"\r\n" + aside.data, policy=compat32)
    assert not aside.put_back(root)  # found twice
    assert not aside.put_back(email.message_from_bytes(b"Subject: x\r\n\r\nno stand-in", policy=compat32))

    def twice(raw: bytes) -> SetAside:
        found = set_aside(raw)
        return SetAside(found.data + found.data, found.runs, found.prefix, found.source)

    monkeypatch.setattr(mime_tree, "set_aside", twice)
    with _set_aside(always=True):
        root, leaves = mime_tree.mime_tree(data, Defects())
    assert leaves[0].get_payload(decode=True) == b"ABC" * 19 * 40


def _screenshot_mail(inner: bool = False) -> tuple[bytes, bytes]:
    """A complaint with a screenshot (an attached mail holding it, if ``inner``), and the picture."""
    picture = random.Random(11).randbytes(90_000)
    lines = base64.encodebytes(picture).replace(b"\n", b"\r\n")
    image = b'Content-Type: image/png; name="shot.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n' + lines
    if inner:
        image = (
            b"Content-Type: message/rfc822\r\n\r\nFrom: b@example.com\r\nSubject: fwd\r\n"
            b'Content-Type: multipart/mixed; boundary="b2"\r\n\r\n--b2\r\n' + image + b"\r\n--b2--\r\n"
        )
    data = (
        b"From: a@example.com\r\nSubject: charged twice\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain\r\n\r\nI was charged twice.\r\n--b1\r\n" + image + b"\r\n--b1--\r\n"
    )
    return data, picture


def test_an_attachment_is_read_from_the_mail_and_never_held_as_text() -> None:
    """The screenshot's leaf holds no text of its own, yet reads, decodes and writes
    out as the stdlib tree's does; setting its text makes it a plain part again."""
    data, picture = _screenshot_mail()
    with _set_aside(always=True):
        root, leaves = mime_tree.mime_tree(data, Defects())
    theirs = email.message_from_bytes(data, policy=compat32)
    image = leaves[-1]
    assert isinstance(image, RunLeaf) and "_payload" not in image.__dict__
    assert image.get_payload() == [*theirs.walk()][-1].get_payload()
    assert payload_bytes(image, Defects()) == picture
    assert wire_payload(image) == wire_payload([*theirs.walk()][-1])
    assert root.as_bytes() == theirs.as_bytes()
    image.set_payload("aGVsbG8=")
    assert type(image) is Message and image.get_payload(decode=True) == b"hello"


def test_an_attached_mail_holding_a_screenshot_is_kept_byte_for_byte() -> None:
    data, _ = _screenshot_mail(inner=True)
    with _set_aside(always=True):
        ours = parse_message(data)
    with _set_aside(always=False):
        assert parse_message(data) == ours
    assert len(ours.attachments) == 1 and ours.attachments[0].size > 90_000


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([76, 64, 40, 39, 3, 1]), min_size=30, max_size=60),
    st.sampled_from(["", "=", "==", "===", "A=", "=A"]),
    st.sampled_from(["base64", "BASE64", "quoted-printable", "7bit", ""]),
    st.sampled_from([b"\r\n--b1--\r\n", b"\r\n\r\n--b1--\r\n", b"--b1--\r\n", b"\r\n", b""]),
    st.integers(0, 10**6),
)
def test_any_run_in_a_leaf_decodes_as_the_stdlib_tree_does(
    lengths: list[int], tail: str, encoding: str, after: bytes, seed: int
) -> None:
    """Lines of any length, padding anywhere, any transfer encoding, any ending:
    the leaf's bytes, wire bytes and defects are the stdlib tree's."""
    rng = random.Random(seed)
    lines = ["".join(rng.choices(B64[:-1], k=length)) for length in lengths]
    lines[-1] += tail
    head = f"Content-Transfer-Encoding: {encoding}\r\n" if encoding else ""
    data = (
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: image/png\r\n'
        + head.encode()
        + b"\r\n"
        + "\r\n".join(lines).encode()
        + after
    )

    def read(always: bool) -> list[tuple[bytes, bytes, list[str]]]:
        with _set_aside(always):
            defects = Defects()
            _, leaves = mime_tree.mime_tree(data, defects)
            return [
                (payload_bytes(leaf, defects), wire_payload(leaf), list(defects.items)) for leaf in leaves
            ]

    assert read(always=True) == read(always=False)


def test_parsing_a_large_attachment_holds_no_copy_of_its_text() -> None:
    """The peak is the decoded picture (three quarters of the mail), not the mail's
    text again beside it: the attachment's text used to be held twice (1.9x the mail)."""
    picture = random.Random(5).randbytes(6_000_000)
    data = (
        b'From: a@example.com\r\nSubject: statement\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nMy transfer failed.\r\n--b1\r\n"
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(picture).replace(b"\n", b"\r\n")
        + b"\r\n--b1--\r\n"
    )
    tracemalloc.start()
    try:
        parsed = parse_message(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [item.size for item in parsed.attachments] == [len(picture)]
    assert peak < 0.9 * len(data), f"peak {peak / len(data):.2f}x the mail"


def test_a_mail_quoting_a_stand_in_of_another_parse_keeps_it_as_text() -> None:
    """Stand-ins of another prefix are the mail's own words: left alone, and no reason
    to read the mail again."""
    data, _ = _screenshot_mail()
    quoted = b"inboxagentrun0123456789abcdefn0 and inboxagentrunffffffffffffffffn12"
    data = data.replace(b"I was charged twice.", b"I was charged twice. " + quoted)
    ours, theirs = _parsed_both_ways(data)
    assert ours == theirs
    with _set_aside(always=True):
        aside = set_aside(data)
        root = email.message_from_bytes(aside.data, policy=compat32)
        assert aside.put_back(root)
    assert quoted.decode() in [*root.walk()][1].get_payload()

"""The short cuts in writing a reply give exactly what the long way gave.

Each compares against the library the short cut replaced: Jinja's own environment,
the email package's header encoder and date format, ``datetime.isoformat``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

import jinja2
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from inbox_agent.domain.clock import iso, to_utc
from inbox_agent.mail import samples
from inbox_agent.mail.compose import build_email_bytes
from inbox_agent.mail.render import SHIPPED_TEMPLATES, TemplateSet
from inbox_agent.views.page import TEMPLATE_SAMPLES

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
MOMENTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1))
ASCII_WORDS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)


def _jinja_as_shipped(folder: Path) -> jinja2.Environment:
    """The environment TemplateSet used before its short cuts: Jinja's own."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def _reply(subject: str, date: datetime) -> bytes:
    return build_email_bytes(
        from_addr="complaints@wallet.example",
        from_name="钱包客服 Wallet Support",
        to_addr="alex@example.com",
        subject=subject,
        text="Hello",
        html="<html><body>Hello</body></html>",
        message_id="<reply-1@wallet.example>",
        in_reply_to="",
        references=(),
        date=date,
        loop_header="X-Inbox-Agent-Loop",
        loop_token="token",
    )


def _header_block(raw: bytes, name: str) -> str:
    """The header's value as written on the wire, continuation lines and CRLF kept."""
    lines = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: "))
    end = start + 1
    while end < len(lines) and lines[end][:1] in (" ", "\t"):
        end += 1
    return "\r\n".join(lines[start:end])[len(name) + 2 :]


def test_every_file_renders_as_jinja_itself_renders_it() -> None:
    """Every shipped template and partial, with its sample context: the same text."""
    ours = TemplateSet(SHIPPED_TEMPLATES)
    plain = _jinja_as_shipped(SHIPPED_TEMPLATES)
    names = sorted(path.name for path in SHIPPED_TEMPLATES.glob("*.j2"))
    assert len(names) > 40
    for name in names:
        context = samples.sample_context(ours, name, TEMPLATE_SAMPLES)
        # Twice: the second time comes from the memo.
        assert ours.render(name, **context) == plain.get_template(name).render(**context), name
        assert ours.render(name, **context) == plain.get_template(name).render(**context), name


def test_globals_includes_and_layouts_still_work_in_an_ops_folder(tmp_path: Path) -> None:
    """Jinja's own globals (range, namespace, cycler) reach partials and layouts too."""
    (tmp_path / "_layout.html.j2").write_text(
        "<html>{% block body %}{% endblock %}{% for i in range(2) %}.{% endfor %}</html>\n"
    )
    (tmp_path / "_part.txt.j2").write_text(
        "{% set ns = namespace(n=0) %}{% for x in items %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}\n"
    )
    (tmp_path / "page.html.j2").write_text(
        '{% extends "_layout.html.j2" %}{% block body %}{{ who }}{% include "_part.txt.j2" %}'
        "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{% endblock %}\n"
    )
    context = {"who": "<b>", "items": [1, 2, 3]}
    expected = _jinja_as_shipped(tmp_path).get_template("page.html.j2").render(**context)
    assert TemplateSet(tmp_path).render("page.html.j2", **context) == expected
    assert expected == "<html>&lt;b&gt;6\nab..</html>\n"


@settings(max_examples=300, deadline=None)
@given(st.lists(ASCII_WORDS, max_size=14))
def test_an_ascii_subject_is_written_as_the_email_package_writes_it(words: list[str]) -> None:
    """Short ones take the short cut, long ones are folded: the bytes are the package's."""
    subject = " ".join(words)
    assume("=?" not in subject)  # such a subject is encoded, not written as it stands
    expected = Header(subject, "us-ascii", header_name="Subject", maxlinelen=78).encode(linesep="\r\n")
    assert _header_block(_reply(subject, datetime(2026, 3, 1, tzinfo=UTC)), "Subject") == expected


def test_the_subject_short_cut_ends_where_one_line_ends() -> None:
    for length in (67, 68, 69, 70, 71, 72):
        subject = ("word " * 20)[: length - 1] + "x"  # spaces to fold at, up to the end
        written = _header_block(_reply(subject, datetime(2026, 3, 1, tzinfo=UTC)), "Subject")
        assert written == Header(subject, "us-ascii", header_name="Subject", maxlinelen=78).encode(
            linesep="\r\n"
        )
        assert all(len(line) <= 78 for line in f"Subject: {written}".split("\r\n"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(MOMENTS, ZONES), min_size=1, max_size=80))
def test_each_reply_is_dated_when_it_was_written(moments: list[tuple[datetime, timezone]]) -> None:
    """Many dates in a row, the same instant in other zones among them: each is its own."""
    for moment, zone in moments:
        for date in (moment.replace(tzinfo=zone), moment.replace(tzinfo=zone).astimezone(UTC)):
            assert _header_block(_reply("Hi", date), "Date") == format_datetime(to_utc(date))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(MOMENTS, st.none() | ZONES), min_size=1, max_size=300))
def test_iso_is_the_instant_in_utc_whatever_came_before(
    moments: list[tuple[datetime, timezone | None]],
) -> None:
    """Naive and aware datetimes with the same fields, and equal instants, in any order."""
    for moment, zone in moments:
        date = moment if zone is None else moment.replace(tzinfo=zone)
        assert iso(date) == to_utc(date).isoformat(timespec="seconds")
        naive_twin = moment if zone is not None else moment.replace(tzinfo=timezone(timedelta(hours=3)))
        assert iso(naive_twin) == to_utc(naive_twin).isoformat(timespec="seconds")

"""The staff page: what needs staff comes first, customer text stays inert text, nothing leaks."""

from __future__ import annotations

import argparse
import mailbox
import os
import re
import shutil
import stat
import struct
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import ROOT, cli, complaint, write_config

from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import Config, load_config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import case_id_for
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord
from inbox_agent.entrypoints.bootstrap import write_report
from inbox_agent.entrypoints.cli_report import add_report_parser, cmd_report
from inbox_agent.mail.render import TemplateSet
from inbox_agent.mail.samples import SAMPLE_CASE_ID
from inbox_agent.services.ports import Changes
from inbox_agent.views.page import (
    build_page,
    describe_duration,
    render_page,
    sample_context,
    wall_clock,
)

TEMPLATES = ROOT / "inbox_agent" / "mail" / "templates"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
CARD = "4111 1111 1111 1111"  # Luhn-valid test Visa number
CARD_PATTERNS = ("4111 1111 1111 1111", "4111111111111111", "4111-1111-1111-1111")

# (seq, status, category, severity, hours waited or None, escalation level, assignee, flags)
CASES = {
    "escalated_l1": (1, CaseStatus.ESCALATED, "wrong_charge", "normal", 30, 1, "chen.jing", ()),
    "overdue_security": (2, CaseStatus.WAITING_CUSTOMER, "security", "urgent", 2, 0, "", ()),
    "waiting_staff": (3, CaseStatus.WAITING_STAFF, "funds_not_received", "normal", 10, 0, "", ()),
    "waiting_customer": (4, CaseStatus.WAITING_CUSTOMER, "transaction_failed", "normal", 1, 0, "", ()),
    "open": (5, CaseStatus.OPEN, "other", "normal", None, 0, "", ()),
    "resolved": (6, CaseStatus.RESOLVED, "wrong_charge", "normal", None, 0, "amir", ()),
    "escalated_l3": (
        7,
        CaseStatus.ESCALATED,
        "security",
        "urgent",
        5,
        3,
        "",
        ("outside_complaint_window",),
    ),
    "overdue_plain": (8, CaseStatus.WAITING_STAFF, "account_locked", "normal", 26, 0, "", ()),
    "due_soon": (9, CaseStatus.WAITING_STAFF, "privacy", "normal", 23, 0, "", ()),
}
PAGE_ORDER = (
    "escalated_l3",
    "escalated_l1",
    "overdue_security",  # urgent before normal among the merely overdue
    "overdue_plain",
    "due_soon",  # nearest deadline first among those waiting for staff
    "waiting_staff",
    "waiting_customer",
    "open",
)


def cid(name: str) -> str:
    return case_id_for(CASES[name][0], 2026)


def make_case(name: str, **changes: object) -> Case:
    seq, status, category, severity, waited, level, assignee, flags = CASES[name]
    created = NOW - timedelta(hours=(waited or 48) + 1)
    customer = f"customer{seq}@example.net"
    events = [Event(at=iso(created), kind="opened", actor=customer, detail=f"category {category}")]
    events.append(Event(at=iso(created + timedelta(minutes=1)), kind="ack_queued", actor="system"))
    if level:
        events.append(
            Event(at=iso(NOW - timedelta(hours=1)), kind="escalated", actor="system", detail=f"L{level}")
        )
    if status == CaseStatus.RESOLVED:
        events.append(
            Event(at=iso(NOW - timedelta(hours=3)), kind="resolved", actor="agent.li@staff.example")
        )
    case = Case(
        case_id=case_id_for(seq, 2026),
        seq=seq,
        customer=customer,
        customer_name=f"Customer {seq}",
        subject=f"Complaint {name}",
        language="en",
        category=category,
        categories=(category,),
        confidence=0.8,
        matched=((category, "term"),),
        severity=severity,
        status=status,
        created_at=iso(created),
        updated_at=iso(created + timedelta(minutes=1)),
        evidence=(("amount", "USD 49.99"),),
        missing=("transaction_id", "screenshot"),
        message_ids=(f"<m{seq}@example.net>",),
        awaiting_since=iso(NOW - timedelta(hours=waited)) if waited is not None else "",
        assignee=assignee,
        escalation_level=level,
        flags=flags,
        events=tuple(events),
    )
    return replace(case, **changes)  # type: ignore[arg-type]


def make_message(
    case: Case, text: str, *, subject: str | None = None, direction: str = "in"
) -> MessageRecord:
    sha = f"{case.seq:02d}{len(text):062x}"
    return MessageRecord(
        key=f"<m{case.seq}.{direction}@example.net>|{sha}",
        case_id=case.case_id,
        direction=direction,
        message_id=f"<m{case.seq}.{direction}@example.net>",
        raw_sha256=sha,
        sender=case.customer if direction == "in" else "complaints@wallet.example",
        subject=case.subject if subject is None else subject,
        date=case.created_at,
        received_at=case.created_at,
        source="test",
        text=text,
        attachments=(("receipt.png", "ab12cd.png", "image/png", 20480),) if direction == "in" else (),
    )


def hostile_case() -> tuple[Case, list[MessageRecord]]:
    """A customer who pastes markup and a card number everywhere they can."""
    case = make_case(
        "overdue_security",
        subject=f"{SCRIPT} hacked {CARD}",
        customer_name=IMG,
        evidence=(("amount", "USD 249.00"), ("account_id", f"card {CARD}")),
        events=make_case("overdue_security").events
        + (
            Event(
                at=iso(NOW - timedelta(minutes=30)),
                kind="note",
                actor="agent.li",
                detail=f"customer said {CARD}",
            ),
        ),
    )
    text = f"Someone used my wallet!\n{IMG}\n{SCRIPT}\nMy card is {CARD}, please block it."
    return case, [make_message(case, text)]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path))


@pytest.fixture
def templates() -> TemplateSet:
    return TemplateSet(TEMPLATES)


@pytest.fixture
def store(config: Config) -> Store:
    """A store as the daemon leaves it: every kind of case, with mails, committed for real."""
    store = Store(config.storage.data_dir)
    changes = Changes(next_case_seq=len(CASES) + 1)
    for name in CASES:
        if name == "overdue_security":
            case, messages = hostile_case()
        else:
            case = make_case(name)
            messages = [make_message(case, f"Text of {name}: I need help with my wallet.")]
            messages.append(make_message(case, "We received your complaint.", direction="out"))
        changes.put_case(case)
        changes.messages.extend(messages)
    store.commit(changes)
    return store


class Tags(HTMLParser):
    """What a browser would build: the elements, their attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def page_html(tmp_path: Path, store: Store, config: Config, templates: TemplateSet, **kwargs: object) -> str:
    path = tmp_path / "report.html"
    write_report(store, config, templates, NOW, path, **kwargs)  # type: ignore[arg-type]
    return path.read_text(encoding="utf-8")


def case_order(html: str) -> list[str]:
    return re.findall(r'<article class="case [a-z_]+" id="(WLT-\d{4}-\d{6})"', html)


# --- what comes first ----------------------------------------------------------------------


def test_escalated_and_overdue_cases_come_first_then_waiting_then_open(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    html = page_html(tmp_path, store, config, templates)

    assert case_order(html) == [cid(name) for name in PAGE_ORDER]
    headings = re.findall(r"<h2>([^<]+?) <span", html)
    assert headings == ["Escalated and overdue", "Waiting for staff", "Waiting for the customer", "Open"]


def test_resolved_cases_are_counted_not_listed_unless_asked(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    html = page_html(tmp_path, store, config, templates)
    assert cid("resolved") not in html
    assert "1 resolved cases are not listed" in html

    everything = page_html(tmp_path, store, config, templates, include_resolved=True)
    assert case_order(everything)[-1] == cid("resolved")
    assert "not listed" not in everything


def test_a_case_shows_what_staff_need_to_act(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    html = page_html(tmp_path, store, config, templates)
    card = re.search(rf'id="{cid("escalated_l3")}".*?</article>', html, re.DOTALL)
    assert card is not None
    text = " ".join(" ".join(parse(card.group(0)).text).split())

    assert "escalated · L3" in text
    assert "urgent" in text
    assert "overdue by 4 h" in text  # security: 1 h limit, waited 5 h
    assert "waiting 5 h (limit 1 h)" in text
    assert "Transaction ID" in text and "A screenshot of the problem" in text  # missing, in words
    assert "Amount: USD 49.99" in text
    assert "incident older than the complaint window" in text
    assert "unassigned" in text
    # Times in the service's zone (Asia/Shanghai, UTC+8): created 06:00 UTC.
    assert "Opened 2026-11-21 14:00" in text


def test_the_response_clock_turns_overdue_exactly_at_the_limit(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    html = page_html(tmp_path, store, config, templates)
    due_soon = re.search(rf'id="{cid("due_soon")}".*?</article>', html, re.DOTALL)
    overdue = re.search(rf'id="{cid("overdue_plain")}".*?</article>', html, re.DOTALL)
    assert due_soon and overdue
    assert "due in 1 h" in due_soon.group(0) and "overdue" not in due_soon.group(0)
    assert "overdue by 2 h" in overdue.group(0)

    # One hour later the same store puts the 23-hour case among the overdue ones.
    later = tmp_path / "later.html"
    write_report(store, config, templates, NOW + timedelta(hours=1, minutes=1), later)
    order = case_order(later.read_text(encoding="utf-8"))
    assert order.index(cid("due_soon")) < order.index(cid("waiting_staff"))
    assert "overdue by 1 min" in later.read_text(encoding="utf-8")


def test_overdue_follows_the_configured_clock_business_hours_and_severity(
    tmp_path: Path, templates: TemplateSet
) -> None:
    """The page and the escalation sweep agree: a weekend does not count, "urgent" has its own limit."""
    config = load_config(
        write_config(
            tmp_path,
            overrides={
                "sla": {"business_hours": True, "hours": "09:00-18:00"},
                "sla.severity": {"high": "4h"},
            },
        )
    )
    store = Store(config.storage.data_dir)
    friday_noon = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
    monday_10am = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
    weekend = make_case("waiting_staff", awaiting_since=iso(friday_noon))
    high = make_case("due_soon", severity="high", awaiting_since=iso(friday_noon))
    store.commit(Changes(cases={weekend.case_id: weekend, high.case_id: high}, next_case_seq=10))

    path = tmp_path / "page.html"
    write_report(store, config, templates, monday_10am, path)
    html = path.read_text(encoding="utf-8")

    # 70 h on the wall, 7 h of business time (12-18 on Friday, 9-10 on Monday): only the
    # high-severity case (4 h limit) is late.
    assert case_order(html) == [high.case_id, weekend.case_id]
    assert "overdue by 3 h" in html
    assert "waiting 7 h (limit 1 d), business hours" in html
    assert "overdue" not in re.search(rf'id="{weekend.case_id}".*?</article>', html, re.DOTALL).group(0)


def test_the_timeline_lists_mails_and_events_in_order_inside_details(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    html = page_html(tmp_path, store, config, templates)
    card = re.search(rf'id="{cid("escalated_l1")}".*?</article>', html, re.DOTALL)
    assert card is not None
    details = re.search(r"<details class=\"timeline\">(.*?)</details>", card.group(0), re.DOTALL)
    assert details is not None
    labels = re.findall(r"<b>([^<]+)</b>", details.group(1))
    assert labels == ["Mail received", "Mail sent", "Case opened", "Acknowledgement queued", "Escalated"]
    assert "Text of escalated_l1: I need help with my wallet." in details.group(1)
    assert "receipt.png (image/png, 20 KB)" in details.group(1)


# --- customer text is inert, personal data masked ------------------------------------------


def test_markup_from_a_customer_appears_as_text_and_never_as_elements(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    html = page_html(tmp_path, store, config, templates)
    page = parse(html)
    visible = "".join(page.text)

    assert SCRIPT in visible and IMG in visible  # shown to staff, as the customer typed it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    elements = {tag for tag, _ in page.tags}
    assert not elements & {"script", "img", "iframe", "object", "embed", "link", "form", "base"}
    handlers = [name for _, attrs in page.tags for name in attrs if name.startswith("on")]
    assert handlers == []


def test_the_page_loads_nothing_and_forbids_scripts(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    page = parse(page_html(tmp_path, store, config, templates))
    csp = [attrs.get("content") for tag, attrs in page.tags if tag == "meta" and attrs.get("http-equiv")]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'"]
    attributes = {name for _, attrs in page.tags for name in attrs}
    assert not attributes & {"src", "href", "srcset", "action", "background", "poster"}
    assert not re.search(r"url\(|@import|https?://", page.style, re.IGNORECASE)


def test_a_card_number_never_appears_unmasked(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    html = page_html(tmp_path, store, config, templates)
    for pattern in CARD_PATTERNS:
        assert pattern not in html
    # Subject, message text, evidence value and staff note each keep the last four digits.
    assert html.count("[card ****1111]") >= 4


def test_a_real_complaint_through_the_daemon_is_escaped_and_masked(
    tmp_path: Path, templates: TemplateSet
) -> None:
    maildir = mailbox.Maildir(tmp_path / "maildir", create=True)
    maildir.add(
        complaint(
            "bob@customer.example",
            f"{SCRIPT} payment failed",
            f"My payment of $20 failed with error E1024.\n{IMG}\nCard {CARD}.",
            date=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        )
    )
    config_path = write_config(tmp_path)
    result = cli(config_path, "run", "--once")
    assert result.returncode == 0, result.stderr + result.stdout
    config = load_config(config_path)

    html = page_html(tmp_path, Store(config.storage.data_dir), config, templates)

    assert len(case_order(html)) == 1
    visible = "".join(parse(html).text)
    assert f"{SCRIPT} payment failed" in visible and IMG in visible
    assert "<script>" not in html and "<img" not in html
    assert CARD not in html and "[card ****1111]" in html


# --- the file and the command ----------------------------------------------------------------


def test_write_report_replaces_the_file_atomically_with_mode_0600(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    path = tmp_path / "www" / "report.html"
    path.parent.mkdir()
    path.write_text("old page")
    os.chmod(path, 0o644)

    shown = write_report(store, config, templates, NOW, path)

    assert shown == len(PAGE_ORDER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]  # no temp file left


def test_the_report_command_writes_the_page_and_says_how_many_cases(
    tmp_path: Path, store: Store, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    add_report_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "staff.html"

    args = parser.parse_args(["report", "--html", str(out), "--now", iso(NOW)])
    assert cmd_report(args, config) == 0

    assert f"{out}: {len(PAGE_ORDER)} cases" in capsys.readouterr().out
    assert case_order(out.read_text(encoding="utf-8")) == [cid(name) for name in PAGE_ORDER]

    bad = parser.parse_args(["report", "--html", str(out), "--now", "yesterday"])
    assert cmd_report(bad, config) == 2
    assert "--now" in capsys.readouterr().err

    unwritable = parser.parse_args(["report", "--html", str(tmp_path / "missing" / "dir" / "x.html")])
    (tmp_path / "missing").write_text("a file where a folder should be")
    assert cmd_report(unwritable, config) == 1
    assert "cannot write" in capsys.readouterr().err


def test_an_empty_store_says_nothing_needs_attention(tmp_path: Path, templates: TemplateSet) -> None:
    page = build_page(
        [], {}, now=NOW, clock_of=wall_clock(NOW, lambda _c: 86400.0), labels=templates.labels("en")
    )
    html = render_page(templates, page)
    assert page.shown == 0
    assert "Nothing is escalated or overdue right now." in html


def test_the_template_sample_context_renders_a_whole_page(templates: TemplateSet) -> None:
    """What `check` and the template tests render report.html.j2 with."""
    html = templates.render("report.html.j2", **sample_context(templates))
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert SAMPLE_CASE_ID in html
    assert "4111 1111 1111 1111" not in html


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (20, "under a minute"),
        (90, "1 min"),
        (3600, "1 h"),
        (5400, "1 h 30 min"),
        (86400 * 2 + 7200, "2 d 2 h"),
    ],
)
def test_durations_read_like_a_person_would_say_them(seconds: float, words: str) -> None:
    assert describe_duration(seconds) == words


# --- a real browser ----------------------------------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed (CI must install the Debian package `chromium`)")
    pytest.skip("chromium not installed (apt-get install chromium)")


def _chromium_args(binary: str, profile: Path) -> list[str]:
    from bench.screenshot_report import CHROMIUM_FLAGS  # the same browser set-up as the script

    return [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]


def test_the_page_renders_in_headless_chromium(
    tmp_path: Path, store: Store, config: Config, templates: TemplateSet
) -> None:
    binary = _chromium()
    page = tmp_path / "report.html"
    write_report(store, config, templates, NOW, page)
    png = tmp_path / "report.png"

    shot = subprocess.run(
        [
            *_chromium_args(binary, tmp_path / "profile"),
            f"--screenshot={png}",
            "--window-size=1280,1600",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 1600)
    assert len(data) > 20_000  # a blank or error page compresses to a few KB

    # The DOM the browser built: the customer's markup stayed text, no element was created.
    dom = subprocess.run(
        [*_chromium_args(binary, tmp_path / "profile"), "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert cid("escalated_l3") in dom.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout
    assert "<script" not in dom.stdout and "<img" not in dom.stdout

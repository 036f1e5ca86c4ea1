"""Complaints taken by phone, letter, in a branch, ...: logged by staff (`inbox-agent open`,
the web app's New complaint page) they become cases as mail does — categorized, the
evidence found, the clocks started when the customer complained, the customer
acknowledged unless staff say not to; a form sent twice is one complaint; what cannot
be a case is refused with its reason. Real store, real commands, one test in Chromium."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, write_config
from webapp import (
    WEB_TEST_SETTINGS,
    add_staff,
    audit_outcomes,
    browser_page,
    csrf_of,
    sign_in_browser,
    signed_in_client,
    web_server,
)

from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import Config, load_config
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.logged import LoggedComplaint
from inbox_agent.services.logged import LogRefused, log_complaint

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
CALLED = datetime(2026, 12, 3, 6, 20, tzinfo=UTC)  # 14:20 in Shanghai
SAID = "Her withdrawal of 500 CNY, order W20261129, has been pending for five days."
TOKEN = "phone-call-0001-abcdef"


def complaint(**changes: Any) -> LoggedComplaint:
    fields: dict[str, Any] = {
        "customer": "amy@example.com",
        "customer_name": "Amy Lee",
        "channel": "phone",
        "received_at": CALLED,
        "subject": "Withdrawal pending",
        "text": SAID,
        "token": TOKEN,
    }
    return LoggedComplaint(**(fields | changes))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Config, Store, Path]:
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    path = write_config(tmp_path, maildir=maildir, overrides={"web": dict(WEB_TEST_SETTINGS)})
    config = load_config(path)
    return config, Store(config.storage.data_dir), path


def _log(setup: tuple[Config, Store, Path], logged: LoggedComplaint, now: datetime = NOW) -> Any:
    config, store, _path = setup
    return log_complaint(store, config, TEMPLATES, logged, "alice", now)


# --- the service ---------------------------------------------------------------------------


def test_a_phone_complaint_becomes_a_case_clocked_from_the_call(setup: tuple[Config, Store, Path]) -> None:
    decision = _log(setup, complaint())
    case = decision.case
    assert decision.outcome == "new_case" and case is not None
    assert (case.customer, case.customer_name, case.category) == (
        "amy@example.com",
        "Amy Lee",
        "funds_not_received",
    )
    assert case.received_at == "2026-12-03T06:20:00+00:00" and case.awaiting_since == case.received_at
    assert case.evidence_map["amount"] == "500.00 CNY"
    (logged,) = [event for event in case.events if event.kind == "logged_by_staff"]
    assert logged.actor == "alice" and logged.detail.startswith("phone complaint logged by alice")
    (ack,) = decision.outgoing
    assert ack.recipients == ("amy@example.com",)
    body = email.message_from_bytes(ack.raw, policy=email.policy.default).get_body(preferencelist=("plain",))
    text = body.get_content()  # type: ignore[union-attr]
    assert case.case_id in text and "Thank you for contacting us" in text  # not "writing": she called
    stored = setup[1].get_case(case.case_id)
    assert stored is not None and stored.events == case.events  # committed


def test_a_complaint_logged_days_later_is_still_acknowledged(setup: tuple[Config, Store, Path]) -> None:
    decision = _log(setup, complaint(received_at=NOW - timedelta(days=10)))
    assert decision.case is not None and len(decision.outgoing) == 1  # not "backfill_old"


def test_without_acknowledgement_the_case_opens_and_nothing_is_mailed(
    setup: tuple[Config, Store, Path],
) -> None:
    decision = _log(setup, complaint(acknowledge=False, channel="letter"))
    assert decision.case is not None and decision.outgoing == ()
    assert decision.skip is not None and decision.skip.reason == "not_answered"
    assert "no acknowledgement mailed" in decision.case.events[-1].detail


def test_the_same_form_sent_twice_is_one_complaint(setup: tuple[Config, Store, Path]) -> None:
    first = _log(setup, complaint())
    again = _log(setup, complaint())
    assert first.outcome == "new_case" and again.outcome == "duplicate"
    assert [case.case_id for case in setup[1].iter_cases()] == [first.case.case_id]  # type: ignore[union-attr]


def test_a_call_about_an_open_case_joins_it(setup: tuple[Config, Store, Path]) -> None:
    first = _log(setup, complaint())
    assert first.case is not None
    follow_up = complaint(token="phone-call-0003-abcdef", text=f"Called again about {first.case.case_id}.")
    decision = _log(setup, follow_up)
    assert decision.outcome == "joined" and decision.case is not None
    assert decision.case.case_id == first.case.case_id


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"customer": "not an address"}, "is not one e-mail address"),
        ({"customer": "agent.li@staff.wallet.example"}, "is a staff address"),
        ({"customer": "complaints@wallet.example"}, "the complaint address itself"),
        ({"channel": "pigeon"}, "unknown channel 'pigeon'"),
        ({"text": "  \n"}, "what the customer said is empty"),
        ({"received_at": NOW + timedelta(hours=1)}, "cannot have complained in the future"),
        ({"received_at": datetime(2026, 12, 3, 14, 20)}, "needs its time zone"),
        ({"token": ""}, "one-time token"),
        ({"customer": "no-reply@bank.example"}, "would not be filed: .*no_reply"),
    ],
)
def test_what_cannot_be_a_case_is_refused_with_its_reason(
    setup: tuple[Config, Store, Path], changes: dict[str, Any], why: str
) -> None:
    with pytest.raises(LogRefused, match=why):
        _log(setup, complaint(**changes))
    assert list(setup[1].iter_cases()) == []


# --- the command ---------------------------------------------------------------------------


def test_open_logs_a_complaint_and_the_daemon_mails_the_acknowledgement(
    setup: tuple[Config, Store, Path], tmp_path: Path
) -> None:
    path = setup[2]
    args = ["open", "--customer", "wang@example.cn", "--name", "王小明", "--channel", "branch"]
    args += ["--at", "2026-12-03 14:20", "--text-file", "-", "--token", "branch-visit-0001", "--json"]
    opened = cli(path, *args, input_text="我的提现五天了还没到账，订单号W20261129。")
    assert opened.returncode == 0, opened.stdout + opened.stderr
    result = cli_json_text(opened.stdout)
    assert result["outcome"] == "new_case"
    shown = cli_json(path, "show", result["case_id"])
    assert shown["received_at"] == "2026-12-03T06:20:00+00:00"  # 14:20 in [sla] timezone
    assert shown["language"] == "zh"
    assert cli(path, *args, input_text="我的提现五天了还没到账。").stdout.count('"duplicate"') == 1
    assert cli(path, "run", "--once").returncode == 0
    sent = [p.read_bytes() for p in (tmp_path / "outbox").rglob("*") if p.is_file()]
    assert any(b"wang@example.cn" in raw and result["case_id"].encode() in raw for raw in sent)

    refused = cli(
        path, "open", "--customer", "x@example.com", "--channel", "phone", "--at", "yesterday", "--text", "t"
    )
    assert refused.returncode == 1 and "is not a time such as 2026-12-03T14:20" in refused.stdout


def cli_json_text(text: str) -> Any:
    return json.loads(text)


# --- the web app ---------------------------------------------------------------------------


def test_an_agent_logs_a_complaint_from_the_web_app(setup: tuple[Config, Store, Path]) -> None:
    path = setup[2]
    add_staff(path, "bob", "agent")
    client = signed_in_client(path, "bob")
    page = client.get("/new")
    assert page.status_code == 200 and 'name="token"' in page.text
    fields = {
        "csrf": csrf_of(page.text),
        "token": _token_of(page.text),
        "customer": "amy@example.com",
        "name": "Amy <b>Lee</b>",
        "channel": "phone",
        "at": "2026-12-03T14:20",
        "subject": "Withdrawal pending",
        "text": SAID + " <script>alert(1)</script>",
        "acknowledge": "1",
    }
    done = client.post("/new", data=fields)
    assert done.status_code == 303 and done.headers["location"].startswith("/cases/WLT-")
    shown = client.get(done.headers["location"].split("?")[0])
    assert "Complaint logged" in shown.text and "Logged by staff" in shown.text
    assert "<script>alert(1)</script>" not in shown.text and "&lt;script&gt;" in shown.text
    again = client.post("/new", data=fields)
    assert again.status_code == 303 and again.headers["location"] == "/new?done=again"
    assert "logged already" in client.get("/new").text
    audited = audit_outcomes(setup[0].storage.data_dir, "new_complaint")
    assert [(user, outcome) for user, _token, outcome in audited] == [
        ("bob", "new_case"),
        ("bob", "duplicate"),
    ]


def test_a_refused_form_keeps_what_was_typed_and_says_why(setup: tuple[Config, Store, Path]) -> None:
    path = setup[2]
    add_staff(path, "bob", "agent")
    client = signed_in_client(path, "bob")
    page = client.get("/new")
    fields = {
        "csrf": csrf_of(page.text),
        "token": _token_of(page.text),
        "customer": "amy@",
        "channel": "phone",
    }
    fields |= {"at": "2026-12-03T14:20", "text": "She says <b>the app</b> froze."}
    refused = client.post("/new", data=fields)
    assert refused.status_code == 400 and "is not one e-mail address" in refused.text
    assert "She says &lt;b&gt;the app&lt;/b&gt; froze." in refused.text
    forged = client.post("/new", data={**fields, "csrf": "wrong"})
    assert forged.status_code == 403
    assert list(setup[1].iter_cases()) == []


def _token_of(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, "no token on the form"
    return found.group(1)


@pytest.mark.dovecot
def test_a_complaint_is_logged_in_chromium(setup: tuple[Config, Store, Path], tmp_path: Path) -> None:
    path = setup[2]
    add_staff(path, "alice", "supervisor")
    with web_server(path) as base, browser_page(tmp_path / "profile") as page:
        sign_in_browser(page, base, "alice")
        page.click("a.nav[href='/new']")
        page.wait_for_url(f"{base}/new")
        page.fill("input[name=customer]", "amy@example.com")
        page.select_option("select[name=channel]", "letter")
        page.fill("textarea[name=text]", SAID)
        page.click("#new-complaint button[type=submit]")
        page.wait_for_url(f"{base}/cases/WLT-*")
        assert "Complaint logged" in page.inner_text("main")
    (case,) = list(setup[1].iter_cases())
    assert case.customer == "amy@example.com" and case.category == "funds_not_received"

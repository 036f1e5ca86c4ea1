"""How a complaint was decided when it is resolved — upheld, in part, not, or withdrawn —
and the redress paid: given by mail (#resolve upheld redress 25.00 CNY), by the CLI and
the web app; stated in the customer's final response in their language; cleared by a
reopen; counted per category by `export` (the share upheld, the redress per currency);
compulsory with [regulatory] require_determination."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, write_config
from webapp import WEB_TEST_SETTINGS, add_staff, csrf_of, signed_in_client

from inbox_agent.config.loader import build_config
from inbox_agent.domain.model import Case, CaseStatus
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.determination import determination_problem, redress_text, split_determination
from inbox_agent.policies.staff import StaffActionError, apply_action, parse_staff_mail

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
STAFF = "agent.li@staff.wallet.example"


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("upheld redress 25 CNY: refunded the fee", ("upheld", "25 CNY", "refunded the fee")),
        ("Partly upheld", ("partly_upheld", "", "")),
        ("partially_upheld, redress: USD 10.5", ("partly_upheld", "USD 10.5", "")),
        ("not upheld - the fee is in the terms", ("not_upheld", "", "the fee is in the terms")),
        ("rejected", ("not_upheld", "", "")),
        ("withdrawn by the customer", ("withdrawn", "", "by the customer")),
        ("refunded ¥268.50 today", ("", "", "refunded ¥268.50 today")),
        ("upheldish", ("", "", "upheldish")),
        ("upheld redress 25: refunded", ("upheld", "25", "refunded")),  # refused by name later
    ],
)
def test_the_words_after_resolve(argument: str, expected: tuple[str, str, str]) -> None:
    assert split_determination(argument) == expected


@pytest.mark.parametrize(
    ("typed", "recorded"), [("25 cny", "25.00 CNY"), ("CNY 1,200.5", "1200.50 CNY"), ("0.99USD", "0.99 USD")]
)
def test_a_redress_is_recorded_with_its_currency(typed: str, recorded: str) -> None:
    assert redress_text(typed) == recorded


@pytest.mark.parametrize("typed", ["25", "CNY 25 USD", "twenty CNY", "25.123 CNY", ""])
def test_a_redress_without_an_amount_and_currency_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="not an amount with its currency"):
        redress_text(typed)


@pytest.mark.parametrize(
    ("determination", "redress", "required", "why"),
    [
        ("", "", True, "resolving needs a determination"),
        ("", "5 CNY", False, "redress needs a determination"),
        ("not_upheld", "5 CNY", False, "not a not upheld one"),
        ("maybe", "", False, "unknown determination 'maybe'"),
        ("upheld", "5", False, "not an amount with its currency"),
        ("", "", False, ""),
        ("partly_upheld", "5 CNY", True, ""),
    ],
)
def test_what_a_determination_may_be(determination: str, redress: str, required: bool, why: str) -> None:
    problem = determination_problem(determination, redress, required=required)
    assert (why in problem) if why else problem == ""


def _case(language: str = "en") -> Case:
    return Case(
        case_id="WLT-2026-000007",
        seq=7,
        customer="amy@example.com",
        customer_name="Amy",
        subject="Charged twice",
        language=language,
        category="wrong_charge",
        categories=("wrong_charge",),
        confidence=0.9,
        matched=(),
        severity="normal",
        status=CaseStatus.WAITING_STAFF,
        created_at="2026-12-01T08:00:00+00:00",
        updated_at="2026-12-01T08:00:00+00:00",
        message_ids=("<amy-1@example.com>",),
    )


def _config(tmp_path: Path, required: bool = False) -> Any:
    data = {
        "mailbox": {"address": "complaints@wallet.example", "maildir": {"path": str(tmp_path / "md")}},
        "storage": {"data_dir": str(tmp_path / "data")},
        "smtp": {"directory": str(tmp_path / "out")},
        "regulatory": {"require_determination": required},
    }
    return build_config(data, base_dir=tmp_path)


def _resolve_by_mail(case: Case, text: str, tmp_path: Path, required: bool = False) -> tuple[Case, str]:
    action = parse_staff_mail(text, STAFF)
    resolved, mails = apply_action(
        case, action, config=_config(tmp_path, required), templates=TEMPLATES, now=NOW, cause="test"
    )
    body = email.message_from_bytes(mails[0].raw, policy=email.policy.default).get_body(
        preferencelist=("plain",)
    )
    return resolved, body.get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "We have upheld your complaint. We have paid or credited you 25.00 CNY."),
        ("zh", "经核查，我们认定您的投诉成立。我们已向您支付或退回 25.00 CNY。"),
        ("zh-Hant", "經核查，我們認定您的投訴成立。我們已向您支付或退回 25.00 CNY。"),
    ],
)
def test_resolve_by_mail_records_the_determination_and_tells_the_customer(
    tmp_path: Path, language: str, said: str
) -> None:
    text = "#resolve upheld redress 25 cny\nWe refunded the duplicate charge."
    resolved, body = _resolve_by_mail(_case(language), text, tmp_path)
    assert (resolved.status, resolved.determination, resolved.redress) == (
        CaseStatus.RESOLVED,
        "upheld",
        "25.00 CNY",
    )
    assert resolved.events[-1].detail == "upheld; redress 25.00 CNY: We refunded the duplicate charge."
    assert said in body and "We refunded the duplicate charge." in body


def test_a_resolution_without_a_determination_says_none(tmp_path: Path) -> None:
    resolved, body = _resolve_by_mail(_case(), "#resolve\nWe refunded the duplicate charge.", tmp_path)
    assert resolved.determination == "" and "upheld" not in body


def test_require_determination_refuses_a_resolution_without_one(tmp_path: Path) -> None:
    with pytest.raises(StaffActionError, match="resolving needs a determination"):
        _resolve_by_mail(_case(), "#resolve\nDone.", tmp_path, required=True)
    resolved, _ = _resolve_by_mail(
        _case(), "#resolve not upheld\nThe fee is in the terms.", tmp_path, required=True
    )
    assert resolved.determination == "not_upheld"


def test_a_reopen_clears_the_determination_and_the_event_keeps_it(tmp_path: Path) -> None:
    resolved, _ = _resolve_by_mail(_case(), "#resolve partly upheld redress USD 10\nHalf refunded.", tmp_path)
    reopened, _ = apply_action(
        resolved,
        parse_staff_mail("#reopen", STAFF),
        config=_config(tmp_path),
        templates=TEMPLATES,
        now=NOW,
        cause="reopen",
    )
    assert (reopened.determination, reopened.redress) == ("", "")
    assert any(event.detail.startswith("partly upheld; redress 10.00 USD") for event in reopened.events)


# --- the CLI, the export and the web app -----------------------------------------------------


def _open(path: Path, token: str, customer: str, category_text: str) -> str:
    args = ["open", "--customer", customer, "--channel", "phone", "--at", "2026-12-03T14:20"]
    opened = cli(path, *args, "--text", category_text, "--token", token, "--no-ack", "--json")
    assert opened.returncode == 0, opened.stdout + opened.stderr
    return str(json.loads(opened.stdout)["case_id"])


def test_resolve_from_the_cli_and_the_export_counts_the_determinations(tmp_path: Path) -> None:
    path = write_config(tmp_path, maildir=tmp_path / "md")
    charged = "I was charged twice for the same top-up of 100 CNY."
    first = _open(path, "call-0001-aaaaaaaaaa", "amy@example.com", charged)
    second = _open(path, "call-0002-aaaaaaaaaa", "bo@example.org", charged)
    third = _open(path, "call-0003-aaaaaaaaaa", "cy@example.net", charged)
    done = cli(path, "resolve", first, "Refunded.", "--determination", "upheld", "--redress", "100 CNY")
    assert done.returncode == 0, done.stdout + done.stderr
    assert cli(path, "resolve", second, "Charged once.", "--determination", "not upheld").returncode == 0
    refused = cli(path, "resolve", third, "x", "--determination", "not_upheld", "--redress", "5 CNY")
    assert (
        refused.returncode != 0
        and "redress is paid on an upheld complaint" in refused.stdout + refused.stderr
    )
    assert (
        cli(
            path, "resolve", third, "--determination", "partly_upheld", "--redress", "CNY 50", "Half."
        ).returncode
        == 0
    )
    shown = cli_json(path, "show", first)
    assert (shown["determination"], shown["redress"]) == ("upheld", "100.00 CNY")

    exported = cli(path, "export", "--from", "2026-12-01", "--to", "2026-12-31", "--format", "json")
    report = json.loads(exported.stdout)
    assert sorted((row["case"], row["determination"], row["redress"]) for row in report["rows"]) == [
        (first, "upheld", "100.00 CNY"),
        (second, "not_upheld", ""),
        (third, "partly_upheld", "50.00 CNY"),
    ]
    (line,) = report["determinations"]
    assert (line["resolved"], line["upheld"], line["partly_upheld"], line["not_upheld"]) == (3, 1, 1, 1)
    assert (line["upheld_share"], line["redress"]) == ("67%", "150.00 CNY")
    csv_text = cli(path, "export", "--from", "2026-12-01", "--to", "2026-12-31").stdout
    assert csv_text.splitlines()[0].endswith(",determination,redress,error")


def test_a_supervisor_resolves_with_a_determination_in_the_web_app(tmp_path: Path) -> None:
    path = write_config(tmp_path, maildir=tmp_path / "md", overrides={"web": dict(WEB_TEST_SETTINGS)})
    case_id = _open(path, "call-0004-aaaaaaaaaa", "amy@example.com", "I was charged twice for one top-up.")
    add_staff(path, "alice", "supervisor")
    client = signed_in_client(path, "alice")
    page = client.get(f"/cases/{case_id}")
    assert '<select name="value" aria-label="Determination">' in page.text
    fields = {"csrf": csrf_of(page.text), "text": "Refunded.", "value": "upheld", "redress": "20 USD"}
    done = client.post(f"/cases/{case_id}/act/resolve", data=fields)
    assert done.status_code == 303
    assert "Determination: <b>upheld; redress 20.00 USD</b>" in client.get(f"/cases/{case_id}").text

"""Complaints a web form relays: the customer is the Reply-To address of the relays ops
name in ``[trust] form_relays``; never staff, never one case for every customer, and
a relay's mail that names no customer is quarantined, not filed under no one."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, cli_json, complaint, write_config

from inbox_agent.config.loader import Config, ConfigError, build_config
from inbox_agent.domain.model import Case, ParsedMessage
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.classify import classify_bytes
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.process import process
from inbox_agent.stages.form_relay import from_form_relay
from inbox_agent.stages.parse import parse_message

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
OURS = "mx.wallet.example"
RELAY = "no-reply@forms.wallet.example"
SUPERVISOR = "supervisor@wallet.example"
AMY = "amy@example.com"


def make_config(tmp_path: Path, relays: list[str] | None = None) -> Config:
    data = {
        "mailbox": {"address": "complaints@wallet.example", "maildir": {"path": str(tmp_path / "md")}},
        "storage": {"data_dir": str(tmp_path / "data")},
        "smtp": {"directory": str(tmp_path / "out")},
        "acknowledge": {"per_case_interval": "0s"},
        "staff": {"addresses": [SUPERVISOR], "domains": ["staff.wallet.example"]},
        "trust": {"authserv_id": OURS, "form_relays": [RELAY] if relays is None else relays},
    }
    return build_config(data, base_dir=tmp_path)


def form_mail(
    body: str = "My account is locked and I cannot pay.",
    *,
    reply_to: str | None = f"Amy Lee <{AMY}>",
    relay: str = f"Wallet website <{RELAY}>",
    subject: str = "Contact form: account",
    results: tuple[str, ...] = (),
) -> bytes:
    headers = {"Reply-To": reply_to} if reply_to else {}
    raw = complaint(relay, subject, body, headers=headers)
    return b"".join(f"Authentication-Results: {value}\r\n".encode() for value in results) + raw


def run(config: Config, raw: bytes, *cases: Case) -> Decision:
    known = {case.case_id: case for case in cases}
    view = BatchView(known.get, {}, set(), len(known) + 1, lambda key: {"key": key})
    return process(Incoming(raw, "test", NOW), view, config, TEMPLATES, NOW)


def _text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


# --- the pure rule ---------------------------------------------------------------------


def _is_relay(address: str) -> bool:
    return address in {RELAY, "forms@other.example"}


@pytest.mark.parametrize(
    ("reply_to", "why"),
    [
        (None, "sent no Reply-To"),
        (f"<{RELAY}>", "not a customer's address"),
        ("forms@other.example", "not a customer's address"),
        ("complaints@wallet.example", "not a customer's address"),
    ],
)
def test_a_relay_mail_naming_no_customer_gives_the_reason(reply_to: str | None, why: str) -> None:
    msg = parse_message(form_mail(reply_to=reply_to))
    found = from_form_relay(msg, _is_relay, frozenset({"complaints@wallet.example"}))
    assert isinstance(found, str) and why in found and RELAY in found


CF7_BODY = (
    "From: Amy Lee <amy@example.com>\n"
    "Subject: Account\n\n"
    "Message Body:\n"
    "My account is locked and I cannot pay.\n\n"
    "-- \n"
    f"This e-mail was sent from a contact form on Wallet (Wallet website <{RELAY}>)\n"
)
DRUPAL_BODY = "Name: Wang Xiaoming\nEmail: wang@example.cn\nMessage:\n我的提现三天了还没到账。\n"
CHINESE_BODY = "姓名：王小明\n邮箱：wang@example.cn\n内容：我的提现三天了还没到账。\n"


@pytest.mark.parametrize(
    ("body", "customer", "name", "field"),
    [
        (CF7_BODY, AMY, "Amy Lee", "'From' field"),
        (DRUPAL_BODY, "wang@example.cn", "Wang Xiaoming", "'Email' field"),
        (CHINESE_BODY, "wang@example.cn", "王小明", "'邮箱' field"),
    ],
    ids=["contact-form-7", "drupal", "chinese"],
)
def test_a_relay_without_reply_to_names_the_customer_in_a_form_field(
    body: str, customer: str, name: str, field: str
) -> None:
    msg = parse_message(form_mail(body, reply_to=None))
    found = from_form_relay(msg, _is_relay, frozenset({"complaints@wallet.example"}))
    assert isinstance(found, ParsedMessage)
    assert (found.sender, found.sender_name, found.relayed_by, found.relay_field) == (
        customer,
        name,
        RELAY,
        field,
    )


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            "Email: amy@example.com\nAlt email: bo@example.org\nE-mail: bo@example.org\n",
            "two e-mail addresses",
        ),
        ("Please write to me at amy@example.com, my account is locked.", "names no e-mail field"),
    ],
)
def test_a_relay_mail_whose_fields_name_no_one_customer_gives_the_reason(body: str, why: str) -> None:
    found = from_form_relay(parse_message(form_mail(body, reply_to=None)), _is_relay, frozenset())
    assert isinstance(found, str) and why in found and "sent no Reply-To" in found


def test_a_field_named_customer_is_filed_and_answered_with_the_field_on_record(tmp_path: Path) -> None:
    decision = run(make_config(tmp_path), form_mail(DRUPAL_BODY, reply_to=None))
    assert decision.outcome == "new_case" and decision.case is not None
    assert decision.case.customer == "wang@example.cn"
    (relayed,) = [event for event in decision.case.events if event.kind == "relayed"]
    assert "its 'Email' field, as typed into the form" in relayed.detail
    assert [mail.recipients for mail in decision.outgoing] == [("wang@example.cn",)]


def test_the_customer_of_a_relay_mail_is_its_reply_to_with_its_name() -> None:
    msg = parse_message(form_mail(reply_to="=?utf-8?b?546L5bCP5piO?= <Wang.XM@Example.COM>"))
    found = from_form_relay(msg, _is_relay, frozenset())
    assert not isinstance(found, str) and found is not None
    assert (found.sender, found.sender_name, found.relayed_by) == ("wang.xm@example.com", "王小明", RELAY)
    assert found.new_text == msg.new_text  # nothing else about the mail changes


def test_mail_from_anyone_else_is_left_alone() -> None:
    msg = parse_message(
        complaint(AMY, "Locked", "My account is locked.", headers={"Reply-To": "b@example.com"})
    )
    assert from_form_relay(msg, _is_relay, frozenset()) is None


def test_form_relays_takes_addresses_and_whole_domains_and_names_a_bad_entry(tmp_path: Path) -> None:
    config = make_config(tmp_path, ["No-Reply@Forms.Wallet.example", "@webforms.example"])
    assert config.trust.is_form_relay(RELAY)
    assert config.trust.is_form_relay("anything@webforms.example")
    assert not config.trust.is_form_relay("anything@sub.webforms.example")
    assert not config.trust.is_form_relay("other@forms.wallet.example")
    with pytest.raises(ConfigError, match=r"form_relays: 'forms' is neither an address nor @domain"):
        make_config(tmp_path, ["forms"])


# --- through the intake pipeline ---------------------------------------------------------


def test_a_relayed_complaint_opens_the_customers_case_and_answers_them(tmp_path: Path) -> None:
    decision = run(make_config(tmp_path), form_mail())
    assert decision.outcome == "new_case" and decision.case is not None
    case = decision.case
    assert (case.customer, case.customer_name, case.category) == (AMY, "Amy Lee", "account_locked")
    (ack,) = decision.outgoing
    assert ack.recipients == (AMY,) and "Dear Amy Lee" in _text(ack.raw)
    relayed = [event for event in case.events if event.kind == "relayed"]
    assert len(relayed) == 1 and relayed[0].actor == RELAY and "Reply-To" in relayed[0].detail
    assert decision.message is not None and decision.message.sender == AMY


def test_without_the_setting_a_no_reply_relay_is_still_never_answered(tmp_path: Path) -> None:
    decision = run(make_config(tmp_path, []), form_mail())
    assert decision.outcome == "filed" and decision.case is None and decision.outgoing == ()
    assert decision.skip is not None and decision.skip.reason == "no_reply"


def test_two_customers_through_one_relay_get_two_cases(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    first = run(config, form_mail())
    assert first.case is not None
    second = run(config, form_mail("I was charged twice.", reply_to="bo@example.org"), first.case)
    assert second.outcome == "new_case" and second.case is not None
    assert second.case.customer == "bo@example.org" and second.case.case_id != first.case.case_id


@pytest.mark.parametrize("reply_to", [None, RELAY, "complaints@wallet.example"])
def test_a_relay_mail_naming_no_customer_is_quarantined(tmp_path: Path, reply_to: str | None) -> None:
    decision = run(make_config(tmp_path), form_mail(reply_to=reply_to))
    assert decision.outcome == "quarantined" and decision.quarantine_stage == "form relay"
    assert RELAY in decision.quarantine_reason and decision.blobs  # the raw mail is kept


def test_a_staff_address_typed_into_the_form_is_a_customer(tmp_path: Path) -> None:
    """The relay is ours and our server vouches for it, but the Reply-To is what someone
    typed: "#resolve" from it opens a customer's case and acts on none."""
    passed = f"{OURS}; dkim=pass header.d=forms.wallet.example; dmarc=pass header.from=forms.wallet.example"
    raw = form_mail("#resolve refunded", reply_to=SUPERVISOR, results=(passed,))
    decision = run(make_config(tmp_path), raw)
    assert decision.outcome == "new_case" and decision.case is not None
    assert decision.case.customer == SUPERVISOR
    checked = [event.detail for event in decision.case.events if event.kind == "sender_checked"]
    assert checked == [f"pass: form relay {RELAY}: dmarc=pass header.from=forms.wallet.example"]
    shown = classify_bytes(raw, make_config(tmp_path), NOW)
    assert shown["sender"]["claims_staff"] is False
    assert (shown["sender"]["address"], shown["sender"]["relayed_by"]) == (SUPERVISOR, RELAY)


def test_a_forged_relay_is_flagged_on_the_case(tmp_path: Path) -> None:
    failed = (
        f"{OURS}; spf=fail smtp.mailfrom=forms.wallet.example; dmarc=fail header.from=forms.wallet.example"
    )
    decision = run(make_config(tmp_path), form_mail(results=(failed,)))
    assert decision.case is not None and "forged_sender" in decision.case.flags
    assert decision.case.customer == AMY


# --- end to end: the real Dovecot and SMTP server -----------------------------------------


@pytest.mark.dovecot
def test_form_complaints_over_imap_reach_each_customer(
    dovecot: Any, smtp_server: Any, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, dovecot=dovecot, smtp=smtp_server, overrides={"trust": {"form_relays": [RELAY]}}
    )
    dovecot.append(form_mail())
    dovecot.append(form_mail("我的提现三天了还没到账。", reply_to="wang@example.cn", subject="网站表单"))
    dovecot.append(form_mail("no address was typed", reply_to=None))
    ran = cli(config, "run", "--once")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    received = smtp_server.wait_for(2)
    assert sorted(address for mail in received for address in mail.rcpt_tos) == [AMY, "wang@example.cn"]
    cases = {case["customer"]: case for case in cli_json(config, "cases")}
    assert set(cases) == {AMY, "wang@example.cn"}
    assert cases["wang@example.cn"]["language"] == "zh"
    (held,) = cli_json(config, "quarantine")
    assert "sent no Reply-To" in held["reason"]

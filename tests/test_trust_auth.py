"""Sender authentication: our server's Authentication-Results only, aligned passes,
look-alike domains, the per-action staff policy — through the real pipeline stages."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import complaint

from inbox_agent.config.loader import Config, ConfigError, build_config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.model import Case, CaseStatus, Event
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.classify import classify_bytes
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.process import CLASSIFY, INTAKE, process
from inbox_agent.pipeline.steps import Authenticate, Evidence
from inbox_agent.policies.notified import notifications_to, notified_detail
from inbox_agent.stages.authentication import FAIL, NONE, PASS, aligned, authenticate
from inbox_agent.stages.lookalike import lookalike_of
from inbox_agent.stages.parse import parse_message

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
OURS = "mx.wallet.example"
SUPERVISOR = "supervisor@wallet.example"
CUSTOMER = "amy@example.com"
CASE_ID = "WLT-2026-000001"
NOTIFICATION_ID = "<WLT-2026-000001.escalation.L1.20261120T000000Z.9f3a1c@wallet.example>"


def make_config(tmp_path: Path, **trust: Any) -> Config:
    data = {
        "mailbox": {"address": "complaints@wallet.example", "maildir": {"path": str(tmp_path / "md")}},
        "storage": {"data_dir": str(tmp_path / "data")},
        "smtp": {"directory": str(tmp_path / "out")},
        "acknowledge": {"per_case_interval": "0s"},
        "staff": {"addresses": [SUPERVISOR], "domains": ["staff.wallet.example"]},
        "escalation": {"L1": {"after": "100%", "recipients": ["team@staff.wallet.example"]}},
        "trust": {"authserv_id": OURS, **trust},
    }
    return build_config(data, base_dir=tmp_path)


def mail(
    sender: str, body: str, *ar: str, subject: str = f"Re: [{CASE_ID}] Charged twice", **kw: Any
) -> bytes:
    raw = complaint(sender, subject, body, **kw)
    # Headers our server (and the forger) put on top, topmost first.
    return b"".join(f"Authentication-Results: {value}\r\n".encode() for value in ar) + raw


def the_case(**fields: Any) -> Case:
    at = iso(NOW.replace(hour=0))
    values: dict[str, Any] = {
        "case_id": CASE_ID,
        "seq": 1,
        "customer": CUSTOMER,
        "customer_name": "Amy",
        "subject": "Charged twice",
        "language": "en",
        "category": "wrong_charge",
        "categories": ("wrong_charge",),
        "confidence": 0.9,
        "matched": (),
        "severity": "normal",
        "status": CaseStatus.ESCALATED,
        "created_at": at,
        "updated_at": at,
        "awaiting_since": at,
        "escalation_level": 1,
        "message_ids": ("<amy-1@example.com>",),
        "events": (
            Event(at=at, kind="opened", actor=CUSTOMER),
            Event(
                at=at,
                kind="escalated",
                actor="system",
                detail=f"L1: waiting 25.0h; {notified_detail((SUPERVISOR,), NOTIFICATION_ID)}",
            ),
        ),
    }
    values.update(fields)
    return Case(**values)


def run(config: Config, raw: bytes, case: Case | None = None) -> Decision:
    stored = case or the_case()
    view = BatchView({stored.case_id: stored}.get, {}, set(), 2, lambda key: {"key": key})
    return process(Incoming(raw, "test", NOW), view, config, TEMPLATES, NOW)


def aligned_pass(domain: str = "wallet.example") -> str:
    return f"{OURS}; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}"


def dmarc_fail(domain: str = "wallet.example") -> str:
    return f"{OURS}; spf=fail smtp.mailfrom={domain}; dmarc=fail (p=reject) header.from={domain}"


ALIGNED_PASS, DMARC_FAIL = aligned_pass(), dmarc_fail()


# --- reading Authentication-Results ------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "verdict", "rule_part"),
    [
        ((ALIGNED_PASS,), PASS, "dmarc=pass"),
        ((f"{OURS}; dkim=pass header.d=wallet.example",), PASS, "dkim=pass header.d=wallet.example"),
        ((f"{OURS}; spf=pass smtp.mailfrom=bounce@mail.wallet.example",), NONE, "no aligned pass"),
        (
            (f"{OURS}; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example",),
            NONE,
            "no aligned",
        ),
        ((DMARC_FAIL,), FAIL, "dmarc=fail"),
        ((), NONE, "no Authentication-Results"),
        # A forged pass below ours: only the topmost counts.
        ((DMARC_FAIL, ALIGNED_PASS), FAIL, "dmarc=fail"),
        ((f"{OURS}; none", ALIGNED_PASS), NONE, "no aligned pass"),
        # Someone else's server id (or a look-alike of ours) on top: nothing is read.
        ((ALIGNED_PASS.replace(OURS, "mx.wallet-example.com"),), NONE, "not our server"),
        (("garbage ;;; =",), NONE, "unreadable"),
    ],
)
def test_only_our_topmost_results_count(headers: tuple[str, ...], verdict: str, rule_part: str) -> None:
    msg = parse_message(mail(SUPERVISOR, "hi", *headers), received_at=NOW)
    found = authenticate(msg, (OURS,))
    assert found.verdict == verdict
    assert rule_part in found.rule


def test_without_an_authserv_id_nothing_is_read() -> None:
    msg = parse_message(mail(SUPERVISOR, "hi", ALIGNED_PASS), received_at=NOW)
    assert authenticate(msg, ()).verdict == NONE


@pytest.mark.parametrize(
    ("signer", "from_domain", "expected"),
    [
        ("wallet.example", "wallet.example", True),
        ("wallet.example", "staff.wallet.example", True),
        ("staff.wallet.example", "wallet.example", False),
        ("example", "wallet.example", False),
        ("evilwallet.example", "wallet.example", False),
        ("", "wallet.example", False),
    ],
)
def test_alignment(signer: str, from_domain: str, expected: bool) -> None:
    assert aligned(signer, from_domain) is expected


@pytest.mark.parametrize(
    ("domain", "imitates"),
    [
        ("wa11et.example", "wallet.example"),
        ("wallet-example.com", "wallet.example"),
        ("wаllet.example", "wallet.example"),  # Cyrillic а
        ("xn--wllet-4ve.example", "wallet.example"),  # the same in punycode
        ("staff.wa1let.example", "staff.wallet.example"),
        ("walet.example", "wallet.example"),
        ("wallet.example", None),
        ("staff.wallet.example", None),
        ("gmail.com", None),
        ("example.com", None),
    ],
)
def test_lookalike_domains(domain: str, imitates: str | None) -> None:
    assert lookalike_of(domain, {"wallet.example", "staff.wallet.example"}) == imitates


def test_trust_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, staff_command=["from_line"], authserv_id="not valid!", results_headers=0)
    text = "\n".join(caught.value.problems)
    assert "trust.staff_command: unknown proof 'from_line'" in text
    assert "trust.authserv_id" in text
    assert "trust.results_headers" in text


def test_the_stage_is_part_of_the_tuples_and_of_classify(tmp_path: Path) -> None:
    assert any(isinstance(stage, Authenticate) for stage in CLASSIFY)
    assert INTAKE.index(next(s for s in INTAKE if isinstance(s, Authenticate))) < INTAKE.index(
        next(s for s in INTAKE if isinstance(s, Evidence))
    )
    shown = classify_bytes(mail(SUPERVISOR, "#resolve", DMARC_FAIL), make_config(tmp_path), NOW)
    assert shown["sender"]["verdict"] == FAIL
    assert shown["sender"]["rule"].startswith("dmarc=fail")
    assert shown["sender"]["claims_staff"] is True
    phish = classify_bytes(mail("help@wa11et.example", "verify your account"), make_config(tmp_path), NOW)
    assert phish["sender"]["lookalike_of"] == "wallet.example"
    assert phish["sender"]["claims_staff"] is False


# --- the staff policy, per action --------------------------------------------------------


def _refused(decision: Decision) -> Case:
    """The staff claim was refused: a customer mail from that address on a new case,
    the targeted case changed only by one event, one alert to L1 and nothing to Amy."""
    assert decision.outcome == "new_case"
    assert decision.case is not None and decision.case.customer != CUSTOMER
    assert "unauthenticated_staff_sender" in decision.case.flags
    assert all(CUSTOMER not in mail.recipients for mail in decision.outgoing)
    alerts = [mail for mail in decision.outgoing if mail.kind == "sender_alert"]
    assert [mail.recipients for mail in alerts] == [("team@staff.wallet.example",)]
    (target,) = decision.related
    before = the_case()
    assert target.events[: len(before.events)] == before.events
    assert replace(target, events=before.events, updated_at=before.updated_at) == before
    (event,) = target.events[len(before.events) :]
    assert event.kind == "sender_alert" and "unauthenticated staff-like sender" in event.detail
    return target


@pytest.mark.parametrize(
    "headers",
    [(), (DMARC_FAIL,), (DMARC_FAIL, ALIGNED_PASS), (ALIGNED_PASS.replace(OURS, "mx.attacker.example"),)],
    ids=["no-results", "dmarc-fail", "forged-below-ours", "forged-authserv-id"],
)
def test_forged_staff_commands_and_answers_do_nothing(tmp_path: Path, headers: tuple[str, ...]) -> None:
    config = make_config(tmp_path)
    for body in ("#resolve done", "Please send us your payment password and the SMS code."):
        target = _refused(run(config, mail(SUPERVISOR, body, *headers)))
        assert "accepted proofs: aligned, notification_reply" in target.events[-1].detail


def test_the_alert_to_staff_masks_what_the_forged_mail_quoted(tmp_path: Path) -> None:
    """The L1 alert quotes the refused mail's subject: masked, as every staff-facing text."""
    config = make_config(tmp_path)
    subject = f"Re: [{CASE_ID}] 验证码482913, card 6222 0212 3456 7890 123"
    decision = run(config, mail(SUPERVISOR, "#resolve done", subject=subject))
    _refused(decision)
    (alert,) = [mail for mail in decision.outgoing if mail.kind == "sender_alert"]
    text = email.message_from_bytes(alert.raw, policy=email.policy.default).get_body(("plain",)).get_content()
    assert "Subject:" in text and "[masked]" in text and "[card ****0123]" in text
    assert "482913" not in text and "6222 0212" not in text


def test_a_guessed_notification_id_or_one_sent_to_someone_else_proves_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    guessed = "<WLT-2026-000001.escalation.L1.20261120T000000Z@wallet.example>"
    _refused(run(config, mail(SUPERVISOR, "#resolve", in_reply_to=guessed)))
    # The right id, but from another staff address than the one it was sent to.
    _refused(run(config, mail("other@staff.wallet.example", "#resolve", in_reply_to=NOTIFICATION_ID)))


def test_real_staff_act_with_an_aligned_pass_or_a_reply_to_their_notification(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    by_results = run(config, mail(SUPERVISOR, "#resolve Refunded.", ALIGNED_PASS))
    by_reply = run(config, mail(SUPERVISOR, "#resolve Refunded.", in_reply_to=NOTIFICATION_ID))
    for decision, proof in ((by_results, "aligned"), (by_reply, "notification_reply")):
        assert decision.outcome == "joined"
        assert decision.case is not None and decision.case.status == CaseStatus.RESOLVED
        assert [mail.recipients for mail in decision.outgoing] == [(CUSTOMER,)]
        assert any(e.kind == "sender_checked" and proof in e.detail for e in decision.case.events)
        assert decision.related == ()


def test_per_action_policy_commands_need_results_answers_may_use_a_reply(tmp_path: Path) -> None:
    config = make_config(tmp_path, staff_command=["aligned"], staff_answer=["aligned", "notification_reply"])
    _refused(run(config, mail(SUPERVISOR, "#resolve", in_reply_to=NOTIFICATION_ID)))
    answer = run(config, mail(SUPERVISOR, "We refunded you today.", in_reply_to=NOTIFICATION_ID))
    assert answer.outcome == "joined" and [m.kind for m in answer.outgoing] == ["staff_reply"]


def test_dmarc_fail_for_the_customer_never_joins_their_case(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    forged = run(
        config,
        mail(CUSTOMER, "Please close my case.", dmarc_fail("example.com")),
    )
    assert forged.outcome == "new_case"
    assert forged.case is not None and forged.case.case_id != CASE_ID
    assert "forged_sender" in forged.case.flags
    genuine = run(config, mail(CUSTOMER, "Any news?", aligned_pass("example.com")))
    assert genuine.outcome == "joined" and genuine.case is not None and genuine.case.case_id == CASE_ID


def test_lookalike_sender_is_flagged_and_never_staff(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    decision = run(config, mail("supervisor@wa11et.example", "#resolve", aligned_pass("wa11et.example")))
    assert decision.outcome == "new_case"
    assert decision.case is not None and "likely_phishing" in decision.case.flags
    assert any("imitates wallet.example" in e.detail for e in decision.case.events)
    assert decision.related == ()


def test_notifications_to_reads_only_the_address_it_was_sent_to() -> None:
    case = the_case()
    assert notifications_to(case, SUPERVISOR.upper()) == {NOTIFICATION_ID}
    assert notifications_to(case, "team@staff.wallet.example") == frozenset()

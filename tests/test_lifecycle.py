"""Regression tests for the case-lifecycle holes of issue 11: a reopen starts a new wait
from L1 and is acknowledged, an out-of-office is never "the last customer message",
levels never fire together because of their configuration, a dry run says "would",
and every level states the same limit."""

from __future__ import annotations

import argparse
import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers import complaint

from inbox_agent.config.loader import Config, build_config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.process import process
from inbox_agent.policies.escalation import (
    due_levels,
    last_customer_message,
    level_deadlines,
    notification_mail,
    sweep_case,
)
from inbox_agent.services.sweep import SweepReport
from inbox_agent.views.timeline import excerpt

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CUSTOMER = "amy@example.com"
# The levels of config.example.toml: on a 1 h security case "+8h" (9 h) comes after
# "300%" (3 h), so both used to be due at 9 h.
EXAMPLE_LEVELS = {
    "L1": {"after": "100%", "recipients": ["team@wallet.example"]},
    "L2": {"after": "+8h", "recipients": ["supervisor@wallet.example"]},
    "L3": {"after": "300%", "recipients": ["officer@wallet.example"]},
}


def make_config(tmp_path: Path, **acknowledge: Any) -> Config:
    data = {
        "mailbox": {"address": "complaints@wallet.example", "maildir": {"path": str(tmp_path / "md")}},
        "storage": {"data_dir": str(tmp_path / "data")},
        "smtp": {"directory": str(tmp_path / "out")},
        "acknowledge": {"per_case_interval": "10m", **acknowledge},
        "sla": {"category": {"security": "1h"}},
        "escalation": EXAMPLE_LEVELS,
    }
    return build_config(data, base_dir=tmp_path)


def resolved_case(**fields: Any) -> Case:
    at = iso(NOW - timedelta(days=2))
    values: dict[str, Any] = {
        "case_id": "WLT-2026-000001",
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
        "status": CaseStatus.RESOLVED,
        "created_at": at,
        "updated_at": at,
        "escalation_level": 2,
        # The resolution mail went out a minute ago: inside the per-case interval.
        "last_ack_at": iso(NOW - timedelta(minutes=1)),
        "acks_sent": 1,
        "events": (Event(at=at, kind="opened", actor=CUSTOMER),),
    }
    values.update(fields)
    return Case(**values)


def customer_writes_again(config: Config, case: Case) -> Decision:
    raw = complaint(CUSTOMER, f"Re: [{case.case_id}] Charged twice", "The refund never came.")
    view = BatchView({case.case_id: case}.get, {}, set(), 2, lambda key: {"key": key})
    return process(Incoming(raw, "test", NOW), view, config, TEMPLATES, NOW)


def test_a_reopen_starts_a_new_wait_from_l1(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    decision = customer_writes_again(config, resolved_case())
    case = decision.case
    assert case is not None
    assert "reopened" in [event.kind for event in case.events]
    assert case.escalation_level == 0
    assert case.status != CaseStatus.ESCALATED
    assert case.awaiting_since == iso(NOW)
    # L1 fires for the new wait at its limit, and only L1.
    due = due_levels(case, config, NOW + timedelta(hours=24))
    assert [deadline.level.name for deadline in due] == ["L1"]


def test_a_reopen_is_acknowledged_even_inside_the_per_case_interval(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    decision = customer_writes_again(config, resolved_case())
    assert decision.skip is None
    assert [mail.recipients for mail in decision.outgoing] == [(CUSTOMER,)]
    # An ordinary follow-up inside the interval is still held back.
    open_case = resolved_case(status=CaseStatus.WAITING_STAFF, awaiting_since=iso(NOW))
    held = customer_writes_again(config, open_case)
    assert held.skip is not None and held.skip.reason == "case_rate_limit"


def _message(sender: str, text: str, minutes: int, skip: str = "") -> MessageRecord:
    at = iso(NOW + timedelta(minutes=minutes))
    return MessageRecord(
        key=f"k{minutes}",
        case_id="WLT-2026-000001",
        direction="in",
        message_id=f"<m{minutes}@example.com>",
        raw_sha256="0" * 64,
        sender=sender,
        subject="Charged twice",
        date=at,
        received_at=at,
        source="test",
        text=text,
        skip=skip,
    )


def test_the_last_customer_message_skips_auto_replies() -> None:
    case = resolved_case(status=CaseStatus.WAITING_STAFF)
    real = _message(CUSTOMER, "I was charged twice.", 0)
    out_of_office = _message(CUSTOMER, "I am out of the office until Monday.", 30, skip="auto_reply")
    staff = _message("agent@staff.wallet.example", "#note called her", 40, skip="staff")
    messages = [real, out_of_office, staff]
    assert last_customer_message(case, messages) == real
    assert excerpt(messages) == "I was charged twice."


def test_l2_and_l3_of_a_security_case_never_fire_in_one_sweep(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    opened = NOW
    case = resolved_case(
        category="security", status=CaseStatus.WAITING_STAFF, escalation_level=0, awaiting_since=iso(opened)
    )
    due = {deadline.level.name: deadline.due - opened for deadline in level_deadlines(case, config)}
    assert due == {"L1": timedelta(hours=1), "L2": timedelta(hours=9), "L3": timedelta(hours=10)}
    after_l1 = resolved_case(
        category="security", status=CaseStatus.ESCALATED, escalation_level=1, awaiting_since=iso(opened)
    )
    at_l2 = sweep_case(after_l1, config, TEMPLATES, opened + timedelta(hours=9), None)
    assert at_l2 is not None and [fired.level for fired in at_l2.fired] == ["L2"]


def test_every_level_states_the_same_limit(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    case = resolved_case(
        category="security", status=CaseStatus.ESCALATED, escalation_level=0, awaiting_since=iso(NOW)
    )
    limits = set()
    for deadline in level_deadlines(case, config):
        mail = notification_mail(case, deadline, config, TEMPLATES, deadline.due, None)
        text = (
            email.message_from_bytes(mail.raw, policy=email.policy.default).get_body(("plain",)).get_content()
        )
        limits.add(text.split("(limit ", 1)[1].split(")", 1)[0])
    assert len(limits) == 1, limits


def test_escalate_dry_run_output_says_would(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    from inbox_agent.entrypoints import cli_escalate

    fired = sweep_case(
        resolved_case(status=CaseStatus.WAITING_STAFF, escalation_level=0, awaiting_since=iso(NOW)),
        make_config(tmp_path),
        TEMPLATES,
        NOW + timedelta(days=1, minutes=1),
        None,
    )
    assert fired is not None
    report = SweepReport(fired=fired.fired, flagged=(), queued=1, examined=1, dry_run=True)
    monkeypatch.setattr(cli_escalate, "open_store", lambda _config: None)
    monkeypatch.setattr(cli_escalate, "run_sweep", lambda *args, **kwargs: report)
    args = argparse.Namespace(now=iso(NOW + timedelta(days=1, minutes=1)), dry_run=True)
    assert cli_escalate.cmd_escalate(args, make_config(tmp_path)) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "dry run: escalation sweep" in out and "would escalate 1" in out
    assert "notifications queued" not in out and "sends queued mail" not in out

"""The escalation sweep: levels fire once each, on time, durably; staff get masked notifications."""

from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import cli, complaint, write_config

from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.loader import Config, build_config, load_config
from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord
from inbox_agent.entrypoints.cli_escalate import cmd_escalate
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.escalation import OUTSIDE_WINDOW_FLAG, due_levels, sweep_case
from inbox_agent.services.ports import Changes
from inbox_agent.services.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = TemplateSet(ROOT / "inbox_agent" / "mail" / "templates")
OPENED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # a Friday
LEVELS = {
    "L1": {"after": "100%", "recipients": ["team@wallet.example"]},
    "L2": {"after": "200%", "recipients": ["supervisor@wallet.example"]},
    "L3": {"after": "300%", "recipients": ["officer@wallet.example", "legal@wallet.example"]},
}


def make_config(tmp_path: Path, *, sla: dict[str, Any] | None = None) -> Config:
    data = {
        "mailbox": {"address": "complaints@wallet.example", "maildir": {"path": str(tmp_path / "maildir")}},
        "storage": {"data_dir": str(tmp_path / "data")},
        "smtp": {"directory": str(tmp_path / "outbox")},
        "templates": {"dir": str(ROOT / "inbox_agent" / "mail" / "templates")},
        "sla": {"default": "24h", "timezone": "Asia/Shanghai", **(sla or {})},
        "escalation": LEVELS,
    }
    return build_config(data, base_dir=tmp_path)


def make_case(
    seq: int = 1, *, category: str = "wrong_charge", opened: datetime = OPENED, **fields: Any
) -> Case:
    at = iso(opened)
    values: dict[str, Any] = {
        "case_id": f"WLT-2026-{seq:06d}",
        "seq": seq,
        "customer": f"customer{seq}@example.com",
        "customer_name": "Alex Morgan",
        "subject": "Charged twice",
        "language": "en",
        "category": category,
        "categories": (category,),
        "confidence": 0.9,
        "matched": (),
        "severity": "normal",
        "status": CaseStatus.WAITING_STAFF,
        "created_at": at,
        "updated_at": at,
        "evidence": (("amount", "128.00"), ("transaction_date", "2026-11-19")),
        "missing": ("transaction_id",),
        "awaiting_since": at,
        "events": (Event(at=at, kind="opened", actor="customer"),),
    }
    values.update(fields)
    return Case(**values)


def customer_message(case: Case, text: str) -> MessageRecord:
    return MessageRecord(
        key=f"<m{case.seq}@example.com>|x",
        case_id=case.case_id,
        direction="in",
        message_id=f"<m{case.seq}@example.com>",
        raw_sha256="0" * 64,
        sender=case.customer,
        subject="Charged twice",
        date=case.created_at,
        received_at=case.created_at,
        source="maildir:x",
        text=text,
    )


def open_store(config: Config) -> Store:
    return Store(config.storage.data_dir)


def store_cases(config: Config, *cases: Case, messages: tuple[MessageRecord, ...] = ()) -> None:
    changes = Changes()
    for case in cases:
        changes.put_case(case)
    changes.messages.extend(messages)
    open_store(config).commit(changes)


def notification(store: Store, outbox_entry: dict[str, Any]) -> email.message.EmailMessage:
    raw = store.get_blob(outbox_entry["raw_sha256"])
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def body_text(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


# --- when levels fire --------------------------------------------------------------------


def test_first_level_fires_exactly_at_the_threshold_not_a_second_before(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    case = make_case()
    threshold = OPENED + timedelta(hours=24)

    assert due_levels(case, config, threshold - timedelta(seconds=1)) == []
    assert sweep_case(case, config, TEMPLATES, threshold - timedelta(seconds=1), None) is None

    decision = sweep_case(case, config, TEMPLATES, threshold, None)
    assert decision is not None
    assert [fired.level for fired in decision.fired] == ["L1"]
    assert decision.case.escalation_level == 1
    assert decision.case.status == CaseStatus.ESCALATED
    assert decision.case.events[-1].kind == "escalated"
    assert decision.case.events[-1].detail.startswith("L1: ")
    (mail,) = decision.mails
    assert mail.recipients == ("team@wallet.example",)
    assert mail.kind == "staff_notify"


def test_business_hours_friday_case_escalates_monday_afternoon(tmp_path: Path) -> None:
    config = make_config(tmp_path, sla={"business_hours": True, "category": {"wrong_charge": "8h"}})
    friday_5pm_shanghai = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    case = make_case(opened=friday_5pm_shanghai)
    monday_4pm_shanghai = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    assert due_levels(case, config, monday_4pm_shanghai - timedelta(seconds=1)) == []
    (due,) = due_levels(case, config, monday_4pm_shanghai)
    assert due.level.name == "L1"
    assert due.due == monday_4pm_shanghai


def test_security_ignores_business_hours(tmp_path: Path) -> None:
    config = make_config(tmp_path, sla={"business_hours": True, "holidays": ["2026-11-21"]})
    saturday_3am_shanghai = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    case = make_case(category="security", severity="urgent", opened=saturday_3am_shanghai)

    due = due_levels(case, config, saturday_3am_shanghai + timedelta(hours=3))

    assert [(d.level.name, d.due) for d in due] == [
        ("L1", saturday_3am_shanghai + timedelta(hours=1)),
        ("L2", saturday_3am_shanghai + timedelta(hours=2)),
        ("L3", saturday_3am_shanghai + timedelta(hours=3)),
    ]


def test_deadline_across_the_dst_change_fires_at_the_right_utc_instant(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        sla={"timezone": "Europe/Berlin", "business_hours": True, "category": {"wrong_charge": "8h"}},
    )
    friday_5pm_cest = datetime(2026, 10, 23, 15, 0, tzinfo=UTC)
    case = make_case(opened=friday_5pm_cest)
    monday_4pm_cet = datetime(2026, 10, 26, 15, 0, tzinfo=UTC)
    store_cases(config, case)

    early = run_sweep(config, open_store(config), TEMPLATES, monday_4pm_cet - timedelta(seconds=1))
    on_time = run_sweep(config, open_store(config), TEMPLATES, monday_4pm_cet)

    assert early.fired == ()
    assert [(f.case_id, f.level, f.due) for f in on_time.fired] == [(case.case_id, "L1", monday_4pm_cet)]


def test_resolved_or_answered_cases_never_escalate(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    resolved = make_case(1, status=CaseStatus.RESOLVED)
    answered = make_case(2, status=CaseStatus.WAITING_CUSTOMER, awaiting_since="")
    store_cases(config, resolved, answered)
    years_later = OPENED + timedelta(days=1000)

    assert due_levels(resolved, config, years_later) == []
    assert due_levels(answered, config, years_later) == []
    report = run_sweep(config, open_store(config), TEMPLATES, years_later)

    assert report.fired == ()
    assert open_store(config).outbox_entries() == []
    assert open_store(config).get_case(answered.case_id) == answered


def test_outage_of_three_days_fires_each_level_once_and_a_restart_adds_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    cases = [make_case(seq, opened=OPENED + timedelta(minutes=seq)) for seq in (1, 2, 3)]
    store_cases(config, *cases)
    after_outage = OPENED + timedelta(days=3, hours=1)

    first = run_sweep(config, open_store(config), TEMPLATES, after_outage)

    assert sorted((f.case_id, f.level) for f in first.fired) == sorted(
        (case.case_id, level) for case in cases for level in ("L1", "L2", "L3")
    )
    assert first.queued == 9
    store = open_store(config)
    entries = store.outbox_entries()
    assert len(entries) == 9
    assert len({entry["outbox_id"] for entry in entries}) == 9
    for case in cases:
        stored = store.get_case(case.case_id)
        assert stored is not None
        assert stored.escalation_level == 3
        assert stored.status == CaseStatus.ESCALATED
        assert [e.detail[:2] for e in stored.events if e.kind == "escalated"] == ["L1", "L2", "L3"]
    by_level = {
        entry["outbox_id"].split(".")[2]: entry for entry in entries if entry["case_id"] == "WLT-2026-000001"
    }
    assert by_level["L3"]["recipients"] == ["officer@wallet.example", "legal@wallet.example"]

    # A restart (a new Store object) and more sweeps, now and later: nothing more.
    for later in (after_outage, after_outage + timedelta(minutes=1), after_outage + timedelta(days=30)):
        again = run_sweep(config, open_store(config), TEMPLATES, later)
        assert again.fired == ()
        assert again.queued == 0
    assert len(open_store(config).outbox_entries()) == 9


def test_sweep_between_levels_fires_only_the_next_one(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store_cases(config, make_case())

    reports = [
        run_sweep(config, open_store(config), TEMPLATES, OPENED + timedelta(hours=hours))
        for hours in (23, 25, 30, 49, 49, 73, 100)
    ]

    assert [[f.level for f in report.fired] for report in reports] == [[], ["L1"], [], ["L2"], [], ["L3"], []]


def test_a_new_wait_after_a_staff_answer_escalates_again_with_new_mails(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    case = make_case()
    first = sweep_case(case, config, TEMPLATES, OPENED + timedelta(hours=25), None)
    assert first is not None
    # Staff answered (the clock stops, the level resets); the customer writes again two days later.
    rewritten = OPENED + timedelta(days=2)
    waiting_again = replace(first.case, escalation_level=0, awaiting_since=iso(rewritten))

    second = sweep_case(waiting_again, config, TEMPLATES, rewritten + timedelta(hours=24), None)

    assert second is not None
    assert [f.level for f in second.fired] == ["L1"]
    assert second.mails[0].outbox_id != first.mails[0].outbox_id


# --- the notification --------------------------------------------------------------------


def test_notification_masks_the_card_number_and_tells_staff_how_to_act(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    case = make_case()
    card = "4111 1111 1111 1111"
    message = customer_message(case, f"You charged my card {card} twice. Call me on 13812345678.")
    store_cases(config, case, messages=(message,))

    run_sweep(config, open_store(config), TEMPLATES, OPENED + timedelta(hours=24))

    store = open_store(config)
    (entry,) = store.outbox_entries()
    raw = store.get_blob(entry["raw_sha256"])
    sent = notification(store, entry)
    text = body_text(sent)
    html = sent.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    for content in (raw.decode("ascii"), text, html):
        assert card not in content
        assert card.replace(" ", "") not in content
        assert "13812345678" not in content
    assert "[card ****1111]" in text
    assert "[card ****1111]" in html
    assert sent["To"] == "team@wallet.example"
    assert sent["Reply-To"] == "complaints@wallet.example"
    assert sent["Subject"].startswith(f"[{case.case_id}] L1 escalation")
    assert "waited 24 hours (limit 24 hours)" in text
    assert "Transaction ID" in text.split("Evidence still missing:")[1]
    assert "Reply to this mail" in text


def test_notification_masks_a_phone_number_used_as_address_or_name(tmp_path: Path) -> None:
    """Mainland customers often write from 13812345678@163.com, with their number as the
    display name: the notification masks both, as the page does."""
    config = make_config(tmp_path)
    case = make_case(customer="13812345678@163.com", customer_name="13900001111")
    store_cases(config, case, messages=(customer_message(case, "Charged twice."),))

    run_sweep(config, open_store(config), TEMPLATES, OPENED + timedelta(hours=24))

    store = open_store(config)
    (entry,) = store.outbox_entries()
    sent = notification(store, entry)
    html = sent.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    for content in (body_text(sent), html):
        assert "13812345678" not in content and "13900001111" not in content
        assert "[phone ***5678]@163.com" in content and "[phone ***1111]" in content


def test_several_recipients_of_a_level_are_all_addressed(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    decision = sweep_case(make_case(), config, TEMPLATES, OPENED + timedelta(days=4), None)
    assert decision is not None

    l3 = decision.mails[-1]
    parsed = email.message_from_bytes(l3.raw, policy=email.policy.default)

    assert l3.recipients == ("officer@wallet.example", "legal@wallet.example")
    assert parsed["To"] == "officer@wallet.example, legal@wallet.example"


def test_an_old_incident_is_flagged_and_the_notification_says_so(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    old = make_case(1, evidence=(("transaction_date", "2026-08-01"),))
    recent = make_case(2, evidence=(("transaction_date", "2026-10-01"),))
    store_cases(config, old, recent)

    # The flag needs no deadline: an hour after opening the old case is flagged already.
    early = run_sweep(config, open_store(config), TEMPLATES, OPENED + timedelta(hours=1))
    assert early.flagged == (old.case_id,)
    assert early.fired == ()
    store = open_store(config)
    assert OUTSIDE_WINDOW_FLAG in store.get_case(old.case_id).flags  # type: ignore[union-attr]
    assert OUTSIDE_WINDOW_FLAG not in store.get_case(recent.case_id).flags  # type: ignore[union-attr]

    later = run_sweep(config, open_store(config), TEMPLATES, OPENED + timedelta(hours=24))
    assert later.flagged == ()
    store = open_store(config)
    texts = {entry["case_id"]: (notification(store, entry)) for entry in store.outbox_entries()}
    assert "complaint window" in body_text(texts[old.case_id])
    assert "outside complaint window" in texts[old.case_id]["Subject"]
    assert "complaint window" not in body_text(texts[recent.case_id])


def test_cmd_escalate_prints_what_it_escalated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    config = make_config(tmp_path)
    store_cases(config, make_case())

    code = cmd_escalate(argparse.Namespace(now=iso(OPENED + timedelta(hours=25)), dry_run=False), config)

    out = capsys.readouterr().out
    assert code == 0
    assert "WLT-2026-000001" in out
    assert "L1" in out
    assert "team@wallet.example" in out
    assert "1 escalations; 1 notifications queued" in out
    assert code == cmd_escalate(
        argparse.Namespace(now=iso(OPENED + timedelta(hours=25)), dry_run=False), config
    )
    assert "0 escalations; 0 notifications queued" in capsys.readouterr().out


# --- end to end: Maildir in, real SMTP out -----------------------------------------------


def escalate_at(config_path: Path, moment: datetime) -> int:
    return cmd_escalate(argparse.Namespace(now=iso(moment), dry_run=False), load_config(config_path))


def test_complaint_ack_then_l1_then_l2_then_nothing_more(smtp_server: Any, tmp_path: Path) -> None:
    maildir = mailbox.Maildir(tmp_path / "maildir", create=True)
    maildir.add(
        complaint(
            "emma@example.com",
            "Charged twice",
            "You charged my card 4111 1111 1111 1111 twice for 128.00 yesterday. Please refund.",
        )
    )
    config_path = write_config(tmp_path, smtp=smtp_server, overrides={"escalation": {}})
    config_path.write_text(
        config_path.read_text()
        + '\n[escalation.L1]\nrecipients = ["team@staff.wallet.example"]\n'
        + '\n[escalation.L2]\nafter = "+24h"\nrecipients = ["supervisor@staff.wallet.example"]\n'
    )

    ran = cli(config_path, "run", "--once")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    (ack,) = smtp_server.wait_for(1)
    assert list(ack.rcpt_tos) == ["emma@example.com"]
    store = Store(tmp_path / "data")
    (case,) = list(store.iter_cases())
    started = parse_iso(case.awaiting_since)

    def sweep_and_send(moment: datetime) -> None:
        assert escalate_at(config_path, moment) == 0
        sent = cli(config_path, "run", "--once")
        assert sent.returncode == 0, sent.stderr + sent.stdout

    smtp_server.clear()
    sweep_and_send(started + timedelta(hours=25))
    (l1,) = smtp_server.wait_for(1)
    assert list(l1.rcpt_tos) == ["team@staff.wallet.example"]
    l1_mail = email.message_from_bytes(l1.raw, policy=email.policy.default)
    assert l1_mail["Subject"].startswith(f"[{case.case_id}] L1 escalation")
    assert "4111 1111 1111 1111" not in body_text(l1_mail)
    assert "[card ****1111]" in body_text(l1_mail)

    smtp_server.clear()
    sweep_and_send(started + timedelta(hours=49))
    (l2,) = smtp_server.wait_for(1)
    assert list(l2.rcpt_tos) == ["supervisor@staff.wallet.example"]

    smtp_server.clear()
    sweep_and_send(started + timedelta(hours=49))
    sweep_and_send(started + timedelta(days=30))
    assert smtp_server.received == []
    stored = Store(tmp_path / "data").get_case(case.case_id)
    assert stored is not None
    assert stored.escalation_level == 2
    assert stored.status == CaseStatus.ESCALATED

"""Regulatory clocks on real cases, against the in-memory store: a jurisdiction is set
when the case opens, the holding reply goes out once at the holding point, a deadline
about to be missed escalates ahead of the internal ladder, the resolution names the
configured next steps (and none when none are configured), the acknowledgement tells
about the complaint window, and the export shows met and missed clocks."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeMailbox, FakeStore
from helpers import cli, complaint, write_config

from inbox_agent.config.loader import Config, ConfigError, load_config
from inbox_agent.domain.clock import FixedClock
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.regulatory import case_clocks
from inbox_agent.services.export import export_cases
from inbox_agent.services.intake import Intake
from inbox_agent.services.staff_actions import StaffAction, act_on_case
from inbox_agent.services.sweep import run_sweep

TEMPLATES = TemplateSet()
# Tue 1 Dec 2026, 10:00 in Frankfurt: no TARGET holiday before Christmas.
RECEIVED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NEXT_STEPS = (
    '\n[[regulatory.jurisdiction.PSD2.next_step]]\nkind = "internal"\n'
    'name_en = "Our complaints review panel"\nname_zh = "投诉复核组"\ncontact = "review@wallet.example"\n'
    '\n[[regulatory.jurisdiction.PSD2.next_step]]\nkind = "regulator"\n'
    'name_en = "The payments ombudsman"\nname_zh = "支付调解机构"\ncontact = "+49 30 0000 0000"\n'
)


def make_config(tmp_path: Path, extra: str = NEXT_STEPS, **regulatory: Any) -> Config:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_config(
        tmp_path,
        overrides={
            "regulatory": {"default": "PSD2", **regulatory},
            "escalation.L1": {"recipients": ["team@staff.wallet.example"]},
            "mailbox": {"silent_older_than": "400d"},
        },
    )
    path.write_text(path.read_text() + extra)
    return load_config(path)


def file_complaint(
    config: Config, store: FakeStore, body: str, sender: str = "eva@kunde.example", at: datetime = RECEIVED
) -> str:
    return file_complaints(config, store, [(sender, body)], at)[0]


def file_complaints(
    config: Config, store: FakeStore, mails: list[tuple[str, str]], at: datetime = RECEIVED
) -> list[str]:
    raw = [complaint(sender, "Payment not received", body, date=at) for sender, body in mails]
    Intake(config, store, FakeMailbox(raw), TEMPLATES, FixedClock(at)).poll()  # type: ignore[arg-type]
    return [next(c.case_id for c in store.cases.values() if c.customer == sender) for sender, _ in mails]


def outbox_text(store: FakeStore, kind: str, outbox_id_end: str = "") -> list[str]:
    texts = []
    for entry in store.outbox_entries():
        if entry["kind"] == kind and entry["outbox_id"].endswith(outbox_id_end):
            message = email.message_from_bytes(
                store.get_blob(entry["raw_sha256"]), policy=email.policy.default
            )
            texts.append(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    return texts


def deadline(config: Config, store: FakeStore, case_id: str, clock: str) -> datetime:
    state = case_clocks(store.cases[case_id], config, RECEIVED).state(clock)
    assert state is not None
    return state.deadline


def test_a_case_gets_the_default_jurisdiction_and_its_deadlines_on_record(tmp_path: Path) -> None:
    config, store = make_config(tmp_path), FakeStore()
    case_id = file_complaint(config, store, "My transfer of 50 EUR on 2026-11-30 never arrived.")
    case = store.cases[case_id]
    assert case.jurisdiction == "PSD2"
    recorded = next(event for event in case.events if event.kind == "jurisdiction")
    # 15 business days after Tue 1 Dec: 2-4, 7-11, 14-18, 21, 22 -> Tue 22 Dec 18:00 CET.
    assert "substantive 2026-12-22T17:00:00+00:00 (15 business days)" in recorded.detail


def test_rules_pick_the_jurisdiction_by_domain_or_language(tmp_path: Path) -> None:
    extra = (
        '\n[[regulatory.rule]]\ndomain = "bank.ae"\njurisdiction = "CBUAE"\n'
        '\n[[regulatory.rule]]\nlanguage = "zh"\njurisdiction = "CN-PBoC"\n'
    )
    config = make_config(tmp_path, extra=extra)
    assert config.regulatory.jurisdiction_for("omar@bank.ae", (), "en") == "CBUAE"
    assert config.regulatory.jurisdiction_for("li@qq.example", (), "zh") == "CN-PBoC"
    assert config.regulatory.jurisdiction_for("eva@kunde.example", (), "en") == "PSD2"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ('\n[regulatory.jurisdiction.PSD2]\nsubstantive = "15 working days"\n', "N business days"),
        ('\n[[regulatory.rule]]\njurisdiction = "NOPE"\nlanguage = "zh"\n', "unknown jurisdiction 'NOPE'"),
        ('\n[regulatory.calendar.ecb]\nsource = "holidays:XX"\n', "unknown holiday source"),
        ('\n[regulatory.calendar.cn]\nhours = ["13:30-18:00", "09:00-12:00"]\n', "in order"),
        ('\n[[regulatory.jurisdiction.PSD2.next_step]]\nname_en = "Somebody"\n', "needs a name"),
    ],
)
def test_bad_regulatory_config_is_refused_with_its_key(tmp_path: Path, extra: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, extra=extra)
    assert any(words in problem for problem in caught.value.problems), caught.value.problems


def test_holding_reply_goes_out_once_at_the_holding_point_with_the_new_date(tmp_path: Path) -> None:
    config, store = make_config(tmp_path), FakeStore()
    case_id = file_complaint(config, store, "My transfer of 50 EUR on 2026-11-30 never arrived.")
    holding = deadline(config, store, case_id, "holding")
    run_sweep(config, store, TEMPLATES, holding - timedelta(seconds=1))
    assert outbox_text(store, "holding_reply") == []
    report = run_sweep(config, store, TEMPLATES, holding + timedelta(minutes=1))
    assert report.holding_replies == (case_id,)
    (text,) = outbox_text(store, "holding_reply")
    # 35 business days: Dec 2-4, 7-11, 14-18, 21-24, 28-31 (21; 25 Dec off), Jan 4-8, 11-15, 18-21
    # (1 Jan off) -> Thu 21 Jan 2027.
    assert "2027-01-21" in text and case_id in text
    assert "review@wallet.example" in text and "+49 30 0000 0000" in text
    run_sweep(config, store, TEMPLATES, holding + timedelta(days=1))
    assert len(outbox_text(store, "holding_reply")) == 1, "sent once"
    states = {s.clock: s.state for s in case_clocks(store.cases[case_id], config, holding).states}
    assert states["holding"] == "met" and states["substantive"] == "met"


def test_no_holding_reply_for_a_resolved_case_or_when_switched_off(tmp_path: Path) -> None:
    config, store = make_config(tmp_path, holding_reply=False), FakeStore()
    case_id = file_complaint(config, store, "My transfer of 50 EUR never arrived.")
    run_sweep(config, store, TEMPLATES, deadline(config, store, case_id, "holding") + timedelta(hours=1))
    assert outbox_text(store, "holding_reply") == []
    config = make_config(tmp_path / "on")
    store = FakeStore()
    case_id = file_complaint(config, store, "My transfer of 50 EUR never arrived.")
    act_on_case(store, config, TEMPLATES, case_id, StaffAction("resolve", "li", "found it"), RECEIVED)
    run_sweep(config, store, TEMPLATES, deadline(config, store, case_id, "holding") + timedelta(hours=1))
    assert outbox_text(store, "holding_reply") == []


def test_a_deadline_about_to_be_missed_escalates_ahead_of_the_ladder_once(tmp_path: Path) -> None:
    config, store = make_config(tmp_path, escalate_before="3d", holding_reply=False), FakeStore()
    case_id = file_complaint(config, store, "My transfer of 50 EUR never arrived.")
    # A staff reply stops the internal clock: no internal level will ever fire.
    act_on_case(store, config, TEMPLATES, case_id, StaffAction("reply", "li", "looking into it"), RECEIVED)
    final = deadline(config, store, case_id, "final")
    run_sweep(config, store, TEMPLATES, final - timedelta(days=3, seconds=1))
    assert not any(e["outbox_id"].endswith(".deadline.final") for e in store.outbox_entries())
    report = run_sweep(config, store, TEMPLATES, final - timedelta(days=2))
    assert report.deadline_escalations == (f"{case_id} final",)
    (entry,) = [e for e in store.outbox_entries() if e["outbox_id"].endswith(".deadline.final")]
    assert entry["recipients"] == ["team@staff.wallet.example"]
    (text,) = outbox_text(store, "staff_notify", ".deadline.final")
    assert "Regulatory deadline ahead" in text and "PSD2" in text
    assert run_sweep(config, store, TEMPLATES, final - timedelta(days=1)).deadline_escalations == ()


def test_resolution_names_the_configured_next_steps_and_none_when_unconfigured(tmp_path: Path) -> None:
    config, store = make_config(tmp_path), FakeStore()
    case_id = file_complaint(config, store, "My transfer of 50 EUR never arrived.")
    act_on_case(store, config, TEMPLATES, case_id, StaffAction("resolve", "li", "refunded"), RECEIVED)
    (text,) = outbox_text(store, "resolution")
    assert "Our complaints review panel: review@wallet.example" in text
    assert "The payments ombudsman: +49 30 0000 0000" in text
    bare, store = make_config(tmp_path / "bare", extra=""), FakeStore()
    case_id = file_complaint(bare, store, "My transfer of 50 EUR never arrived.")
    act_on_case(store, bare, TEMPLATES, case_id, StaffAction("resolve", "li", "refunded"), RECEIVED)
    (text,) = outbox_text(store, "resolution")
    assert "not satisfied" not in text  # nothing invented


def test_an_old_incident_is_told_once_in_the_acknowledgement_and_flagged(tmp_path: Path) -> None:
    config, store = make_config(tmp_path), FakeStore()
    case_id = file_complaint(config, store, "My transfer of 50 EUR on 2026-08-03 never arrived.")
    (ack,) = outbox_text(store, "ack_first")
    assert "2026-08-03" in ack and "60 days" in ack and "statutory time limits may be longer" in ack
    case = store.cases[case_id]
    assert "outside_complaint_window" in case.flags
    assert [e.kind for e in case.events].count("window_told") == 1
    recent, store = make_config(tmp_path / "recent"), FakeStore()
    file_complaint(recent, store, "My transfer of 50 EUR on 2026-11-28 never arrived.")
    (ack,) = outbox_text(store, "ack_first")
    assert "service agreement" not in ack


def test_export_shows_a_missed_final_deadline_as_missed(tmp_path: Path) -> None:
    config, store = make_config(tmp_path, holding_reply=False), FakeStore()
    late, quick = file_complaints(
        config,
        store,
        [
            ("late@kunde.example", "My transfer of 50 EUR never arrived."),
            ("quick@kunde.example", "My transfer of 60 EUR never arrived."),
        ],
    )
    final = deadline(config, store, late, "final")
    act_on_case(
        store, config, TEMPLATES, quick, StaffAction("resolve", "li", "done"), RECEIVED + timedelta(days=2)
    )
    act_on_case(
        store, config, TEMPLATES, late, StaffAction("resolve", "li", "done"), final + timedelta(hours=1)
    )
    report = export_cases(store, config, RECEIVED.date(), RECEIVED.date(), "", final + timedelta(days=1))
    rows = {row["case"]: row for row in report.rows}
    assert rows[late]["final_result"] == "missed" and rows[quick]["final_result"] == "met"
    assert rows[quick]["final_days"] == "2"
    assert rows[late]["holding_result"] == "missed"  # no holding reply, answered after the point
    assert rows[quick]["holding_result"] == "not needed"
    (final_line,) = [line for line in report.summary if line["clock"] == "final"]
    assert final_line["met"] == 1 and final_line["missed"] == 1 and final_line["total"] == 2
    assert export_cases(store, config, RECEIVED.date(), RECEIVED.date(), "CFPB", RECEIVED).rows == ()


def test_uncovered_year_is_shown_as_unknown_never_a_guess(tmp_path: Path) -> None:
    business_days = '\n[regulatory.jurisdiction."CN-PBoC"]\nfinal = "30 business days"\n'
    config, store = make_config(tmp_path, extra=business_days, default="CN-PBoC"), FakeStore()
    at = RECEIVED + timedelta(days=10)
    case_id = file_complaint(config, store, "我的转账50元没有到账。", sender="li@kunde.example", at=at)
    clocks = case_clocks(store.cases[case_id], config, at)
    # Received 11 Dec 2026: 30 business days end in 2027, whose holidays chinesecalendar
    # 1.11 does not know yet. The calendar-day clocks of the same case are known.
    assert "2027" in clocks.error and "'cn'" in clocks.error
    assert {state.clock for state in clocks.states} >= {"substantive"}
    row = export_cases(store, config, at.date(), at.date(), "", at).rows[0]
    assert row["final_result"] == "unknown" and "2027" in row["error"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--from", "2026-13-01", "--to", "2026-12-31"), "must be dates"),
        (("--from", "2026-12-31", "--to", "2026-12-01"), "is before --from"),
        (
            ("--from", "2026-12-01", "--to", "2026-12-31", "--jurisdiction", "MARS"),
            "unknown jurisdiction 'MARS'",
        ),
    ],
)
def test_export_refuses_bad_arguments_by_name(tmp_path: Path, args: tuple[str, ...], words: str) -> None:
    done = cli(write_config(tmp_path), "export", *args)
    assert done.returncode == 2 and words in done.stderr

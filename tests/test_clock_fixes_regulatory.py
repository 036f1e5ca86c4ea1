"""Regulatory clocks: one deadline that cannot be computed leaves the others known and
acted on, calendar days need no holiday data, no holding reply promises a date already
gone, any mail to the customer acknowledges the complaint, and a holding reply nobody
needed is not reported as missed."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fakes import FakeMailbox, FakeStore
from helpers import complaint, write_config

from inbox_agent.config.loader import Config, load_config
from inbox_agent.domain.clock import FixedClock
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.regulatory import case_clocks
from inbox_agent.services.export import export_cases
from inbox_agent.services.intake import Intake
from inbox_agent.services.staff_actions import StaffAction, act_on_case
from inbox_agent.services.sweep import run_sweep
from inbox_agent.views.deadlines import deadline_lines

TEMPLATES = TemplateSet()
TEAM = "team@staff.wallet.example"
CN_BODY = "我的转账50元没有到账。"
EUR_BODY = "My transfer of 50 EUR never arrived."
# 10:00 in Beijing on 3 Dec 2026: the 13- and 15-day clocks end in 2026, the 30-day one in
# 2027, a year chinesecalendar does not know.
DECEMBER = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def make_config(tmp_path: Path, extra: str = "", **sections: dict[str, Any]) -> Config:
    tmp_path.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, dict[str, Any]] = {
        "escalation.L1": {"recipients": [TEAM]},
        "mailbox": {"silent_older_than": "3000d"},
    }
    for name, values in sections.items():
        overrides.setdefault(name.replace("__", "."), {}).update(values)
    path = write_config(tmp_path, overrides=overrides)
    path.write_text(path.read_text() + extra)
    return load_config(path)


def file(config: Config, store: FakeStore, body: str, at: datetime, sender: str = "li@kunde.example") -> str:
    return files(config, store, [(sender, body)], at)[0]


def files(config: Config, store: FakeStore, sent: list[tuple[str, str]], at: datetime) -> list[str]:
    """Complaints arriving together in one mailbox; their case ids in order."""
    raw = [complaint(sender, "Payment not received", body, date=at) for sender, body in sent]
    Intake(config, store, FakeMailbox(raw), TEMPLATES, FixedClock(at)).poll()  # type: ignore[arg-type]
    return [next(c.case_id for c in store.cases.values() if c.customer == sender) for sender, _ in sent]


def mails(store: FakeStore, case_id: str, to: str) -> list[str]:
    """The plain text of every mail queued for ``to`` on the case."""
    found = []
    for entry in store.outbox_entries():
        message = email.message_from_bytes(store.get_blob(entry["raw_sha256"]), policy=email.policy.default)
        if entry["case_id"] == case_id and str(message["To"]) == to:
            found.append(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    return found


def export_row(store: FakeStore, config: Config, received: datetime, now: datetime) -> dict[str, str]:
    (row,) = export_cases(store, config, received.date(), received.date(), "", now).rows
    return row


# --- 2. calendar days need no holidays; an unknown deadline is one clock's problem ------


def test_calendar_day_clocks_in_a_year_the_holiday_source_lacks_are_known_and_acted_on(
    tmp_path: Path,
) -> None:
    config, store = make_config(tmp_path, regulatory={"default": "CN-PBoC"}), FakeStore()
    case_id = file(config, store, CN_BODY, DECEMBER)
    clocks = case_clocks(store.cases[case_id], config, DECEMBER)
    final, holding = clocks.state("final"), clocks.state("holding")
    assert not clocks.error and final is not None and holding is not None
    assert final.deadline.year == 2027  # 30 calendar days: no holiday moves it

    run_sweep(config, store, TEMPLATES, holding.deadline + timedelta(hours=10))

    (holding_reply,) = [text for text in mails(store, case_id, "li@kunde.example") if "2027-01-0" in text]
    row = export_row(store, config, DECEMBER, holding.deadline + timedelta(hours=10))
    assert row["final_deadline"] and row["final_result"] == "open" and not row["error"]
    assert row["holding_result"] == "met" and row["holding_reply"]
    assert holding_reply


BUSINESS_FINAL = '\n[regulatory.jurisdiction."CN-PBoC"]\nfinal = "30 business days"\n'


def test_a_business_day_deadline_in_an_unknown_year_leaves_the_other_clocks_known(tmp_path: Path) -> None:
    config = make_config(tmp_path, BUSINESS_FINAL, regulatory={"default": "CN-PBoC"})
    store = FakeStore()
    case_id = file(config, store, CN_BODY, DECEMBER)
    clocks = case_clocks(store.cases[case_id], config, DECEMBER)
    substantive = clocks.state("substantive")
    assert substantive is not None and clocks.state("final") is None
    assert "2027" in dict(clocks.unknown)["final"] and "final" in clocks.error

    now = substantive.deadline - timedelta(hours=12)
    report = run_sweep(config, store, TEMPLATES, now)

    # The substantive deadline about to pass is escalated to staff; no holding reply can
    # promise a final date nobody can compute; the unknown clock is reported.
    assert any("substantive" in text for text in mails(store, case_id, TEAM))
    assert not mails(store, case_id, "li@kunde.example")[1:]  # only the acknowledgement
    assert any(line.startswith(case_id) and "2027" in line for line in report.unknown)
    # The regulator report and the case view say the same: this clock unknown, the others not.
    row = export_row(store, config, DECEMBER, now)
    assert row["final_result"] == "unknown" and "2027" in row["error"]
    assert row["substantive_deadline"] and row["substantive_result"] == "open"
    lines = deadline_lines(store.cases[case_id], config, now)
    assert any(line.startswith("deadline substantive") for line in lines)
    assert any(line.startswith("deadline final: UNKNOWN") and "2027" in line for line in lines)


# --- 4. no holding reply promising a date already gone ----------------------------------


PSD2_OFF = {"regulatory": {"default": "PSD2", "holding_reply": False}, "sla": {"timezone": "Europe/Berlin"}}
PSD2_ON = {"regulatory": {"default": "PSD2", "holding_reply": True}, "sla": {"timezone": "Europe/Berlin"}}


def _opened_without_holding_replies(tmp_path: Path) -> tuple[Config, FakeStore, str, dict[str, datetime]]:
    """A PSD2 case filed while holding replies were off; then they are turned on."""
    store, received = FakeStore(), datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    case_id = file(make_config(tmp_path / "off", **PSD2_OFF), store, EUR_BODY, received, "eva@kunde.example")
    config = make_config(tmp_path / "on", **PSD2_ON)
    states = case_clocks(store.cases[case_id], config, received).states
    return config, store, case_id, {state.clock: state.deadline for state in states}


def test_no_holding_reply_once_the_final_deadline_has_passed(tmp_path: Path) -> None:
    config, store, case_id, deadlines = _opened_without_holding_replies(tmp_path)

    report = run_sweep(config, store, TEMPLATES, deadlines["final"] + timedelta(days=1))

    assert report.holding_replies == ()
    assert len(mails(store, case_id, "eva@kunde.example")) == 1  # the acknowledgement only


def test_a_late_holding_reply_still_goes_out_before_the_final_deadline(tmp_path: Path) -> None:
    config, store, case_id, deadlines = _opened_without_holding_replies(tmp_path)
    now = deadlines["substantive"] + timedelta(days=1)
    assert now < deadlines["final"]

    run_sweep(config, store, TEMPLATES, now)

    (holding,) = mails(store, case_id, "eva@kunde.example")[1:]
    final_day = deadlines["final"].astimezone(config.regulatory.lookup("PSD2")[1].zone).date()  # type: ignore[index]
    assert final_day.isoformat() in holding
    row = export_row(store, config, datetime(2026, 9, 1, tzinfo=UTC), now)
    assert row["holding_result"] == "missed"  # late, and on the record as such


# --- 5. any mail to the customer acknowledges ------------------------------------------


def test_a_staff_answer_satisfies_the_acknowledgement_clock(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        regulatory={"default": "CBUAE"},
        acknowledge={"enabled": False},
        sla={"timezone": "Asia/Dubai"},
    )
    store, received = FakeStore(), datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    case_id = file(config, store, "My transfer of 50 AED never arrived.", received, "omar@kunde.example")
    answer = received + timedelta(minutes=40)
    act_on_case(
        store, config, TEMPLATES, case_id, StaffAction("reply", "li", "We are checking it now."), answer
    )

    report = run_sweep(config, store, TEMPLATES, received + timedelta(hours=10))

    assert report.deadline_escalations == () and mails(store, case_id, TEAM) == []
    row = export_row(store, config, received, received + timedelta(hours=10))
    assert row["acknowledgement_result"] == "met" and row["acknowledged"] == row["acknowledgement_done"]
    assert row["acknowledgement_done"].startswith(answer.isoformat()[:16])


# --- 8. a holding reply nobody needed is not missed -------------------------------------


def test_no_holding_reply_needed_when_the_answer_came_before_the_substantive_deadline(tmp_path: Path) -> None:
    config, store = make_config(tmp_path, **PSD2_OFF), FakeStore()
    received = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    resolved_late, answered_early = files(
        config,
        store,
        [("eva@kunde.example", EUR_BODY), ("max@kunde.example", "My transfer of 70 EUR never arrived.")],
        received,
    )
    deadlines = {
        s.clock: s.deadline for s in case_clocks(store.cases[resolved_late], config, received).states
    }
    # Resolved after the holding point, before the substantive deadline.
    between = deadlines["holding"] + (deadlines["substantive"] - deadlines["holding"]) / 2
    act_on_case(store, config, TEMPLATES, resolved_late, StaffAction("resolve", "li", "Credited."), between)
    # Answered on day 2 (a question for the customer), resolved weeks later in time.
    reply = StaffAction("reply", "li", "We found it; please confirm your IBAN.")
    act_on_case(store, config, TEMPLATES, answered_early, reply, received + timedelta(days=1))
    resolve = StaffAction("resolve", "li", "Credited.")
    act_on_case(store, config, TEMPLATES, answered_early, resolve, deadlines["final"] - timedelta(days=3))

    later = deadlines["final"] + timedelta(days=1)
    rows = export_cases(store, config, received.date(), received.date(), "", later).rows
    assert [(row["holding_result"], row["substantive_result"]) for row in rows] == [("not needed", "met")] * 2


# --- 3. the clocks count from the complaint's receipt, not from when it was filed ------


class _DatedMailbox(FakeMailbox):
    """A mailbox whose server says when each mail arrived (IMAP INTERNALDATE)."""

    def __init__(self, mails: list[bytes], arrived: datetime) -> None:
        super().__init__(mails)
        self.arrived = arrived

    def list_new(self, after_uid: int, since: Any = None) -> list[Any]:
        return [replace(ref, internal_date=self.arrived) for ref in super().list_new(after_uid, since)]


def test_regulatory_clocks_count_from_receipt_when_the_daemon_filed_it_days_later(tmp_path: Path) -> None:
    config = make_config(tmp_path, regulatory={"default": "PSD2"}, sla={"timezone": "Europe/Berlin"})
    store = FakeStore()
    arrived = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # Friday 10:00 in Frankfurt
    filed = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday: the daemon was down over the weekend
    box = _DatedMailbox(
        [complaint("eva@kunde.example", "Payment not received", EUR_BODY, date=arrived)], arrived
    )
    Intake(config, store, box, TEMPLATES, FixedClock(filed)).poll()  # type: ignore[arg-type]
    (case,) = store.cases.values()
    clocks = case_clocks(case, config, filed)
    substantive, final = clocks.state("substantive"), clocks.state("final")
    assert substantive is not None and final is not None
    # 15 and 35 TARGET2 business days from Friday 27 November (25 Dec and 1 Jan are closed),
    # counted by hand; from Monday they were 21 December and 20 January.
    assert substantive.deadline == datetime(2026, 12, 18, 17, 0, tzinfo=UTC)
    assert final.deadline == datetime(2027, 1, 19, 17, 0, tzinfo=UTC)
    (row,) = export_cases(store, config, arrived.date(), arrived.date(), "", filed).rows
    assert row["received"].startswith("2026-11-27T09:00")

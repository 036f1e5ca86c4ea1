"""The sweep keeps working for every case when one case's clock cannot be computed, the
holding reply does not depend on staff escalation being on, and a receipt time in the
future does not hold a case's SLA clock back."""

from __future__ import annotations

import email
import email.policy
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeMailbox, FakeStore
from helpers import complaint, write_config

from inbox_agent.config.loader import Config, ConfigError, load_config
from inbox_agent.domain.clock import FixedClock
from inbox_agent.entrypoints.bootstrap import build_runtime
from inbox_agent.entrypoints.daemon import run_once
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.regulatory import case_clocks
from inbox_agent.services.intake import Intake
from inbox_agent.services.ports import MailRef
from inbox_agent.services.sweep import run_sweep

TEMPLATES = TemplateSet()
HACKED = "Someone hacked my account, unauthorized login and money stolen!"
MISSING = "My transfer of 50 CNY never arrived, transaction id 1234567890."
TEAM = "team@staff.wallet.example"


def make_config(tmp_path: Path, **overrides: dict[str, Any]) -> Config:
    tmp_path.mkdir(parents=True, exist_ok=True)
    sections: dict[str, dict[str, Any]] = {
        "escalation.L1": {"recipients": [TEAM]},
        "mailbox": {"silent_older_than": "3000d"},
    }
    for name, values in overrides.items():
        sections.setdefault(name.replace("__", "."), {}).update(values)
    return load_config(write_config(tmp_path, overrides=sections))


class DatedMailbox(FakeMailbox):
    """Mails with the receipt time the server (or the maildir file's mtime) reports."""

    def __init__(self, received: datetime | None) -> None:
        super().__init__()
        self.received = received

    def list_new(self, after_uid: int, since: Any = None) -> list[MailRef]:
        return [replace(ref, internal_date=self.received) for ref in super().list_new(after_uid, since)]


BOXES: dict[int, DatedMailbox] = {}


def file(
    config: Config, store: FakeStore, sender: str, body: str, at: datetime, received: datetime | None = None
) -> str:
    box = BOXES.setdefault(id(store), DatedMailbox(None))  # one mailbox per store: new UIDs
    box.received = received
    box.deliver(complaint(sender, "Complaint", body, date=at))
    Intake(config, store, box, TEMPLATES, FixedClock(at)).poll()  # type: ignore[arg-type]
    return max((c for c in store.cases.values() if c.customer == sender), key=lambda c: c.seq).case_id


def notified(store: FakeStore, case_id: str) -> list[str]:
    """Outbox ids of the staff notifications queued for the case."""
    return [
        e["outbox_id"]
        for e in store.outbox_entries()
        if e["case_id"] == case_id and e["kind"] == "staff_notify"
    ]


# --- 1. one case whose escalation deadline cannot be computed stops nobody else --------


def test_a_case_in_a_year_the_sla_calendar_lacks_does_not_stop_the_other_escalations(tmp_path: Path) -> None:
    config = make_config(tmp_path, sla={"calendar": "cn", "business_hours": True})
    store = FakeStore()
    security = file(config, store, "a@kunde.example", HACKED, datetime(2026, 12, 28, 1, 0, tzinfo=UTC))
    # 30 Dec 2026: its 24 business hours end in 2027, a year chinesecalendar does not know.
    late_december = file(config, store, "b@kunde.example", MISSING, datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    assert store.cases[security].category == "security"

    report = run_sweep(config, store, TEMPLATES, datetime(2026, 12, 30, 3, 0, tzinfo=UTC))

    assert store.cases[security].escalation_level == 1 and notified(store, security)
    assert store.cases[late_december].escalation_level == 0
    (unknown,) = report.unknown
    assert unknown.startswith(late_december) and "2027" in unknown and "'cn'" in unknown


def test_a_limit_longer_than_the_business_hours_scan_does_not_stop_the_other_escalations(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, sla={"business_hours": True})
    # A limit the loader's rough bound lets through but whose deadline lies beyond the scan.
    sla = replace(config.sla, per_category={**config.sla.per_category, "other": 1500 * 86400.0})
    config = replace(config, sla=sla)
    store, opened = FakeStore(), datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    security = file(config, store, "a@kunde.example", HACKED, opened)
    general = file(config, store, "b@kunde.example", "Hello, a general question about your app.", opened)
    assert store.cases[general].category == "other"

    report = run_sweep(config, store, TEMPLATES, opened + timedelta(hours=5))

    assert store.cases[security].escalation_level == 1 and notified(store, security)
    assert [line.split(":")[0] for line in report.unknown] == [general]


def test_a_business_hours_limit_beyond_the_scan_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, sla={"business_hours": True}, sla__category={"other": "1500d"})
    assert any(problem.startswith("sla.category.other:") for problem in caught.value.problems)
    # The same limit counted 24/7, or a long but countable one, loads.
    make_config(tmp_path / "24-7", sla__category={"other": "1500d"})
    make_config(tmp_path / "long", sla={"business_hours": True}, sla__category={"other": "60d"})


# --- 6. escalation off still sends the holding reply ------------------------------------


def _daemon_run(tmp_path: Path, enabled: bool) -> tuple[Any, Config]:
    """`run --once` at receipt, then again a day past the holding point (PSD2)."""
    (tmp_path / "maildir" / "new").mkdir(parents=True)
    for sub in ("cur", "tmp"):
        (tmp_path / "maildir" / sub).mkdir()
    overrides = {
        "regulatory": {"default": "PSD2"},
        "escalation": {"enabled": enabled},
        "escalation.L1": {"recipients": [TEAM]},
        "mailbox": {"silent_older_than": "3000d"},
        "sla": {"timezone": "Europe/Berlin"},
    }
    config = load_config(write_config(tmp_path, maildir=tmp_path / "maildir", overrides=overrides))
    received = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    raw = complaint(
        "eva@kunde.example", "Transfer missing", "My transfer of 50 EUR never arrived.", date=received
    )
    (tmp_path / "maildir" / "new" / "1.eml").write_bytes(raw)
    os.utime(tmp_path / "maildir" / "new" / "1.eml", (received.timestamp(), received.timestamp()))
    clock = FixedClock(received)
    runtime = build_runtime(config, clock=clock)
    run_once(runtime)
    case = next(iter(runtime.store.iter_cases()))
    runtime.close()
    holding = case_clocks(case, config, received).state("holding")
    assert holding is not None
    clock.instant = holding.deadline + timedelta(days=1)  # past the holding point
    runtime = build_runtime(config, clock=clock)
    run_once(runtime)
    return runtime, config


def _sent(tmp_path: Path) -> list[tuple[str, str]]:
    """(recipient, text) of every mail the daemon handed to the transport."""
    found = []
    for path in sorted((tmp_path / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        found.append((str(message["To"]), body.get_content() if body is not None else ""))
    return found


def test_escalation_off_still_sends_the_holding_reply_but_notifies_no_staff(tmp_path: Path) -> None:
    runtime, config = _daemon_run(tmp_path, enabled=False)
    runtime.close()
    sent = _sent(tmp_path)
    to_customer = [text for to, text in sent if to == "eva@kunde.example"]
    assert len(to_customer) == 2  # the acknowledgement, then the holding reply
    assert "final answer" in to_customer[1]
    assert all(to == "eva@kunde.example" for to, _ in sent)  # no level, no escalation ahead


def test_escalation_on_sends_the_holding_reply_and_notifies_staff(tmp_path: Path) -> None:
    runtime, _config = _daemon_run(tmp_path, enabled=True)
    runtime.close()
    sent = _sent(tmp_path)
    assert any(to == "eva@kunde.example" and "final answer" in text for to, text in sent)
    assert any(to == TEAM for to, _ in sent)


# --- 7. a receipt time in the future does not freeze the SLA clock ----------------------


def test_a_future_receipt_time_does_not_hold_the_sla_clock_back(tmp_path: Path) -> None:
    config = make_config(tmp_path, sla={"default": "24h"})
    store, now = FakeStore(), datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    # A maildir file copied with its mtime from a host whose clock runs months ahead.
    case_id = file(config, store, "b@kunde.example", MISSING, now, received=now + timedelta(days=180))
    limit = config.sla.response_seconds(store.cases[case_id].category, store.cases[case_id].severity)

    run_sweep(config, store, TEMPLATES, now + timedelta(seconds=limit, hours=1))

    assert store.cases[case_id].escalation_level == 1 and notified(store, case_id)
    message = email.message_from_bytes(
        store.get_blob(store.outbox_entries()[-1]["raw_sha256"]), policy=email.policy.default
    )
    assert case_id in str(message["Subject"])

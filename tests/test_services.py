"""The use cases against in-memory fakes of every port (tests/fakes.py): each change
is one unit of work that commits once, and a failed commit writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes import FakeAcceptedLog, FakeMailbox, FakeStore, FakeTransport
from helpers import complaint, write_config

from inbox_agent.config.loader import Config, load_config
from inbox_agent.domain.clock import FixedClock
from inbox_agent.domain.model import CaseStatus, OutgoingMail, SendOutcome, SendResult
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import Decision
from inbox_agent.services.delivery import Delivery
from inbox_agent.services.filing import quarantine
from inbox_agent.services.intake import Intake
from inbox_agent.services.quarantine import RetryRefused, retry_quarantined
from inbox_agent.services.staff_actions import NoSuchCase, StaffAction, StaffActionError, act_on_case
from inbox_agent.services.sweep import run_sweep
from inbox_agent.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TEMPLATES = TemplateSet()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(
        write_config(tmp_path, overrides={"escalation.L1": {"recipients": ["team@staff.wallet.example"]}})
    )


def _intake(config: Config, store: FakeStore, mailbox: FakeMailbox, **kwargs: object) -> Intake:
    return Intake(config, store, mailbox, TEMPLATES, FixedClock(NOW), **kwargs)  # type: ignore[arg-type]


def _complaint(n: int = 1) -> bytes:
    return complaint(
        f"alice{n}@customer.example", "Payment failed", "My payment of 120 CNY failed twice today."
    )


def test_intake_files_a_batch_in_one_commit_and_marks_only_after_it(config: Config) -> None:
    store, mailbox = FakeStore(), FakeMailbox([_complaint(1), _complaint(2), _complaint(3)])
    report = _intake(config, store, mailbox).poll()
    assert [row.outcome.split(";")[0] for row in report.rows] == ["new case"] * 3
    assert len(store.cases) == 3 and len(store.outbox) == 3
    assert mailbox.marked == [1, 2, 3]
    assert store.checkpoints["maildir:INBOX"] == {"uidvalidity": 7, "uid": 3}
    # one commit for the first checkpoint, one for the batch, one for the status line
    assert store.commits == 3


def test_a_failed_commit_writes_nothing_and_marks_nothing(config: Config) -> None:
    store, mailbox = FakeStore(), FakeMailbox([_complaint()])
    intake = _intake(config, store, mailbox)
    store.checkpoints["maildir:INBOX"] = {"uidvalidity": 7, "uid": 0}
    store.fail_next_commit = True
    with pytest.raises(OSError):
        intake.poll()
    assert store.cases == {} and store.outbox == {} and mailbox.marked == []
    assert not store.locked, "the unit of work released the lock"
    intake.poll()  # the next cycle files it
    assert len(store.cases) == 1 and mailbox.marked == [1]


def test_after_batch_hook_sends_the_first_acknowledgements_before_the_backlog_ends(config: Config) -> None:
    store, mailbox = FakeStore(), FakeMailbox([_complaint(n) for n in range(205)])  # two batches
    transport = FakeTransport()
    delivery = Delivery(config, store, transport, FixedClock(NOW), FakeAcceptedLog())
    sent_when: list[int] = []

    def after_batch() -> None:
        delivery.send_after_batch()
        sent_when.append(len(transport.sent))

    _intake(config, store, mailbox, after_batch=after_batch).poll()
    # The first batch's acknowledgements go to the sender thread at once; the next
    # batch's hook commits their results, so by then they have left.
    assert len(sent_when) == 2 and sent_when[1] >= 200, "acknowledgements left while the backlog was read"
    assert store.outbox, "the last batch's results are committed by the cycle's own send"
    delivery.send_due()  # as run_cycle does after the intake: waits for the sender thread
    assert len(transport.sent) == 205 and store.outbox == {}
    delivery.close()


def _reply(case_id: str) -> bytes:
    return complaint("alice1@customer.example", f"Re: [{case_id}] Payment failed", "Any news? Still failing.")


def _daemon_intake(config: Config, store: FakeStore, mailbox: FakeMailbox, delivery: Delivery) -> Intake:
    """Wired as the daemon wires it (entrypoints/bootstrap.py)."""
    return _intake(
        config, store, mailbox, after_batch=delivery.send_after_batch, commit_with=delivery.record_with
    )


def test_a_batchs_send_results_are_committed_with_the_next_batch_one_commit_each(config: Config) -> None:
    store, mailbox = FakeStore(), FakeMailbox([_complaint(n) for n in range(405)])  # three batches
    transport, sent_folder = FakeTransport(), FakeMailbox(name="Sent")
    delivery = Delivery(
        config, store, transport, FixedClock(NOW), FakeAcceptedLog(), sent_mailbox=sent_folder
    )
    _daemon_intake(config, store, mailbox, delivery).poll()
    # The first checkpoint, three batches (the second and third carry the results of
    # the acknowledgements of the one before), the status line: no commit of its own
    # for a batch's results.
    assert store.commits == 5
    sent = [case for case in store.cases.values() if case.events[-1].kind == "mail_sent"]
    assert len(sent) == 400 and len(store.outbox) == 5, "the last batch's mail is still in the thread"
    assert store.status()["smtp"] == "ok"
    assert len(sent_folder.mails) == 400, "a copy in the Sent folder of each mail whose sending is committed"
    delivery.send_due()
    assert len(transport.sent) == 405 and store.outbox == {} and store.commits == 6
    assert len(sent_folder.mails) == 405
    assert delivery.take_totals().sent == 405


def test_send_results_riding_on_a_batch_keep_that_batchs_changes_to_the_same_case(config: Config) -> None:
    store, mailbox = FakeStore(), FakeMailbox([_complaint(1)])
    delivery = Delivery(config, store, FakeTransport(), FixedClock(NOW), FakeAcceptedLog())
    intake = _daemon_intake(config, store, mailbox, delivery)
    intake.poll()  # the acknowledgement is handed to the sender thread
    (case,) = store.cases.values()
    mailbox.deliver(_reply(case.case_id))
    intake.poll()  # the reply is filed; the acknowledgement's result rides on that commit
    kinds = [event.kind for event in store.cases[case.case_id].events]
    assert "mail_sent" in kinds and kinds.count("customer_message") == 1, kinds
    directions = sorted(m.direction for m in store.messages.values() if m.case_id == case.case_id)
    assert directions == ["in", "in", "out"], "both mails and the acknowledgement sent"
    delivery.close()


def test_a_failed_sender_thread_does_not_stop_the_next_batchs_commit(config: Config) -> None:
    store, mailbox = FakeStore(), FakeMailbox([_complaint(1)])
    accepted = FakeAcceptedLog()
    delivery = Delivery(config, store, FakeTransport(), FixedClock(NOW), accepted)
    intake = _daemon_intake(config, store, mailbox, delivery)
    accepted.fail_reserve = True  # no room for the accepted-mail log: the thread sends nothing
    intake.poll()
    mailbox.deliver(_complaint(2))
    with pytest.raises(OSError):  # raised by the hook after the batch, not inside its commit
        intake.poll()
    assert len(store.cases) == 2 and mailbox.marked == [1, 2], "the second batch was committed and marked"
    accepted.fail_reserve = False
    delivery.send_due()
    assert store.outbox == {}
    delivery.close()


def test_mail_in_the_sender_thread_is_committed_by_the_next_call_and_errors_come_back(
    config: Config,
) -> None:
    store = FakeStore()
    _intake(config, store, FakeMailbox([_complaint(n) for n in range(3)])).poll()
    transport, accepted = FakeTransport(), FakeAcceptedLog()
    delivery = Delivery(config, store, transport, FixedClock(NOW), accepted)
    # A failure in the thread (no room for the accepted-mail log) is raised in the
    # daemon's thread when it collects the batch, and nothing was sent.
    accepted.fail_reserve = True
    delivery.send_after_batch()
    with pytest.raises(OSError):
        delivery.finish_sending()
    assert transport.sent == [] and len(store.outbox) == 3
    accepted.fail_reserve = False
    delivery.send_after_batch()
    assert len(store.outbox) == 3, "results are committed by the daemon's thread, not the sender"
    delivery.finish_sending()
    assert store.outbox == {} and len(transport.sent) == 3
    assert delivery.take_totals().sent == 3
    delivery.close()


def test_sending_in_the_callers_thread_commits_at_once(config: Config) -> None:
    store = FakeStore()
    _intake(config, store, FakeMailbox([_complaint(n) for n in range(2)])).poll()
    delivery = Delivery(config, store, FakeTransport(), FixedClock(NOW), FakeAcceptedLog())
    delivery.send_in_thread = False  # the benchmark's profile run
    delivery.send_after_batch()
    assert store.outbox == {} and delivery._thread is None


def test_delivery_records_each_send_as_a_case_event_in_one_commit(config: Config) -> None:
    store = FakeStore()
    _intake(config, store, FakeMailbox([_complaint()])).poll()
    before = store.commits
    totals = Delivery(config, store, FakeTransport(), FixedClock(NOW), FakeAcceptedLog()).send_due()
    assert (totals.sent, totals.failed, totals.retry) == (1, 0, 0)
    case = next(iter(store.cases.values()))
    assert case.events[-1].kind == "mail_sent"
    assert store.commits == before + 1  # the results and the status line together
    assert store.status()["smtp"] == "ok"
    assert store.status()["last_send_at"] == NOW.isoformat()


class _FirstBatchRefused(FakeTransport):
    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        self.outcome = SendOutcome.RETRY if not self.batches else SendOutcome.SENT
        return super().send_batch(mails)


def test_delivery_writes_the_status_line_with_the_last_batch_only(config: Config) -> None:
    """Three SMTP batches: three commits, the status (retrying: one mail refused) on the last."""
    config = replace(config, smtp=replace(config.smtp, batch_size=1))
    store = FakeStore()
    _intake(config, store, FakeMailbox([_complaint(n) for n in range(1, 4)])).poll()
    before = store.commits
    transport = _FirstBatchRefused()
    totals = Delivery(config, store, transport, FixedClock(NOW), FakeAcceptedLog()).send_due()
    assert (totals.sent, totals.retry) == (2, 1)
    assert store.commits == before + 3
    assert store.status()["smtp"].startswith("retrying")


def test_delivery_settles_mail_the_server_accepted_before_a_crash(config: Config) -> None:
    store = FakeStore()
    _intake(config, store, FakeMailbox([_complaint()])).poll()
    accepted = FakeAcceptedLog()
    accepted.append(next(iter(store.outbox)))
    transport = FakeTransport()
    Delivery(config, store, transport, FixedClock(NOW), accepted).send_due()
    assert transport.sent == [] and store.outbox == {} and accepted.ids == set()


def test_send_after_batch_waits_while_the_server_is_refusing(config: Config) -> None:
    store = FakeStore()
    _intake(config, store, FakeMailbox([_complaint()])).poll()
    transport = FakeTransport(SendOutcome.RETRY)
    delivery = Delivery(config, store, transport, FixedClock(NOW), FakeAcceptedLog())
    delivery.send_due()
    delivery.send_after_batch()
    assert transport.batches == 1


def test_staff_action_is_one_commit_with_its_mail(config: Config) -> None:
    store = FakeStore()
    _intake(config, store, FakeMailbox([_complaint()])).poll()
    case_id = next(iter(store.cases))
    before, queued_before = store.commits, len(store.outbox)
    result = act_on_case(store, config, TEMPLATES, case_id, StaffAction("resolve", "li", "refunded"), NOW)
    assert result.case.status == CaseStatus.RESOLVED and result.queued == 1
    assert store.commits == before + 1 and len(store.outbox) == queued_before + 1
    with pytest.raises(StaffActionError):
        act_on_case(store, config, TEMPLATES, case_id, StaffAction("resolve", "li", "again"), NOW)
    with pytest.raises(NoSuchCase):
        act_on_case(store, config, TEMPLATES, "WLT-2026-999999", StaffAction("note", "li", "x"), NOW)
    assert store.commits == before + 1, "a refused action writes nothing"


def test_quarantine_retry_files_the_mail_and_removes_the_entry_at_once(config: Config) -> None:
    store = FakeStore()
    raw = _complaint()
    with UnitOfWork(store) as uow:
        failed = Decision(
            outcome="quarantined", quarantine_stage="evidence", quarantine_reason="boom", blobs=(raw,)
        )
        quarantine(uow, failed, raw=raw, source="maildir:x", size=len(raw), now=NOW)
        uow.commit()
    entry_id = next(iter(store.quarantine))
    result = retry_quarantined(store, config, TEMPLATES, entry_id, NOW)
    assert not result.still_failing
    assert store.quarantine == {} and len(store.cases) == 1 and len(store.outbox) == 1
    with pytest.raises(RetryRefused):
        retry_quarantined(store, config, TEMPLATES, entry_id, NOW)


def test_sweep_records_the_level_and_queues_its_notification_together(config: Config) -> None:
    store = FakeStore()
    _intake(config, store, FakeMailbox([_complaint()])).poll()
    later = NOW + timedelta(days=3)
    dry = run_sweep(config, store, TEMPLATES, later, dry_run=True)
    assert dry.fired and all(case.escalation_level == 0 for case in store.cases.values())
    before = len(store.outbox)
    report = run_sweep(config, store, TEMPLATES, later)
    assert report.fired and len(store.outbox) == before + report.queued
    assert next(iter(store.cases.values())).escalation_level >= 1
    again = run_sweep(config, store, TEMPLATES, later)
    assert again.fired == () and again.queued == 0


def test_a_sender_we_cannot_answer_is_filed_on_a_case_not_quarantined(config: Config) -> None:
    raw = (
        b'From: "x" <power quadrant system@example.com>\r\nTo: complaints@wallet.example\r\n'
        b"Subject: payment failed\r\nDate: Fri, 20 Nov 2026 09:30:00 +0000\r\nMessage-ID: <pq1@example.com>\r\n"
        b"\r\nMy payment of 120 CNY failed today.\r\n"
    )
    store = FakeStore()
    report = _intake(config, store, FakeMailbox([raw])).poll()
    assert "no reply: unreplyable_sender" in report.rows[0].outcome
    assert len(store.cases) == 1 and store.quarantine == {} and store.outbox == {}


def test_a_sent_mail_is_recorded_with_the_subject_the_customer_saw_and_the_case_language(
    config: Config,
) -> None:
    store = FakeStore()
    raw = complaint("li@customer.example", "支付失败", "我昨天付款120元失败了，请帮忙处理。")
    _intake(config, store, FakeMailbox([raw])).poll()
    Delivery(config, store, FakeTransport(), FixedClock(NOW), FakeAcceptedLog()).send_due()
    sent = [m for m in store.messages.values() if m.direction == "out"]
    assert len(sent) == 1
    assert sent[0].subject != "ack_first" and next(iter(store.cases)) in sent[0].subject
    assert sent[0].language == "zh"


@pytest.mark.parametrize(
    "text", ["It happened last night, I was charged twice.", "昨夜我被扣了两次款。", "昨晚我被扣了两次款。"]
)
def test_last_night_is_read_as_the_day_before(text: str) -> None:
    from inbox_agent.stages.evidence_dates import find_date

    assert find_date(text, NOW.date()) == (NOW - timedelta(days=1)).date()

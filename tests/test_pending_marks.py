"""Owed marks and Sent-folder copies against the in-memory fakes: a mark or a copy the
mailbox refuses is recorded with the batch, reported, retried every cycle and settled
once it works — never dropped. (tests/test_imap_servers.py does the same against real
Dovecot servers that refuse STORE, CREATE and APPEND.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import FakeMailbox, FakeStore
from helpers import complaint, write_config

from inbox_agent.config.loader import Config, load_config
from inbox_agent.domain.clock import FixedClock
from inbox_agent.mail.render import TemplateSet
from inbox_agent.services.intake import Intake
from inbox_agent.services.ports import MailboxError, MailRef
from inbox_agent.services.sent_copies import SentCopies

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
OWED = "pending-marks:maildir:INBOX"
REFUSAL = "server refused STORE: [CANNOT] Keyword length too long"


class RefusingMailbox(FakeMailbox):
    """Refuses every mark (and every Sent copy) while ``refusal`` is set."""

    def __init__(self, mails: Sequence[bytes] = ()) -> None:
        super().__init__(mails)
        self.refusal = REFUSAL
        self.attempts = 0

    def mark_processed(self, refs: Sequence[MailRef]) -> None:
        self.attempts += 1
        if self.refusal:
            raise MailboxError(self.refusal)
        super().mark_processed(refs)

    def append_sent(self, raw: bytes) -> None:
        self.attempts += 1
        if self.refusal:
            raise MailboxError(self.refusal)
        super().append_sent(raw)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path))


def _intake(config: Config, store: FakeStore, mailbox: FakeMailbox, **kwargs: object) -> Intake:
    return Intake(config, store, mailbox, TemplateSet(), FixedClock(NOW), **kwargs)  # type: ignore[arg-type]


def _mails(count: int) -> list[bytes]:
    return [
        complaint(f"user{n}@customer.example", "Payment failed", "My payment failed.") for n in range(count)
    ]


def test_a_refused_mark_is_owed_reported_retried_and_settled(config: Config) -> None:
    store, mailbox = FakeStore(), RefusingMailbox(_mails(3))
    first = _intake(config, store, mailbox).poll()
    assert (first.fetched, len(first.rows), first.backlog) == (3, 3, 0), "all three are stored: say so"
    assert (first.marks_pending, first.mark_error) == (3, REFUSAL)
    assert first.error == "", "the mailbox itself works: no backoff for a refused mark"
    assert store.checkpoints[OWED]["uids"] == "1:3" and store.checkpoints[OWED]["reason"] == REFUSAL
    assert "3 processed mails still to be marked" in store.state["mailbox"]

    again = _intake(config, store, mailbox).poll()
    assert (again.fetched, again.marks_pending, again.mark_error) == (0, 3, REFUSAL)
    assert store.checkpoints[OWED]["attempts"] == 2

    mailbox.refusal = ""
    fixed = _intake(config, store, mailbox).poll()
    assert (fixed.marks_pending, fixed.mark_error) == (0, "")
    assert mailbox.marked == [1, 2, 3]
    assert store.checkpoints[OWED]["uids"] == "" and store.state["mailbox"] == "ok"
    assert len(store.cases) == 3


def test_marks_are_recorded_in_the_batch_commit_so_a_crash_before_marking_loses_none(config: Config) -> None:
    store, mailbox = FakeStore(), RefusingMailbox(_mails(2))
    mailbox.refusal = ""

    def crash(refs: Sequence[MailRef]) -> None:
        raise SystemExit("killed right after the commit")

    mailbox.mark_processed = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        _intake(config, store, mailbox).poll()
    assert store.checkpoints["maildir:INBOX"]["uid"] == 2, "the checkpoint moved past both mails"
    assert store.checkpoints[OWED]["uids"] == "1:2", "and the same commit says both are owed a mark"

    del mailbox.mark_processed  # the restarted process marks normally
    _intake(config, store, mailbox).poll()
    assert mailbox.marked == [1, 2]


def test_after_a_refusal_the_rest_of_the_cycle_waits_instead_of_failing_batch_after_batch(
    config: Config,
) -> None:
    store, mailbox = FakeStore(), RefusingMailbox(_mails(205))  # two Maildir batches of 200
    report = _intake(config, store, mailbox).poll()
    assert mailbox.attempts == 1
    assert report.marks_pending == 205 and len(report.rows) == 205


def test_a_uidvalidity_change_voids_the_owed_uids(config: Config) -> None:
    store, mailbox = FakeStore(), FakeMailbox(_mails(1))
    store.checkpoints[OWED] = {"uidvalidity": 6, "uid": 9, "uids": "8:9", "keys": [], "reason": REFUSAL}
    report = _intake(config, store, mailbox).poll()
    assert report.marks_pending == 0
    assert mailbox.marked == [1], "UIDs 8 and 9 of the old UIDVALIDITY are never marked"
    assert store.checkpoints[OWED]["uids"] == ""


def test_a_successful_cycle_costs_no_extra_commit(config: Config) -> None:
    store, mailbox = FakeStore(), FakeMailbox(_mails(3))
    _intake(config, store, mailbox).poll()
    # first checkpoint, the batch (owed marks included), the closing status (owed settled)
    assert store.commits == 3
    assert store.checkpoints[OWED]["uids"] == ""


def test_a_dry_run_marks_nothing_and_owes_nothing(config: Config) -> None:
    store, mailbox = FakeStore(), RefusingMailbox(_mails(2))
    report = _intake(config, store, mailbox, dry_run=True).poll()
    assert mailbox.attempts == 0 and report.marks_pending == 0 and OWED not in store.checkpoints


def test_a_refused_sent_copy_is_owed_and_kept_at_the_next_retry(config: Config) -> None:
    store, sent = FakeStore(), RefusingMailbox()
    copies = SentCopies(sent, store, FixedClock(NOW), "Sent")
    copies.append_sent(b"reply one")
    copies.append_sent(b"reply two")
    assert sent.attempts == 1, "after the first refusal the cycle's other copies wait"
    assert copies.count == 2 and REFUSAL in copies.error

    copies.retry()  # still refused
    assert copies.count == 2 and sent.attempts == 2

    sent.refusal = ""
    copies.retry()
    assert copies.count == 0 and copies.error == ""
    assert list(sent.mails.values()) == [b"reply one", b"reply two"]

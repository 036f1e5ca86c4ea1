"""Intake: fetch new mail, run the pipeline, commit, mark — batch by batch.

The order of the side effects is the guarantee of docs/ARCHITECTURE.md §2: a mail is
marked processed in the mailbox (and the checkpoint moved) only after the commit
that stores its case, message, raw bytes and outgoing mail. After each batch the
``after_batch`` hook runs (the daemon sends the batch's acknowledgements there), so
under a backlog the first customers are answered at once, not after the last mail
is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import Clock, iso
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.process import process, process_sent
from inbox_agent.services.checkpoints import Checkpoints
from inbox_agent.services.crash_points import crash_point
from inbox_agent.services.delivery import chunks, record_status
from inbox_agent.services.filing import file_decision, quarantine, raw_sha256
from inbox_agent.services.ports import CaseStore, FetchedMail, Mailbox, MailboxError, MailRef
from inbox_agent.services.unit_of_work import UnitOfWork

log = logging.getLogger("inbox_agent.services.intake")

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Row:
    """One line of the run table."""

    source: str
    sender: str
    subject: str
    case_id: str
    outcome: str


@dataclass(frozen=True)
class CycleReport:
    rows: tuple[Row, ...]
    fetched: int
    backlog: int  # found but left for the next cycle (e.g. stopped by a signal)
    sent: int
    send_failed: int
    send_retry: int
    error: str = ""


def batch_view(store: CaseStore) -> BatchView:
    """The store as the pipeline reads it, for one batch."""
    index = store.index
    return BatchView(
        get_stored_case=store.get_case,
        message_cases=index.message_cases,
        known_hashes=index.hashes,
        next_seq=int(store.meta().get("next_case_seq", 1)),
        counters=store.counter,
    )


class Intake:
    def __init__(
        self,
        config: Config,
        store: CaseStore,
        mailbox: Mailbox,
        templates: TemplateSet,
        clock: Clock,
        *,
        dry_run: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
        sent_mailbox: Mailbox | None = None,
        after_batch: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.mailbox = mailbox
        # The account's Sent folder (IMAP only, when configured): replies written there
        # by hand are staff responses.
        self.sent_mailbox = sent_mailbox
        self.templates = templates
        self.clock = clock
        self.dry_run = dry_run
        self.should_stop = should_stop
        self.progress = progress
        self.after_batch = after_batch
        self.checkpoints = Checkpoints(config, store, clock)

    @property
    def batch_size(self) -> int:
        return self.config.mailbox.imap.batch_size if self.config.mailbox.imap else 200

    def poll(self) -> CycleReport:
        """Fetch and process every new inbox mail, batch by batch; then the Sent folder."""
        try:
            state = self.mailbox.open()
            start = self.checkpoints.starting_point(state)
            refs = self.checkpoints.only_new(state.name, self.mailbox.list_new(start.after_uid, start.since))
        except MailboxError as exc:
            return self._failed((), 0, 0, exc)
        if start.first_checkpoint is not None and not self.dry_run:
            self.checkpoints.write(state.name, start.first_checkpoint)
        rows: list[Row] = []
        done = 0
        try:
            for batch in chunks(refs, self.batch_size):
                if self.should_stop():
                    break
                fetched = list(self.mailbox.fetch(batch, self.config.mailbox.max_message_bytes))
                crash_point("after_fetch")
                rows.extend(self._process_batch(self.mailbox, state.name, state.uidvalidity, fetched))
                done += len(batch)
                self._after_batch(done, len(refs))
        except MailboxError as exc:
            return self._failed(rows, done, len(refs) - done, exc)
        if not self.should_stop():
            rows.extend(self.poll_sent())
        self._status(mailbox="ok", last_poll_at=iso(self.clock.now()), backlog=len(refs) - done)
        return CycleReport(tuple(rows), done, len(refs) - done, 0, 0, 0)

    def _after_batch(self, done: int, total: int) -> None:
        if self.progress:
            self.progress(done, total)
        if self.after_batch and not self.dry_run:
            self.after_batch()

    def _failed(self, rows: Sequence[Row], done: int, left: int, exc: MailboxError) -> CycleReport:
        self._status(mailbox=f"error: {exc}", last_error=str(exc))
        return CycleReport(tuple(rows), done, left, 0, 0, 0, error=str(exc))

    def poll_sent(self) -> list[Row]:
        """New mail in the Sent folder. The first look only notes where the folder
        stands: replies sent before the daemon knew the folder are not responses it
        could have waited for. A failure here is logged; the inbox goes on."""
        mailbox = self.sent_mailbox
        if mailbox is None:
            return []
        rows: list[Row] = []
        try:
            state = mailbox.open()
            after_uid = self.checkpoints.sent_folder_start(state, write=not self.dry_run)
            if after_uid is None:
                return []
            for batch in chunks(mailbox.list_new(after_uid, None), self.batch_size):
                fetched = list(mailbox.fetch(batch, self.config.mailbox.max_message_bytes))
                rows.extend(self._process_batch(mailbox, state.name, state.uidvalidity, fetched, sent=True))
        except MailboxError as exc:
            log.warning("Sent folder not read this cycle: %s", exc)
        return rows

    def _process_batch(
        self,
        mailbox: Mailbox,
        name: str,
        uidvalidity: int,
        fetched: Sequence[FetchedMail],
        *,
        sent: bool = False,
    ) -> list[Row]:
        """Decide every mail of the batch, commit them as one unit, then mark them."""
        with UnitOfWork(self.store, dry_run=self.dry_run) as uow:
            now = self.clock.now()
            view = batch_view(self.store)
            decisions = [(item, self._decide(item, view, now, sent=sent)) for item in fetched]
            rows = [self._carry_out(uow, item, decision, now) for item, decision in decisions]
            uow.changes.next_case_seq = view.next_seq
            uids = [item.ref.uid for item in fetched if item.ref.uid]
            if uids:
                uow.changes.checkpoints[self.checkpoints.key(name)] = {
                    "uidvalidity": uidvalidity,
                    "uid": max(uids),
                }
            uow.changes.status = self._status_after_batch(len(fetched), now)
            # Rate counters of senders quiet for a day count nothing any more: dropping
            # them keeps state.json (rewritten by every commit) from growing forever.
            uow.changes.counters_removed = self.store.counters_older_than(iso(now - timedelta(days=1)))
            if self.dry_run:
                return rows
            crash_point("before_commit")
            uow.commit()
            crash_point("after_commit")
        mailbox.mark_processed([item.ref for item in fetched])
        return rows

    def _decide(self, item: FetchedMail, view: BatchView, now: datetime, *, sent: bool) -> Decision:
        if item.raw is None:
            limit = self.config.mailbox.max_message_bytes
            return Decision(
                outcome="quarantined",
                quarantine_stage="fetch",
                quarantine_reason=f"too large: {item.ref.size} bytes (limit {limit}); not downloaded",
            )
        incoming = Incoming(
            raw=item.raw, source=self._source(item.ref), received_at=item.ref.internal_date or now
        )
        if sent:
            decision = process_sent(incoming, view, self.config, now)
        else:
            decision = process(incoming, view, self.config, self.templates, now)
        view.record(decision, raw_sha256(item.raw))
        crash_point("after_parse")
        return decision

    def _source(self, ref: MailRef) -> str:
        return f"{'imap' if self.config.mailbox.kind == 'imap' else 'maildir'}:{ref.key}"

    def _carry_out(self, uow: UnitOfWork, item: FetchedMail, decision: Decision, now: datetime) -> Row:
        source = self._source(item.ref)
        if decision.outcome == "quarantined":
            quarantine(uow, decision, raw=item.raw, source=source, size=item.ref.size, now=now)
            return Row(source, "", "", "", decision.summary)
        file_decision(uow, decision, now)
        case_id = decision.case.case_id if decision.case else ""
        return Row(source, decision.sender, decision.subject, case_id, decision.summary)

    def _status_after_batch(self, count: int, now: datetime) -> dict[str, object]:
        status = self.store.status()
        return {"last_batch_at": iso(now), "processed_total": int(status.get("processed_total", 0)) + count}

    def _status(self, **fields: object) -> None:
        if not self.dry_run:
            record_status(self.store, **fields)

"""Intake: fetch new mail, run the pipeline, commit, mark — batch by batch.

The order of the side effects is the guarantee of docs/ARCHITECTURE.md §2: a mail is
marked processed in the mailbox (and the checkpoint moved) only after the commit
that stores its case, message, raw bytes and outgoing mail. That commit also records
the batch's marks as owed (``services.pending_marks``): a mark the server refuses is
retried at the start of every cycle until it succeeds. The ``commit_with`` hook adds
another service's changes to that commit (the daemon: the results of the previous
batch's acknowledgements), so a batch costs one commit, not two. After each batch the
``after_batch`` hook runs (the daemon sends the batch's acknowledgements there), so
under a backlog the first customers are answered at once, not after the last mail
is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import Clock, iso
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import BatchView, Decision, Incoming
from inbox_agent.pipeline.process import Analysis, process, process_analysed, process_sent
from inbox_agent.services.analysis_pool import AnalysisPool, PendingAnalysis, worker_count
from inbox_agent.services.checkpoints import Checkpoints
from inbox_agent.services.crash_points import crash_point
from inbox_agent.services.delivery import chunks
from inbox_agent.services.filing import file_decision, quarantine
from inbox_agent.services.pending_marks import OwedMarks, PendingMarks
from inbox_agent.services.ports import CaseStore, FetchedMail, Mailbox, MailboxError, MailboxState, MailRef
from inbox_agent.services.sent_copies import SentCopies
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
    marks_pending: int = 0  # mails processed whose mark (keyword, move) is still owed
    copies_pending: int = 0  # our replies not yet copied to the Sent folder
    mark_error: str = ""  # why a mark or a copy failed in this cycle ("" = none did)


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
        sent_copies: SentCopies | None = None,
        after_batch: Callable[[], None] | None = None,
        commit_with: Callable[[UnitOfWork], Callable[[], object] | None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.mailbox = mailbox
        # The account's Sent folder (IMAP only, when configured): replies written there
        # by hand are staff responses.
        self.sent_mailbox = sent_mailbox
        self.sent_copies = sent_copies  # copies of our replies the Sent folder still owes
        self._sent_problem = ""  # the Sent folder's last failure, logged once until it changes
        self.templates = templates
        self.clock = clock
        self.dry_run = dry_run
        self.should_stop = should_stop
        self.progress = progress
        self.after_batch = after_batch
        # Changes another service adds to each batch's commit (the daemon: the results
        # of the previous batch's acknowledgements, Delivery.record_with); it returns
        # what to do once they are committed.
        self.commit_with = commit_with
        self.checkpoints = Checkpoints(config, store, clock)
        self.marks = PendingMarks(store, config.mailbox.kind, dry_run=dry_run)

    @property
    def batch_size(self) -> int:
        return self.config.mailbox.imap.batch_size if self.config.mailbox.imap else 200

    def poll(self) -> CycleReport:
        """Marks owed from earlier cycles first; then every new inbox mail, batch by
        batch; then the Sent folder."""
        owed_by_folder: list[OwedMarks] = []
        try:
            state = self.mailbox.open()
            owed = self.marks.load(state)
            owed_by_folder.append(owed)
            self.marks.retry(self.mailbox, owed, self.clock.now())
            start = self.checkpoints.starting_point(state)
            refs = self.checkpoints.only_new(state.name, self.mailbox.list_new(start.after_uid, start.since))
        except MailboxError as exc:
            return self._failed((), 0, 0, exc, owed_by_folder)
        if start.first_checkpoint is not None and not self.dry_run:
            self.checkpoints.write(state.name, start.first_checkpoint)
        rows: list[Row] = []
        workers = worker_count(self.config.mailbox.workers) if len(refs) > self.batch_size else 1
        intake = self._intake_pipelined if workers > 1 else self._intake_in_process
        done, error = intake(refs, state, owed, rows, workers)
        if error is not None:
            return self._failed(rows, done, len(refs) - done, error, owed_by_folder)
        if not self.should_stop():
            sent_rows, sent_owed = self.poll_sent()
            rows.extend(sent_rows)
            owed_by_folder += [sent_owed] if sent_owed else []
        self._close_cycle(owed_by_folder, last_poll_at=iso(self.clock.now()), backlog=len(refs) - done)
        return self._report(rows, done, len(refs) - done, "", owed_by_folder)

    def _intake_in_process(
        self, refs: Sequence[MailRef], state: MailboxState, owed: OwedMarks, rows: list[Row], workers: int
    ) -> tuple[int, MailboxError | None]:
        """Batch by batch: fetch, decide, commit, mark, send. Returns the mails done."""
        done = 0
        try:
            for batch in chunks(refs, self.batch_size):
                if self.should_stop():
                    break
                fetched = list(self.mailbox.fetch(batch, self.config.mailbox.max_message_bytes))
                crash_point("after_fetch")
                rows.extend(self._process_batch(self.mailbox, state, owed, fetched))
                done += len(batch)
                self._after_batch(done, len(refs))
        except MailboxError as exc:
            return done, exc
        return done, None

    def _intake_pipelined(
        self, refs: Sequence[MailRef], state: MailboxState, owed: OwedMarks, rows: list[Row], workers: int
    ) -> tuple[int, MailboxError | None]:
        """The same, with a process pool (services/analysis_pool.py): the next batch is
        fetched and its analysis started before this one is decided, committed, marked
        and sent. Batches are committed in mail order; a fetch that fails drops only
        the batch not yet committed (nothing marked: it comes again next cycle)."""
        done = 0
        waiting: tuple[list[FetchedMail], PendingAnalysis] | None = None
        with AnalysisPool(self.config, workers) as pool:
            try:
                for batch in chunks(refs, self.batch_size):
                    if self.should_stop():
                        break
                    fetched = list(self.mailbox.fetch(batch, self.config.mailbox.max_message_bytes))
                    crash_point("after_fetch")
                    ready, waiting = (
                        waiting,
                        (fetched, pool.start(self._incomings(fetched), self.clock.now())),
                    )
                    if ready is not None:
                        done += self._commit_analysed(state, owed, rows, *ready)
                        self._after_batch(done, len(refs))
            except MailboxError as exc:
                return done, exc
            if waiting is not None:
                done += self._commit_analysed(state, owed, rows, *waiting)
                self._after_batch(done, len(refs))
        return done, None

    def _incomings(self, fetched: Sequence[FetchedMail]) -> list[Incoming]:
        """The mails of a batch the analysis can read (too large ones were not fetched)."""
        now = self.clock.now()
        return [self._incoming(item, now) for item in fetched if item.raw is not None]

    def _commit_analysed(
        self,
        state: MailboxState,
        owed: OwedMarks,
        rows: list[Row],
        fetched: list[FetchedMail],
        pending: PendingAnalysis,
    ) -> int:
        results = iter(zip(pending.incomings, pending.result(), strict=True))
        analysed = [next(results) if item.raw is not None else None for item in fetched]
        rows.extend(self._process_batch(self.mailbox, state, owed, fetched, analysed=analysed))
        return len(fetched)

    def _after_batch(self, done: int, total: int) -> None:
        if self.progress:
            self.progress(done, total)
        if self.after_batch and not self.dry_run:
            self.after_batch()

    def _failed(
        self, rows: Sequence[Row], done: int, left: int, exc: MailboxError, owed: list[OwedMarks]
    ) -> CycleReport:
        self._close_cycle(owed, mailbox=f"error: {exc}", last_error=str(exc))
        return self._report(rows, done, left, str(exc), owed)

    def _report(
        self, rows: Sequence[Row], done: int, left: int, error: str, owed: list[OwedMarks]
    ) -> CycleReport:
        copies = self.sent_copies
        problems = [item.error for item in owed if item.error] + (
            [copies.error] if copies and copies.error else []
        )
        return CycleReport(
            tuple(rows),
            done,
            left,
            0,
            0,
            0,
            error=error,
            marks_pending=sum(item.count for item in owed),
            copies_pending=copies.count if copies else 0,
            mark_error="; ".join(problems),
        )

    def refresh_report(self, report: CycleReport) -> CycleReport:
        """The report with the Sent copies as they stand now: the cycle's last sends
        (after the intake) may have added to them."""
        copies = self.sent_copies
        if copies is None or not copies.error or copies.error in report.mark_error:
            return replace(report, copies_pending=copies.count if copies else 0)
        mark_error = "; ".join(filter(None, (report.mark_error, copies.error)))
        return replace(report, copies_pending=copies.count, mark_error=mark_error)

    def poll_sent(self) -> tuple[list[Row], OwedMarks | None]:
        """New mail in the Sent folder. The first look only notes where the folder
        stands: replies sent before the daemon knew the folder are not responses it
        could have waited for. A failure here is logged; the inbox goes on."""
        mailbox = self.sent_mailbox
        if mailbox is None:
            return [], None
        if self.sent_copies is not None and not self.dry_run:
            self.sent_copies.retry()
        rows: list[Row] = []
        owed: OwedMarks | None = None
        try:
            state = mailbox.open()
            owed = self.marks.load(state)
            self.marks.retry(mailbox, owed, self.clock.now())
            after_uid = self.checkpoints.sent_folder_start(state, write=not self.dry_run)
            if after_uid is None:
                return [], owed
            for batch in chunks(mailbox.list_new(after_uid, None), self.batch_size):
                fetched = list(mailbox.fetch(batch, self.config.mailbox.max_message_bytes))
                rows.extend(self._process_batch(mailbox, state, owed, fetched, sent=True))
        except MailboxError as exc:
            self._sent_folder_failed(exc)
        return rows, owed

    def _sent_folder_failed(self, exc: MailboxError) -> None:
        """Logged as a warning once, then quietly while the same cause persists."""
        level = logging.DEBUG if str(exc) == self._sent_problem else logging.WARNING
        self._sent_problem = str(exc)
        log.log(level, "Sent folder not read this cycle: %s", exc)

    def _process_batch(
        self,
        mailbox: Mailbox,
        state: MailboxState,
        owed: OwedMarks,
        fetched: Sequence[FetchedMail],
        *,
        sent: bool = False,
        analysed: Sequence[tuple[Incoming, Analysis] | None] | None = None,
    ) -> list[Row]:
        """Decide every mail of the batch, commit them (and their marks as owed) as one
        unit, then mark them. ``analysed``: per mail, its analysis done ahead (pool)."""
        with UnitOfWork(self.store, dry_run=self.dry_run) as uow:
            now = self.clock.now()
            view = batch_view(self.store)
            ahead = analysed or [None] * len(fetched)
            decisions = [
                (item, self._decide(item, view, now, sent=sent, analysed=done_ahead))
                for item, done_ahead in zip(fetched, ahead, strict=True)
            ]
            rows = [self._carry_out(uow, item, decision, now) for item, decision in decisions]
            uow.changes.next_case_seq = view.next_seq
            uids = [item.ref.uid for item in fetched if item.ref.uid]
            if uids:
                uow.changes.checkpoints[self.checkpoints.key(state.name)] = {
                    "uidvalidity": state.uidvalidity,
                    "uid": max(uids),
                }
            uow.changes.status = self._status_after_batch(len(fetched), now)
            # Rate counters of senders quiet for a day count nothing any more: dropping
            # them keeps state.json (rewritten by every commit) from growing forever.
            uow.changes.counters_removed = self.store.counters_older_than(iso(now - timedelta(days=1)))
            if self.dry_run:
                return rows
            self.marks.stage(uow.changes, owed, [item.ref for item in fetched])
            # Added last: its changes (events on cases) apply to the cases as this batch left them.
            committed = self.commit_with(uow) if self.commit_with else None
            crash_point("before_commit")
            uow.commit()
            crash_point("after_commit")
        if committed is not None:
            committed()
        self.marks.mark(mailbox, owed, [item.ref for item in fetched], now)
        return rows

    def _decide(
        self,
        item: FetchedMail,
        view: BatchView,
        now: datetime,
        *,
        sent: bool,
        analysed: tuple[Incoming, Analysis] | None = None,
    ) -> Decision:
        if item.raw is None:
            limit = self.config.mailbox.max_message_bytes
            return Decision(
                outcome="quarantined",
                quarantine_stage="fetch",
                quarantine_reason=f"too large: {item.ref.size} bytes (limit {limit}); not downloaded",
            )
        incoming = analysed[0] if analysed is not None else self._incoming(item, now)
        if sent:
            decision = process_sent(incoming, view, self.config, now)
        elif analysed is not None:
            decision = process_analysed(incoming, analysed[1], view, self.config, self.templates, now)
        else:
            decision = process(incoming, view, self.config, self.templates, now)
        view.record(decision, incoming.raw_sha256)
        crash_point("after_parse")
        return decision

    def _incoming(self, item: FetchedMail, now: datetime) -> Incoming:
        assert item.raw is not None
        # Never later than now: a skewed INTERNALDATE or maildir mtime would hold the SLA clock back.
        received = min(item.ref.internal_date or now, now)
        return Incoming(raw=item.raw, source=self._source(item.ref), received_at=received)

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

    def _close_cycle(self, owed: Sequence[OwedMarks], **fields: object) -> None:
        """One commit: the status line and what the folders still owe. Best effort like
        every status write: owed marks not settled here are marked again next cycle."""
        if self.dry_run:
            return
        pending = sum(item.count for item in owed)
        if pending and fields.get("mailbox") is None:
            reasons = "; ".join(item.reason for item in owed if item.reason)
            fields["mailbox"] = f"ok; {pending} processed mails still to be marked ({reasons or 'retrying'})"
        fields.setdefault("mailbox", "ok")
        try:
            with UnitOfWork(self.store) as uow:
                uow.changes.status = dict(fields)
                for item in owed:
                    self.marks.settle(uow.changes, item)
                uow.commit()
        except OSError as exc:  # disk full, permission denied: the cycle reports the cause
            log.error("could not record the cycle's status: %s", exc.strerror or exc)
        except Exception:
            log.exception("could not record the cycle's status")

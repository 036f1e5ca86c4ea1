"""Delivery: hand due outbox mail to the transport and record what happened.

Each batch is one connection and one unit of work: the results (sent, retry later,
failed for good) and the case events they cause are committed together. The
transport reports every accepted mail at once to the accepted-mail log, so a crash
between the server's 250 and that commit does not send the mail again: the next
run marks it sent first (``settle_accepted``).

A local write that fails (disk full, permission denied) never sends a mail twice:
before a batch goes out, the log reserves the room for its lines, and when it cannot
nothing is sent; an accepted mail whose line still could not be written is held in
memory by the log. Every send first settles what the log holds, and sends nothing
while that commit fails — so sending stops until every accepted mail is recorded.
"""

from __future__ import annotations

import email.policy
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from email.parser import BytesHeaderParser
from typing import Any

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import Clock, iso
from inbox_agent.domain.model import MessageRecord, OutgoingMail, SendOutcome, SendResult
from inbox_agent.domain.outbox import FAILED, PartlyRefused, after_result, error_line, is_due
from inbox_agent.services.crash_points import crash_point
from inbox_agent.services.ports import AcceptedLog, CaseStore, Mailbox, MailboxError, Transport
from inbox_agent.services.unit_of_work import UnitOfWork

log = logging.getLogger("inbox_agent.services.delivery")


@dataclass(frozen=True)
class SendTotals:
    sent: int = 0
    failed: int = 0
    retry: int = 0

    def __add__(self, other: SendTotals) -> SendTotals:
        return SendTotals(self.sent + other.sent, self.failed + other.failed, self.retry + other.retry)


class Delivery:
    def __init__(
        self,
        config: Config,
        store: CaseStore,
        transport: Transport,
        clock: Clock,
        accepted: AcceptedLog,
        *,
        sent_mailbox: Mailbox | None = None,
        dry_run: bool = False,
    ) -> None:
        self.config = config
        self.store = store
        self.transport = transport
        self.clock = clock
        self.accepted = accepted
        self.sent_mailbox = sent_mailbox  # copies of what we sent are kept there
        self.dry_run = dry_run
        self._quiet_until = 0.0  # monotonic time before which send_after_batch waits
        self._totals = SendTotals()  # since the last take_totals()
        # False: send_after_batch sends in the calling thread (bench/worker.py's profile
        # run, which times every stage in one thread).
        self.send_in_thread = True
        self._thread: ThreadPoolExecutor | None = None  # the sender thread, started on first use
        # Batches handed to the sender thread, and its answer: committed by finish_sending.
        self._in_flight: (
            tuple[list[tuple[list[dict[str, Any]], list[OutgoingMail]]], Future[list[list[SendResult]]]]
            | None
        ) = None

    def send_due(self) -> SendTotals:
        """Deliver every due mail, batch by batch, and wait for it (after the mail
        handed to the sender thread by ``send_after_batch``, if any)."""
        if self.dry_run:
            return SendTotals()
        self.close()  # the end of a cycle: no thread is left to a fork at the next one
        self.settle_accepted()  # raises while it cannot be recorded: then nothing is sent
        batches = self._due_batches()
        return self._record(batches, self._transmit(batches))

    def send_after_batch(self) -> None:
        """Send what an intake batch just queued, so under a backlog the first customers
        are answered at once — in the sender thread, while the daemon goes on with the
        next batch: the SMTP round trips (a fifth of a cycle's wall time) overlap its
        work. The results are committed by the daemon's own thread, at the next call or
        at ``send_due``; until then the accepted-mail log holds every 250, as it does
        between a send and its commit anyway. While the server is refusing or
        unreachable this waits for the cycle's own send: a backlog must not wait for a
        timeout per batch."""
        if self.dry_run or time.monotonic() < self._quiet_until:
            return
        if not self.send_in_thread:
            self.send_due()
            return
        self.finish_sending()
        self.settle_accepted()
        batches = self._due_batches()
        if batches:
            self._in_flight = (batches, self._sender().submit(self._transmit, batches))

    def finish_sending(self) -> None:
        """Wait for the mail in the sender thread and commit its results (here, in the
        thread that owns the store). An error raised there is raised here."""
        if self._in_flight is None:
            return
        batches, future = self._in_flight
        self._in_flight = None
        self._record(batches, future.result())

    def record_with(self, uow: UnitOfWork) -> Callable[[], object] | None:
        """Add the results of the mail in the sender thread to ``uow``, an intake
        batch's unit of work, so one commit records both (not two per batch). Returns
        what follows that commit (the accepted-mail log cleared, copies to Sent), or
        None when nothing was added: nothing in flight, or the thread failed, whose
        error ``finish_sending`` raises after the intake's commit, not inside it. If the
        intake's commit fails, the 250s are still in the accepted-mail log and the
        next send marks them sent, as after any failed commit of results."""
        if self._in_flight is None:
            return None
        batches, future = self._in_flight
        if future.exception() is not None:  # waits for the thread, usually done by now
            return None
        self._in_flight = None
        sent = future.result()
        counts = self._add_results(uow, batches, sent)
        uow.changes.status.update(_send_status(counts, self.clock.now()))
        return lambda: self._after_commit(batches, sent, counts)  # copies to Sent, then settled

    def _sender(self) -> ThreadPoolExecutor:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="inbox-agent-smtp")
        return self._thread

    def close(self) -> None:
        """Commit what is in flight and stop the sender thread (started again when needed:
        the analysis pool forks workers at the start of a cycle, and a fork should not
        copy a process with another thread in it)."""
        try:
            self.finish_sending()
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=True)
                self._thread = None

    def _due_batches(self) -> list[tuple[list[dict[str, Any]], list[OutgoingMail]]]:
        now = self.clock.now()
        due = [entry for entry in self.store.outbox_entries() if is_due(entry, now)]
        return [
            (batch, [self._outgoing(entry) for entry in batch])
            for batch in chunks(due, self.config.smtp.batch_size)
        ]

    def _transmit(self, batches: Sequence[tuple[Any, list[OutgoingMail]]]) -> list[list[SendResult]]:
        """Hand each batch to the server: no store access (it may run in the sender thread)."""
        sent: list[list[SendResult]] = []
        for _, mails in batches:
            self.accepted.reserve(len(mails))  # no room to record a 250: send nothing
            results = self.transport.send_batch(mails)
            self.accepted.sync()  # the batch's 250s durable before its results commit
            crash_point("after_smtp_accepted")
            sent.append(results)
        return sent

    def _record(
        self,
        batches: Sequence[tuple[list[dict[str, Any]], list[OutgoingMail]]],
        sent: Sequence[list[SendResult]],
    ) -> SendTotals:
        """Commit the results of batches handed to the server, in order; one commit per
        batch, the accepted-mail log cleared once all are committed."""
        counts = {SendOutcome.SENT: 0, SendOutcome.FAILED: 0, SendOutcome.RETRY: 0}
        for number, (batch, results) in enumerate(zip(batches, sent, strict=True), 1):
            with UnitOfWork(self.store) as uow:
                batch_counts = self._add_results(uow, [batch], [results])
                counts = {outcome: counts[outcome] + batch_counts[outcome] for outcome in counts}
                # The SMTP status line rides on the last batch's results: one commit, not two.
                if number == len(batches):
                    uow.changes.status.update(_send_status(counts, self.clock.now()))
                uow.commit()
            self._copy_to_sent(batch[1], results)  # each batch's copies once it is committed
        return self._settled(counts)

    def _add_results(
        self,
        uow: UnitOfWork,
        batches: Sequence[tuple[list[dict[str, Any]], list[OutgoingMail]]],
        sent: Sequence[list[SendResult]],
    ) -> dict[SendOutcome, int]:
        """Each batch's results as changes of ``uow``; how many of each outcome."""
        counts = {SendOutcome.SENT: 0, SendOutcome.FAILED: 0, SendOutcome.RETRY: 0}
        now = self.clock.now()
        for (entries, _), results in zip(batches, sent, strict=True):
            by_id = {entry["outbox_id"]: entry for entry in entries}
            for result in results:
                counts[result.outcome] += 1
                entry = by_id.get(result.outbox_id)
                if entry is not None:
                    self._record_result(uow, entry, result, now)
        return counts

    def _after_commit(
        self,
        batches: Sequence[tuple[list[dict[str, Any]], list[OutgoingMail]]],
        sent: Sequence[list[SendResult]],
        counts: dict[SendOutcome, int],
    ) -> SendTotals:
        """Once the results are committed: copies go to the Sent folder, then as ``_settled``."""
        for (_, mails), results in zip(batches, sent, strict=True):
            self._copy_to_sent(mails, results)
        return self._settled(counts)

    def _settled(self, counts: dict[SendOutcome, int]) -> SendTotals:
        """Every result committed: the log's lines are no longer needed, and a refusal
        quiets sending for a while."""
        self.accepted.clear()
        if counts[SendOutcome.RETRY]:
            self._quiet_until = time.monotonic() + self.config.smtp.retry_initial
        totals = SendTotals(counts[SendOutcome.SENT], counts[SendOutcome.FAILED], counts[SendOutcome.RETRY])
        self._totals = self._totals + totals
        return totals

    def take_totals(self) -> SendTotals:
        """What was sent since the last call (a cycle's figure for the run table)."""
        totals, self._totals = self._totals, SendTotals()
        return totals

    def settle_accepted(self) -> None:
        """Mails accepted by the server before a crash are marked sent, not sent again."""
        accepted = self.accepted.read()
        if not accepted:
            return
        entries = [entry for entry in self.store.outbox_entries() if entry["outbox_id"] in accepted]
        results = [
            SendResult(entry["outbox_id"], SendOutcome.SENT, "accepted before a restart") for entry in entries
        ]
        with UnitOfWork(self.store) as uow:
            self._add_results(uow, [(entries, [])], [results])
            uow.commit()
        self.accepted.clear()

    def _outgoing(self, entry: dict[str, Any]) -> OutgoingMail:
        return OutgoingMail(
            outbox_id=entry["outbox_id"],
            case_id=entry["case_id"],
            kind=entry["kind"],
            message_id=entry["message_id"],
            sender=entry["sender"],
            recipients=tuple(entry["recipients"]),
            raw=self.store.get_blob(entry["raw_sha256"]),
        )

    def _record_result(
        self, uow: UnitOfWork, entry: dict[str, Any], result: SendResult, now: datetime
    ) -> None:
        settings = self.config.smtp
        # The reason is kept on the entry and the case and shown by `status`: one line,
        # and never a password of ours, whatever a server or a library echoed.
        result = replace(result, detail=error_line(result.detail, secrets=_secrets(self.config)))
        updated = after_result(entry, result, now, settings.retry_initial, settings.retry_max)
        if updated is None:
            uow.changes.outbox_removed.add(result.outbox_id)
            uow.add_event(
                entry["case_id"], now, "mail_sent", "system", f"{entry['kind']} {entry['message_id']}"
            )
            case = uow.case(entry["case_id"])
            subject = entry.get("subject") or _subject_of(self.store.get_blob(entry["raw_sha256"]))
            uow.add_message(_outgoing_record(entry, now, subject, case.language if case else ""))
            if isinstance(result, PartlyRefused):
                self._record_refused(uow, entry, result, now)
            return
        uow.changes.outbox[result.outbox_id] = updated
        if updated["status"] == FAILED:  # refused for good, or retried past the give-up age
            detail = f"{entry['kind']} to {', '.join(entry['recipients'])}: {updated['last_error']}"
            uow.add_event(entry["case_id"], now, "mail_failed", "system", detail)
            log.error("outgoing mail %s failed for good: %s", entry["outbox_id"], updated["last_error"])

    @staticmethod
    def _record_refused(uow: UnitOfWork, entry: dict[str, Any], result: PartlyRefused, now: datetime) -> None:
        """Sent, but the server refused some recipients for good (an escalation to two
        staff, one address gone): the case names who did not get it and why, or
        nobody would ever know that person was not notified."""
        refused = "; ".join(f"{address}: {answer}" for address, answer in result.refused)
        others = [rcpt for rcpt in entry["recipients"] if rcpt not in dict(result.refused)]
        delivered = f" (delivered to {', '.join(others)})" if others else ""
        detail = (
            f"{entry['kind']} to {', '.join(address for address, _ in result.refused)}: {refused}{delivered}"
        )
        uow.add_event(entry["case_id"], now, "mail_failed", "system", detail)
        log.error("outgoing mail %s not delivered to every recipient: %s", entry["outbox_id"], refused)

    def _copy_to_sent(self, mails: Sequence[OutgoingMail], results: Sequence[SendResult]) -> None:
        """Best effort, after the sent marks are committed: a copy that fails is logged,
        never a reason to send the mail again."""
        if self.sent_mailbox is None:
            return
        sent = {result.outbox_id for result in results if result.outcome == SendOutcome.SENT}
        for mail in mails:
            if mail.outbox_id not in sent:
                continue
            try:
                self.sent_mailbox.append_sent(mail.raw)
            except MailboxError as exc:
                log.warning("copy of %s not kept in the Sent folder: %s", mail.outbox_id, exc)
                return


def _secrets(config: Config) -> tuple[str, ...]:
    imap = config.mailbox.imap
    return (config.smtp.password.reveal(), imap.password.reveal() if imap is not None else "")


def _subject_of(raw: bytes) -> str:
    """The decoded Subject of a mail we sent: the case's timeline shows what the
    customer saw, not our internal kind ("ack_first")."""
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    return str(headers.get("subject", ""))


def _outgoing_record(entry: dict[str, Any], now: datetime, subject: str, language: str) -> MessageRecord:
    return MessageRecord(
        key=f"{entry['message_id']}|{entry['raw_sha256']}",
        case_id=entry["case_id"],
        direction="out",
        message_id=entry["message_id"],
        raw_sha256=entry["raw_sha256"],
        sender=entry["sender"],
        subject=subject or entry["kind"],
        date=iso(now),
        received_at=iso(now),
        source=f"outbox:{entry['outbox_id']}",
        text="",
        language=language or "en",
    )


def _send_status(counts: dict[SendOutcome, int], now: datetime) -> dict[str, Any]:
    """What `status` shows of the last send."""
    smtp = "ok" if not counts[SendOutcome.RETRY] else "retrying: some mail could not be delivered yet"
    return {"smtp": smtp, "last_send_at": iso(now)}


def record_status(store: CaseStore, **fields: Any) -> None:
    """What `inbox-agent status` shows (last poll, mailbox and SMTP state). Best
    effort: a failure is logged, the cycle's result matters more."""
    try:
        with UnitOfWork(store) as uow:
            uow.changes.status = dict(fields)
            uow.commit()
    except OSError as exc:  # disk full, permission denied: the cycle reports the cause
        log.error("could not record status: %s", exc.strerror or exc)
    except Exception:
        log.exception("could not record status")


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]

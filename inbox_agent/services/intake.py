"""One cycle of the daemon: fetch new mail, decide, commit, mark; then send the outbox.

This is where decisions of the pure core meet the adapters. The order of the side
effects is the guarantee of DESIGN.md §2: a mail is marked processed in the mailbox
(and the checkpoint moved) only in/after the commit that stores its case, message,
raw bytes and outgoing mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from inbox_agent.adapters.tinydb_store import Changes, Store, crash_point
from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import Clock, iso
from inbox_agent.domain.model import Event, MessageRecord, OutgoingMail, SendOutcome, SendResult
from inbox_agent.domain.outbox import SentLog, after_result, is_due, new_entry
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.process import BatchView, Decision, Incoming, process, process_sent
from inbox_agent.services.ports import FetchedMail, Mailbox, MailboxError, MailRef
from inbox_agent.services.transport_port import Transport

log = logging.getLogger("inbox_agent.services.intake")


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


Progress = Callable[[int, int], None]  # (done, total)


class Runner:
    def __init__(
        self,
        config: Config,
        store: Store,
        mailbox: Mailbox,
        transport: Transport,
        templates: TemplateSet,
        clock: Clock,
        *,
        dry_run: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
        sent_mailbox: Mailbox | None = None,
    ) -> None:
        self.config = config
        # The account's Sent folder (IMAP only, when configured): replies written there
        # by hand are staff responses, and copies of our replies are kept there.
        self.sent_mailbox = sent_mailbox
        self.store = store
        self.mailbox = mailbox
        self.transport = transport
        self.templates = templates
        self.clock = clock
        self.dry_run = dry_run
        self.should_stop = should_stop
        self.progress = progress
        self.sent_log = SentLog(store.root / "outbox-sent.log")

    # ------------------------------------------------------------ poll

    def _checkpoint_key(self, name: str) -> str:
        return f"{self.config.mailbox.kind}:{name}"

    def _starting_point(
        self, name: str, uidvalidity: int, uidnext: int
    ) -> tuple[int, Any, dict[str, Any] | None]:
        """(after_uid, since, checkpoint to write first) for this mailbox."""
        checkpoint = self.store.checkpoint(self._checkpoint_key(name))
        settings = self.config.mailbox
        if checkpoint is not None:
            if checkpoint.get("uidvalidity") == uidvalidity:
                return int(checkpoint.get("uid", 0)), None, None
            # UIDVALIDITY changed: UIDs mean nothing any more. Look at everything again;
            # content-hash de-duplication files each known mail as a duplicate.
            log.warning(
                "UIDVALIDITY of %s changed (%s -> %s): rescanning",
                name,
                checkpoint.get("uidvalidity"),
                uidvalidity,
            )
            return 0, None, {"uidvalidity": uidvalidity, "uid": 0}
        if settings.start_from == "now" and uidvalidity:
            return uidnext - 1, None, {"uidvalidity": uidvalidity, "uid": uidnext - 1}
        if settings.start_from == "now":
            # Maildir has no UIDs: "now" means mail whose file is newer than the first start.
            return 0, self.clock.now().date(), {"uidvalidity": 0, "uid": 0, "since": iso(self.clock.now())}
        if settings.start_from == "date":
            return 0, settings.start_date, {"uidvalidity": uidvalidity, "uid": 0}
        return 0, None, {"uidvalidity": uidvalidity, "uid": 0}

    def poll(self) -> CycleReport:
        """Fetch and process every new mail, batch by batch."""
        try:
            state = self.mailbox.open()
            after_uid, since, first_checkpoint = self._starting_point(
                state.name, state.uidvalidity, state.uidnext
            )
            refs = self.mailbox.list_new(after_uid, since)
        except MailboxError as exc:
            self._record_status(mailbox=f"error: {exc}", last_error=str(exc))
            return CycleReport((), 0, 0, 0, 0, 0, error=str(exc))
        refs = self._filter_started(state.name, refs)
        checkpoint_key = self._checkpoint_key(state.name)
        if first_checkpoint is not None and not self.dry_run:
            self.store.commit(Changes(checkpoints={checkpoint_key: first_checkpoint}))
        rows: list[Row] = []
        done = 0
        batch_size = self.config.mailbox.imap.batch_size if self.config.mailbox.imap else 200
        try:
            for batch in _chunks(refs, batch_size):
                if self.should_stop():
                    break
                fetched = list(self.mailbox.fetch(batch, self.config.mailbox.max_message_bytes))
                crash_point("after_fetch")
                rows.extend(self._process_batch(state.name, state.uidvalidity, fetched))
                done += len(batch)
                if self.progress:
                    self.progress(done, len(refs))
        except MailboxError as exc:
            self._record_status(mailbox=f"error: {exc}", last_error=str(exc))
            return CycleReport(tuple(rows), done, len(refs) - done, 0, 0, 0, error=str(exc))
        if not self.should_stop():
            rows.extend(self.poll_sent())
        self._record_status(mailbox="ok", last_poll_at=iso(self.clock.now()), backlog=len(refs) - done)
        return CycleReport(tuple(rows), done, len(refs) - done, 0, 0, 0)

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
            key = self._checkpoint_key(state.name)
            checkpoint = self.store.checkpoint(key)
            if not checkpoint or checkpoint.get("uidvalidity") != state.uidvalidity:
                if not self.dry_run:
                    start = {"uidvalidity": state.uidvalidity, "uid": max(0, state.uidnext - 1)}
                    self.store.commit(Changes(checkpoints={key: start}))
                return []
            refs = mailbox.list_new(int(checkpoint.get("uid", 0)), None)
            batch_size = self.config.mailbox.imap.batch_size if self.config.mailbox.imap else 200
            for batch in _chunks(refs, batch_size):
                fetched = list(mailbox.fetch(batch, self.config.mailbox.max_message_bytes))
                rows.extend(
                    self._process_batch(state.name, state.uidvalidity, fetched, mailbox=mailbox, sent=True)
                )
        except MailboxError as exc:
            log.warning("Sent folder not read this cycle: %s", exc)
        return rows

    def _filter_started(self, name: str, refs: list[MailRef]) -> list[MailRef]:
        """Maildir with start_from = "now": only files newer than the first start."""
        checkpoint = self.store.checkpoint(self._checkpoint_key(name))
        since = checkpoint.get("since") if checkpoint else None
        if not since:
            return refs
        return [ref for ref in refs if ref.internal_date is None or iso(ref.internal_date) >= since]

    def _process_batch(
        self,
        name: str,
        uidvalidity: int,
        fetched: Sequence[FetchedMail],
        *,
        mailbox: Mailbox | None = None,
        sent: bool = False,
    ) -> list[Row]:
        rows: list[Row] = []
        with self.store.write_lock():
            now = self.clock.now()
            view = self._view()
            changes = Changes()
            decisions: list[tuple[FetchedMail, Decision]] = []
            for item in fetched:
                decision = self._decide(item, view, now, sent=sent)
                decisions.append((item, decision))
                if item.raw is not None:
                    view.record(decision, _sha(item.raw))
                crash_point("after_parse")
            for item, decision in decisions:
                rows.append(self._apply(item, decision, changes, now))
            changes.next_case_seq = view.next_seq
            uids = [item.ref.uid for item in fetched if item.ref.uid]
            if uids:
                changes.checkpoints[self._checkpoint_key(name)] = {
                    "uidvalidity": uidvalidity,
                    "uid": max(uids),
                }
            changes.status = self._status_after_batch(len(fetched), now)
            # Rate counters of senders quiet for a day count nothing any more: dropping
            # them keeps state.json (rewritten by every commit) from growing forever.
            changes.counters_removed = self.store.counters_older_than(iso(now - timedelta(days=1)))
            if self.dry_run:
                return rows
            crash_point("before_commit")
            self.store.commit(changes)
            crash_point("after_commit")
        (mailbox or self.mailbox).mark_processed([item.ref for item in fetched])
        return rows

    def _view(self) -> BatchView:
        index = self.store.index
        return BatchView(
            get_stored_case=self.store.get_case,
            message_cases=index.message_cases,
            known_hashes=index.hashes,
            next_seq=int(self.store.meta().get("next_case_seq", 1)),
            counters=self.store.counter,
        )

    def _decide(self, item: FetchedMail, view: BatchView, now: datetime, *, sent: bool = False) -> Decision:
        if item.raw is None:
            limit = self.config.mailbox.max_message_bytes
            return Decision(
                outcome="quarantined",
                quarantine_stage="fetch",
                quarantine_reason=f"too large: {item.ref.size} bytes (limit {limit}); not downloaded",
            )
        received = item.ref.internal_date or now
        incoming = Incoming(raw=item.raw, source=self._source(item.ref), received_at=received)
        if sent:
            return process_sent(incoming, view, self.config, now)
        return process(incoming, view, self.config, self.templates, now)

    def _source(self, ref: MailRef) -> str:
        if self.config.mailbox.kind == "imap":
            return f"imap:{ref.key}"
        return f"maildir:{ref.key}"

    def _apply(self, item: FetchedMail, decision: Decision, changes: Changes, now: datetime) -> Row:
        """Turn one decision into changes (blobs are written now: content-addressed, idempotent)."""
        source = self._source(item.ref)
        if not self.dry_run:
            for blob in decision.blobs:
                self.store.put_blob(blob)
            for safe_name, payload in decision.attachments:
                self.store.put_attachment(safe_name, payload)
        if decision.outcome == "quarantined":
            sha = _sha(item.raw) if item.raw is not None else ""
            entry_id = (sha or _sha(source.encode()))[:12]
            changes.quarantine[entry_id] = {
                "id": entry_id,
                "key": f"q|{sha or source}",
                "at": iso(now),
                "stage": decision.quarantine_stage,
                "reason": decision.quarantine_reason,
                "raw_sha256": sha,
                "source": source,
                "size": item.ref.size,
            }
            log.warning(
                "quarantined %s at %s: %s", source, decision.quarantine_stage, decision.quarantine_reason
            )
            return Row(source, "", "", "", decision.summary)
        if decision.case is not None:
            changes.put_case(decision.case)
        if decision.message is not None:
            changes.messages.append(decision.message)
        for mail in decision.outgoing:
            changes.outbox[mail.outbox_id] = new_entry(mail, _sha(mail.raw), now)
        case_id = decision.case.case_id if decision.case else ""
        return Row(source, decision.sender, decision.subject, case_id, decision.summary)

    def _status_after_batch(self, count: int, now: datetime) -> dict[str, Any]:
        status = self.store.status()
        return {
            "last_batch_at": iso(now),
            "processed_total": int(status.get("processed_total", 0)) + count,
        }

    def _record_status(self, **fields: Any) -> None:
        if self.dry_run:
            return
        try:
            self.store.commit(Changes(status=fields))
        except Exception:  # status is best effort; the poll result matters more
            log.exception("could not record status")

    # ------------------------------------------------------------ send

    def send_outbox(self) -> tuple[int, int, int]:
        """Deliver due mail. Returns (sent, failed, to retry)."""
        if self.dry_run:
            return 0, 0, 0
        self._settle_accepted()
        now = self.clock.now()
        due = [entry for entry in self.store.outbox_entries() if is_due(entry, now)]
        totals = [0, 0, 0]
        for batch in _chunks(due, self.config.smtp.batch_size):
            mails = [self._outgoing(entry) for entry in batch]
            results = self.transport.send_batch(mails)
            crash_point("after_smtp_accepted")
            self._commit_results(batch, results)
            self._copy_to_sent(mails, results)
            for result in results:
                index = {SendOutcome.SENT: 0, SendOutcome.FAILED: 1, SendOutcome.RETRY: 2}[result.outcome]
                totals[index] += 1
        smtp_state = "ok" if not totals[2] else "retrying: some mail could not be delivered yet"
        if due:
            self._record_status(smtp=smtp_state, last_send_at=iso(now))
        return totals[0], totals[1], totals[2]

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
                self.sent_mailbox.append_sent(mail.raw)  # type: ignore[attr-defined]
            except MailboxError as exc:
                log.warning("copy of %s not kept in the Sent folder: %s", mail.outbox_id, exc)
                return

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

    def _settle_accepted(self) -> None:
        """Mails accepted by the server before a crash are marked sent, not sent again."""
        accepted = self.sent_log.read()
        if not accepted:
            return
        entries = [entry for entry in self.store.outbox_entries() if entry["outbox_id"] in accepted]
        results = [
            SendResult(entry["outbox_id"], SendOutcome.SENT, "accepted before a restart") for entry in entries
        ]
        self._commit_results(entries, results)

    def _commit_results(self, entries: Iterable[dict[str, Any]], results: Sequence[SendResult]) -> None:
        by_id = {entry["outbox_id"]: entry for entry in entries}
        settings = self.config.smtp
        with self.store.write_lock():
            now = self.clock.now()
            changes = Changes()
            for result in results:
                entry = by_id.get(result.outbox_id)
                if entry is None:
                    continue
                updated = after_result(entry, result, now, settings.retry_initial, settings.retry_max)
                if updated is None:
                    changes.outbox_removed.add(result.outbox_id)
                    self._case_event(
                        changes, entry, "mail_sent", f"{entry['kind']} {entry['message_id']}", now
                    )
                    changes.messages.append(_outgoing_record(entry, now))
                else:
                    changes.outbox[result.outbox_id] = updated
                    if result.outcome == SendOutcome.FAILED:
                        detail = f"{entry['kind']} to {', '.join(entry['recipients'])}: {result.detail}"
                        self._case_event(changes, entry, "mail_failed", detail, now)
                        log.error("outgoing mail %s failed for good: %s", entry["outbox_id"], result.detail)
            self.store.commit(changes)
        self.sent_log.clear()

    def _case_event(
        self, changes: Changes, entry: dict[str, Any], kind: str, detail: str, now: datetime
    ) -> None:
        case = changes.cases.get(entry["case_id"]) or self.store.get_case(entry["case_id"])
        if case is None:
            return
        event = Event(at=iso(now), kind=kind, actor="system", detail=detail)
        changes.put_case(replace(case, events=case.events + (event,), updated_at=event.at))


def _outgoing_record(entry: dict[str, Any], now: datetime) -> MessageRecord:
    return MessageRecord(
        key=f"{entry['message_id']}|{entry['raw_sha256']}",
        case_id=entry["case_id"],
        direction="out",
        message_id=entry["message_id"],
        raw_sha256=entry["raw_sha256"],
        sender=entry["sender"],
        subject=entry["kind"],
        date=iso(now),
        received_at=iso(now),
        source=f"outbox:{entry['outbox_id']}",
        text="",
    )


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]

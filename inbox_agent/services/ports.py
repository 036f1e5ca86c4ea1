"""Ports: the interfaces the services need, and the records that cross them.

- ``Mailbox``: where complaints arrive (IMAP, Maildir);
- ``Transport``: where replies leave (SMTP, a directory);
- ``CaseStore``: where cases, messages, the outbox, quarantine and checkpoints live
  (TinyDB on disk; an in-memory fake in the tests). Changes go through a unit of
  work (``services.unit_of_work``) and are committed as one ``Changes``.

Each adapter implements one of them completely; nothing else reaches an adapter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from inbox_agent.domain.model import Case, CaseStatus, MessageRecord, OutgoingMail, SendResult


class MailboxError(Exception):
    """The mailbox could not be reached or answered with an error (retry later)."""


@dataclass(frozen=True)
class MailboxState:
    name: str  # folder name, e.g. "INBOX"
    uidvalidity: int  # 0 for stores without UIDs (Maildir)
    uidnext: int  # the UID the next delivered mail will get (Maildir: 0)


@dataclass(frozen=True)
class MailRef:
    """A message found in the mailbox, not yet downloaded."""

    key: str  # stable id inside this mailbox: str(uid) for IMAP, the file name for Maildir
    uid: int  # IMAP UID; Maildir: 0
    size: int
    internal_date: datetime | None = None  # when the server received it (UTC)


@dataclass(frozen=True)
class FetchedMail:
    ref: MailRef
    raw: bytes | None = field(repr=False)  # None when the mail was too large to download


class Mailbox(Protocol):
    def open(self) -> MailboxState:
        """Connect (if needed), select the folder and report its identity."""
        ...

    def list_new(self, after_uid: int, since: date | None = None) -> list[MailRef]:
        """Messages not yet processed, oldest first.

        IMAP: UIDs above ``after_uid`` (and, when ``since`` is given, received on or
        after that date) that do not carry the processed keyword. Maildir: every
        message not yet moved/flagged as processed; ``after_uid`` is ignored.
        """
        ...

    def fetch(self, refs: Sequence[MailRef], max_size: int) -> Iterator[FetchedMail]:
        """Download in batches without setting \\Seen (BODY.PEEK[]).

        A message larger than ``max_size`` bytes is not downloaded: ``raw`` is None.
        """
        ...

    def mark_processed(self, refs: Sequence[MailRef]) -> None:
        """Flag with the processed keyword or move to the processed folder."""
        ...

    def wait_for_new(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for new mail (IMAP IDLE when enabled).

        Returns True when the server announced new mail. Adapters without push
        simply sleep and return False.
        """
        ...

    def check(self) -> str:
        """Log in and select the folder; say what was found, or raise MailboxError."""
        ...

    def append_sent(self, raw: bytes) -> None:
        """Keep a copy of a mail we sent (IMAP APPEND to the Sent folder; Maildir: no-op)."""
        ...

    def close(self) -> None: ...


class Transport(Protocol):
    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        """Deliver mails, one connection for the whole batch; one result per mail.

        Never raises for a delivery problem: connection errors and 4xx answers come
        back as RETRY, 5xx as FAILED.
        """
        ...

    def check(self) -> str:
        """Log in and say so; raise TransportError with a precise reason otherwise."""
        ...


class TransportError(Exception):
    pass


class CaseStore(Protocol):
    """The store of cases. Reads are plain calls; every write is one ``commit`` of a
    ``Changes`` made inside ``write_lock`` (the unit of work holds both)."""

    index: Index

    def write_lock(self) -> AbstractContextManager[None]: ...

    def commit(self, changes: Changes) -> None: ...

    def get_case(self, case_id: str) -> Case | None: ...

    def iter_cases(self, case_ids: set[str] | None = None) -> Iterable[Case]: ...

    def case_messages(self, case_id: str) -> list[MessageRecord]: ...

    def unfiled_messages(self, since: str = "") -> list[MessageRecord]:
        """Mail kept on no case; received at ``since`` (ISO) or later when given."""
        ...

    def meta(self) -> dict[str, Any]: ...

    def checkpoint(self, key: str) -> dict[str, Any] | None: ...

    def outbox_entries(self) -> list[dict[str, Any]]: ...

    def quarantine_entries(self) -> list[dict[str, Any]]: ...

    def counter(self, key: str) -> dict[str, Any]: ...

    def counters_older_than(self, horizon: str) -> set[str]: ...

    def status(self) -> dict[str, Any]: ...

    def put_blob(self, data: bytes) -> str:
        """Keep raw bytes by content hash; return the hash (idempotent)."""
        ...

    def get_blob(self, sha256: str) -> bytes: ...

    def blob_heads(self, shas: Iterable[str], limit: int) -> dict[str, bytes | str]:
        """At most the first ``limit`` bytes of each blob, unchecked (for display only),
        or why it cannot be read."""
        ...

    def held_blobs(self, shas: Iterable[str]) -> set[str]:
        """Which of these blobs are stored now, whichever process wrote them."""
        ...

    def delete_blob(self, sha256: str) -> bool: ...

    def delete_blobs(self, shas: Iterable[str]) -> int:
        """Erase these blobs (retention); how many were stored."""
        ...

    def put_attachment(self, safe_name: str, payload: bytes) -> Path: ...

    def put_files(self, blobs: Mapping[str, bytes], attachments: Mapping[str, bytes]) -> None:
        """Keep many blobs (by their SHA-256, as the caller hashed them) and attachments
        at once, durable when it returns (one group write: the unit of work's commit)."""
        ...

    def delete_attachment(self, safe_name: str) -> bool: ...


# ---------------------------------------------------------------- what a commit writes


@dataclass
class Changes:
    """Everything one batch wants written; committed as one unit."""

    cases: dict[str, Case] = field(default_factory=dict)
    messages: list[MessageRecord] = field(default_factory=list)
    # Mail filed under no case that leaves the unfiled records (staff filed it on a case,
    # services/unfiled.py): removed in the same commit that stores it on its case.
    unfiled_removed: list[MessageRecord] = field(default_factory=list)
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)  # outbox_id -> entry
    outbox_removed: set[str] = field(default_factory=set)
    quarantine: dict[str, dict[str, Any]] = field(default_factory=dict)
    quarantine_removed: set[str] = field(default_factory=set)
    checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters_removed: set[str] = field(default_factory=set)
    status: dict[str, Any] = field(default_factory=dict)
    next_case_seq: int | None = None

    def put_case(self, case: Case) -> None:
        self.cases[case.case_id] = case

    def __bool__(self) -> bool:
        return bool(
            self.cases
            or self.messages
            or self.unfiled_removed
            or self.outbox
            or self.outbox_removed
            or self.quarantine
            or self.quarantine_removed
            or self.checkpoints
            or self.counters
            or self.counters_removed
            or self.status
            or self.next_case_seq is not None
        )


@dataclass
class Index:
    """What threading and de-duplication need, kept in memory, rebuilt from the shards."""

    message_keys: set[str] = field(default_factory=set)
    message_cases: dict[str, str] = field(default_factory=dict)  # Message-ID -> case id
    hashes: set[str] = field(default_factory=set)  # raw sha256 of stored incoming mail
    active_cases: set[str] = field(default_factory=set)  # not resolved
    resolved_cases: set[str] = field(default_factory=set)
    generation: int = -1

    def add_case(self, case: Case) -> None:
        self.add(case.case_id, case.status == CaseStatus.RESOLVED, case.message_ids)

    def add(self, case_id: str, resolved: bool, message_ids: Iterable[str]) -> None:
        for message_id in message_ids:
            self.message_cases.setdefault(message_id, case_id)
        if resolved:
            self.active_cases.discard(case_id)
            self.resolved_cases.add(case_id)
        else:
            self.active_cases.add(case_id)
            self.resolved_cases.discard(case_id)

    def add_message(self, message: MessageRecord) -> None:
        self.add_record(
            message.key, message.direction, message.raw_sha256, message.message_id, message.case_id
        )

    def add_record(self, key: str, direction: str, raw_sha256: str, message_id: str, case_id: str) -> None:
        self.message_keys.add(key)
        if direction == "in":
            self.hashes.add(raw_sha256)
        if message_id and case_id:
            self.message_cases.setdefault(message_id, case_id)


class DroppedLog(Protocol):
    """What stays of quarantined mail staff dropped: who, when, why and what it was
    (stage, reason, source, size, SHA-256), never its bytes. Append-only."""

    def record(self, entry: dict[str, Any]) -> None:
        """Append one record, durable before it returns."""
        ...

    def entries(self) -> list[dict[str, Any]]: ...


class AcceptedLog(Protocol):
    """Outbox ids the server accepted whose "sent" mark is not committed yet."""

    def read(self) -> set[str]: ...

    def reserve(self, count: int) -> None:
        """Own the room for ``count`` more ids before a batch is sent; OSError: send nothing."""
        ...

    def append(self, outbox_id: str) -> None: ...

    def sync(self) -> None:
        """Make the ids appended so far durable (once per batch, before its results commit)."""
        ...

    def clear(self) -> None: ...

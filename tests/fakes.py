"""In-memory twins of the ports (after Cosmic Python's fakes): a case store, a mailbox,
a transport and an accepted-mail log. Service tests run against these — no mocks, no
disk — next to the real-store and real-server tests.

``FakeStore.commits`` counts commits, so a test can check that a use case commits
exactly once; a commit applies the whole ``Changes`` or (``fail_next_commit``)
nothing, like the journal of the real store.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from inbox_agent.domain.model import Case, CaseStatus, MessageRecord, OutgoingMail, SendOutcome, SendResult
from inbox_agent.services.ports import Changes, FetchedMail, Index, MailboxState, MailRef


class FakeStore:
    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.messages: dict[str, MessageRecord] = {}
        self.outbox: dict[str, dict[str, Any]] = {}
        self.quarantine: dict[str, dict[str, Any]] = {}
        self.checkpoints: dict[str, dict[str, Any]] = {}
        self.counters: dict[str, dict[str, Any]] = {}
        self.state: dict[str, Any] = {}
        self.meta_doc: dict[str, Any] = {"next_case_seq": 1}
        self.blobs: dict[str, bytes] = {}
        self.attachments: dict[str, bytes] = {}
        self.index = Index()
        self.commits = 0
        self.locked = False
        self.fail_next_commit = False

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        assert not self.locked, "the fake store is not re-entrant: one unit of work at a time"
        self.locked = True
        try:
            yield
        finally:
            self.locked = False

    def commit(self, changes: Changes) -> None:
        if not changes:
            return
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise OSError(28, "No space left on device")
        self.commits += 1
        for case in changes.cases.values():
            self.cases[case.case_id] = case
            self.index.add_case(case)
        for message in changes.unfiled_removed:
            self.messages.pop(message.key, None)
        for message in changes.messages:
            self.messages[message.key] = message
            self.index.add_message(message)
        self.outbox.update(changes.outbox)
        for key in changes.outbox_removed:
            self.outbox.pop(key, None)
        self.quarantine.update(changes.quarantine)
        for key in changes.quarantine_removed:
            self.quarantine.pop(key, None)
        for entry in changes.quarantine.values():
            self.index.message_keys.add(entry["key"])
            if entry.get("raw_sha256"):
                self.index.hashes.add(entry["raw_sha256"])
        self.checkpoints.update(changes.checkpoints)
        self.counters.update(changes.counters)
        for key in changes.counters_removed - set(changes.counters):
            self.counters.pop(key, None)
        self.state.update(changes.status)
        if changes.next_case_seq is not None:
            self.meta_doc["next_case_seq"] = max(self.meta_doc["next_case_seq"], changes.next_case_seq)

    # reads
    def get_case(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)

    def iter_cases(self, case_ids: set[str] | None = None) -> Iterator[Case]:
        for case_id in sorted(self.cases):
            if case_ids is None or case_id in case_ids:
                yield self.cases[case_id]

    def case_messages(self, case_id: str) -> list[MessageRecord]:
        return sorted(
            (m for m in self.messages.values() if m.case_id == case_id), key=lambda m: m.received_at
        )

    def unfiled_messages(self, since: str = "") -> list[MessageRecord]:
        return [m for m in self.messages.values() if not m.case_id and m.received_at >= since]

    def meta(self) -> dict[str, Any]:
        return dict(self.meta_doc)

    def checkpoint(self, key: str) -> dict[str, Any] | None:
        return self.checkpoints.get(key)

    def outbox_entries(self) -> list[dict[str, Any]]:
        return sorted(self.outbox.values(), key=lambda doc: doc["queued_at"])

    def quarantine_entries(self) -> list[dict[str, Any]]:
        return sorted(self.quarantine.values(), key=lambda doc: doc["at"])

    def counter(self, key: str) -> dict[str, Any]:
        return dict(self.counters.get(key) or {"key": key})

    def counters_older_than(self, horizon: str) -> set[str]:
        return {k for k, doc in self.counters.items() if max(doc.get("times", []), default="") < horizon}

    def status(self) -> dict[str, Any]:
        return dict(self.state)

    # blobs
    def put_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = data
        return sha

    def get_blob(self, sha256: str) -> bytes:
        return self.blobs[sha256]

    def blob_heads(self, shas: Iterable[str], limit: int) -> dict[str, bytes | str]:
        return {sha: self.blobs[sha][:limit] if sha in self.blobs else f"{sha} missing" for sha in shas}

    def held_blobs(self, shas: Iterable[str]) -> set[str]:
        return {sha for sha in shas if sha in self.blobs}

    def delete_blob(self, sha256: str) -> bool:
        return self.blobs.pop(sha256, None) is not None

    def delete_blobs(self, shas: Iterable[str]) -> int:
        return sum(self.delete_blob(sha) for sha in set(shas))

    def put_attachment(self, safe_name: str, payload: bytes) -> Path:
        self.attachments[safe_name] = payload
        return Path("/fake") / safe_name

    def delete_attachment(self, safe_name: str) -> bool:
        return self.attachments.pop(safe_name, None) is not None

    def put_files(self, blobs: Mapping[str, bytes], attachments: Mapping[str, bytes]) -> None:
        for sha, data in blobs.items():
            assert self.put_blob(data) == sha, "a blob handed over under another hash"
        for safe_name, payload in attachments.items():
            self.put_attachment(safe_name, payload)

    def open_cases(self) -> list[Case]:
        return [case for case in self.cases.values() if case.status != CaseStatus.RESOLVED]


class FakeMailbox:
    """A folder of raw mails with UIDs; marks are recorded, not applied to the list."""

    def __init__(self, mails: Sequence[bytes] = (), name: str = "INBOX") -> None:
        self.name = name
        self.mails: dict[int, bytes] = {uid: raw for uid, raw in enumerate(mails, start=1)}
        self.marked: list[int] = []

    def deliver(self, raw: bytes) -> None:
        self.mails[max(self.mails, default=0) + 1] = raw

    def open(self) -> MailboxState:
        return MailboxState(self.name, 7, max(self.mails, default=0) + 1)

    def list_new(self, after_uid: int, since: date | None = None) -> list[MailRef]:
        return [
            MailRef(str(uid), uid, len(raw))
            for uid, raw in sorted(self.mails.items())
            if uid > after_uid and uid not in self.marked
        ]

    def fetch(self, refs: Sequence[MailRef], max_size: int) -> Iterator[FetchedMail]:
        for ref in refs:
            raw = self.mails[ref.uid]
            yield FetchedMail(ref, raw if len(raw) <= max_size else None)

    def mark_processed(self, refs: Sequence[MailRef]) -> None:
        self.marked.extend(ref.uid for ref in refs)

    def wait_for_new(self, timeout: float) -> bool:
        return False

    def check(self) -> str:
        return f"fake {self.name}: {len(self.mails)} mails"

    def append_sent(self, raw: bytes) -> None:
        self.deliver(raw)

    def close(self) -> None:
        pass


class FakeTransport:
    """Accepts every mail (or answers ``outcome``) and keeps what it was given."""

    def __init__(self, outcome: SendOutcome = SendOutcome.SENT) -> None:
        self.outcome = outcome
        self.sent: list[OutgoingMail] = []
        self.batches = 0

    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        self.batches += 1
        if self.outcome == SendOutcome.SENT:
            self.sent.extend(mails)
        return [SendResult(mail.outbox_id, self.outcome, "fake") for mail in mails]

    def check(self) -> str:
        return "fake transport"


class FakeAcceptedLog:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.fail_reserve = False  # a full disk: no room for the batch's lines

    def read(self) -> set[str]:
        return set(self.ids)

    def reserve(self, count: int) -> None:
        if self.fail_reserve:
            raise OSError(28, "No space left on device")
        self.reserved = count

    def append(self, outbox_id: str) -> None:
        self.ids.add(outbox_id)

    def sync(self) -> None:
        self.synced = set(self.ids)

    def clear(self) -> None:
        self.ids.clear()

"""What the pipeline reads and what it returns for one mail.

``Incoming`` is a fetched mail; ``BatchView`` is the store as one batch sees it
(plus what earlier mails of the batch decided: a complaint and its follow-up can
arrive together); ``Decision`` says what to store, what to send and what to report.
The services carry a decision out; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from inbox_agent.domain.model import Case, MessageRecord, OutgoingMail, Skip


@dataclass(frozen=True)
class Incoming:
    """A fetched mail and where it came from."""

    raw: bytes
    source: str  # "imap:INBOX:<uidvalidity>:<uid>" / "maildir:<file name>"
    received_at: datetime  # receipt time (INTERNALDATE / file time / fetch time), UTC

    @cached_property
    def raw_sha256(self) -> str:
        """The mail's name (``raw_sha256``), hashed once per mail."""
        return raw_sha256(self.raw)


def raw_sha256(raw: bytes) -> str:
    """The one way a raw mail is named: its content hash (blobs, de-duplication)."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Decision:
    outcome: str  # "new_case" | "joined" | "filed" | "duplicate" | "quarantined"
    case: Case | None = None  # the case as it must be stored
    message: MessageRecord | None = None
    outgoing: tuple[OutgoingMail, ...] = ()
    skip: Skip | None = None
    quarantine_reason: str = ""
    quarantine_stage: str = ""
    blobs: tuple[bytes, ...] = ()  # raw mails to keep, by hash (incoming and outgoing)
    attachments: tuple[tuple[str, bytes], ...] = ()  # (safe name, payload)
    sender: str = ""
    subject: str = ""
    note: str = ""  # one line for the run table
    related: tuple[Case, ...] = ()  # other cases the mail changed (an event: e.g. a refused staff claim)

    @property
    def summary(self) -> str:
        if self.outcome == "quarantined":
            return f"quarantined ({self.quarantine_stage}): {self.quarantine_reason}"
        parts = [self.outcome.replace("_", " ")]
        if self.outgoing:
            parts.append(", ".join(mail.kind for mail in self.outgoing))
        if self.skip:
            parts.append(f"no reply: {self.skip.reason}")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


def quarantined(raw: bytes, stage: str, reason: str) -> Decision:
    """The mail is kept (its raw bytes) with the stage that failed and why."""
    return Decision(
        outcome="quarantined", quarantine_reason=reason[:500], quarantine_stage=stage, blobs=(raw,)
    )


@dataclass
class BatchView:
    """Reads for one batch: the store's state plus what earlier mails of the batch decided."""

    get_stored_case: Callable[[str], Case | None]
    message_cases: Mapping[str, str]
    known_hashes: set[str]  # sha256 of every raw mail already stored or quarantined
    next_seq: int
    counters: Callable[[str], dict[str, Any]]
    cases: dict[str, Case] = field(default_factory=dict)
    counter_overlay: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_hashes: set[str] = field(default_factory=set)
    batch_message_cases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> BatchView:
        """A store with nothing in it (``classify``: what a first mail would get)."""
        return cls(lambda _: None, {}, set(), 1, lambda key: {"key": key})

    def get_case(self, case_id: str) -> Case | None:
        return self.cases.get(case_id) or self.get_stored_case(case_id)

    def case_for_message_id(self) -> Mapping[str, str]:
        return _ChainMap(self.batch_message_cases, self.message_cases)

    def counter(self, key: str) -> dict[str, Any]:
        return self.counter_overlay.get(key) or self.counters(key)

    def is_known(self, raw_sha256: str) -> bool:
        return raw_sha256 in self.known_hashes or raw_sha256 in self.batch_hashes

    def take_seq(self) -> int:
        """The next case number; the commit stores the counter (``Changes.next_case_seq``)."""
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def record(self, decision: Decision, raw_sha256: str) -> None:
        self.batch_hashes.add(raw_sha256)
        for related in decision.related:
            self.cases[related.case_id] = related
        if decision.case:
            self.cases[decision.case.case_id] = decision.case
            for message_id in decision.case.message_ids:
                self.batch_message_cases.setdefault(message_id, decision.case.case_id)


class _ChainMap(Mapping[str, str]):
    def __init__(self, first: Mapping[str, str], second: Mapping[str, str]) -> None:
        self.first, self.second = first, second

    def __getitem__(self, key: str) -> str:
        if key in self.first:
            return self.first[key]
        return self.second[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.first
        yield from (key for key in self.second if key not in self.first)

    def __len__(self) -> int:
        return len(set(self.first) | set(self.second))

    def __contains__(self, key: object) -> bool:
        return key in self.first or key in self.second

"""The interface every incoming-mail adapter (IMAP, Maildir) implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol


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

    def close(self) -> None: ...

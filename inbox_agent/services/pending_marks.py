"""Marks the mailbox still owes: written with the batch, retried every cycle, never dropped.

The UID checkpoint moves in the batch's commit, before the mails are marked in the
mailbox (docs/ARCHITECTURE.md §8): a mail at or below the checkpoint is never listed
again. So a mark that fails (STORE or MOVE refused, CREATE of the processed folder
refused, the connection lost, a crash right after the commit) must be remembered,
or the mail stays unmarked for good.

The batch's commit therefore also records its refs as owed, in the store's
checkpoints table under a key of their own (``pending-marks:<kind>:<folder>``; no
new table). Marking then settles them in memory; the cycle's closing commit writes
what is still owed (usually nothing). At the start of the next cycle whatever is
owed is marked first. Marking is safe to repeat (a keyword set again, a UID moved
away matches nothing), so a crash anywhere costs at most a repeated mark.

A UIDVALIDITY change voids the owed UIDs: the folder is rescanned from UID 0 and
every known mail, recognised by its hash, is marked again by that rescan.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inbox_agent.domain.clock import iso
from inbox_agent.domain.uid_set import compact_uid_set, expand_uid_set
from inbox_agent.services.ports import CaseStore, Changes, Mailbox, MailboxError, MailboxState, MailRef

log = logging.getLogger("inbox_agent.services.pending_marks")

KEY_PREFIX = "pending-marks"


@dataclass
class OwedMarks:
    """What one folder owes during a cycle: the store's list plus this cycle's batches."""

    key: str
    uidvalidity: int
    refs: dict[str, MailRef] = field(default_factory=dict)  # by MailRef.key, oldest first
    reason: str = ""  # the server's last refusal, for the summary and `status`
    since: str = ""  # when the oldest owed mark first failed
    attempts: int = 0
    error: str = ""  # a mark that failed in this cycle ("" = none did)
    stored: dict[str, Any] | None = None  # what the store holds, to skip a needless write

    @property
    def count(self) -> int:
        return len(self.refs)

    def document(self) -> dict[str, Any]:
        """The checkpoints-table entry; ``uidvalidity``/``uid`` keep it a well-formed checkpoint."""
        uids = [ref.uid for ref in self.refs.values() if ref.uid]
        return {
            "uidvalidity": self.uidvalidity,
            "uid": max(uids, default=0),
            "uids": compact_uid_set(uids) if uids else "",
            "keys": [ref.key for ref in self.refs.values() if not ref.uid],  # Maildir file names
            "reason": self.reason if self.refs else "",
            "since": self.since if self.refs else "",
            "attempts": self.attempts if self.refs else 0,
        }


class PendingMarks:
    def __init__(self, store: CaseStore, kind: str, *, dry_run: bool = False) -> None:
        self.store = store
        self.kind = kind  # "imap" or "maildir", as in the UID checkpoint's key
        self.dry_run = dry_run

    def key(self, folder: str) -> str:
        return f"{KEY_PREFIX}:{self.kind}:{folder}"

    def load(self, state: MailboxState) -> OwedMarks:
        key = self.key(state.name)
        found = self.store.checkpoint(key)
        stored = {name: value for name, value in found.items() if name != "key"} if found else None
        owed = OwedMarks(key, state.uidvalidity, stored=stored)
        if not stored:
            return owed
        refs = _refs(stored)
        if stored.get("uidvalidity") != state.uidvalidity and refs:
            log.warning(
                "%s: %d owed marks dropped: UIDVALIDITY changed (%s -> %s); the rescan marks them",
                state.name,
                len(refs),
                stored.get("uidvalidity"),
                state.uidvalidity,
            )
            return owed
        owed.refs = {ref.key: ref for ref in refs}
        owed.reason = str(stored.get("reason", ""))
        owed.since = str(stored.get("since", ""))
        owed.attempts = int(stored.get("attempts", 0))
        return owed

    def retry(self, mailbox: Mailbox, owed: OwedMarks, now: datetime) -> None:
        """Mark what earlier cycles could not, before anything new is read."""
        if owed.refs and not self.dry_run:
            log.info("%s: marking %d mails a previous cycle could not mark", owed.key, owed.count)
            self.mark(mailbox, owed, list(owed.refs.values()), now)

    def stage(self, changes: Changes, owed: OwedMarks, refs: Sequence[MailRef]) -> None:
        """Into the batch's commit: these refs are owed until marking says otherwise."""
        for ref in refs:
            owed.refs.setdefault(ref.key, ref)
        owed.stored = changes.checkpoints[owed.key] = owed.document()

    def mark(self, mailbox: Mailbox, owed: OwedMarks, refs: Sequence[MailRef], now: datetime) -> None:
        """Mark ``refs``; settle them on success. After a failure in this cycle the
        rest of the cycle's refs wait for the next one instead of failing again."""
        if not refs or self.dry_run or owed.error:
            return
        try:
            mailbox.mark_processed(refs)
        except MailboxError as exc:
            owed.error = owed.reason = str(exc)
            owed.since = owed.since or iso(now)
            owed.attempts += 1
            log.error("%s: %d mails stay owed a mark, retried next cycle: %s", owed.key, owed.count, exc)
            return
        for ref in refs:
            owed.refs.pop(ref.key, None)

    def settle(self, changes: Changes, owed: OwedMarks) -> None:
        """Into the cycle's closing commit: what is still owed, when it changed."""
        document = owed.document()
        if owed.stored is None and not owed.refs:
            return
        if document != owed.stored:
            changes.checkpoints[owed.key] = document
            owed.stored = document


def _refs(stored: dict[str, Any]) -> list[MailRef]:
    try:
        uids = expand_uid_set(str(stored.get("uids", "")))
    except ValueError:
        log.error("owed marks unreadable (uids %r): ignored", stored.get("uids"))
        uids = []
    keys = [str(key) for key in stored.get("keys", [])]
    return [MailRef(str(uid), uid, 0) for uid in uids] + [MailRef(key, 0, 0) for key in keys]

"""Copies of our replies for the IMAP Sent folder: a copy that fails is owed, not lost.

Delivery copies each mail the server accepted to the Sent folder after the results
commit (docs/ARCHITECTURE.md §10). Through this wrapper a failed APPEND (folder
refused, server down) records the mail's blob hash as owed, in the store's
checkpoints table under ``pending-copies:<folder>`` (no new table), and the intake
retries the owed copies at the start of each cycle, oldest first, until they are
kept. After a failure the rest of the cycle's copies are owed at once rather than
each waiting for its own timeout.

Everything else a mailbox does is passed through unchanged, so Delivery and the
Sent-folder intake share one connection.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from inbox_agent.domain.clock import Clock, iso
from inbox_agent.services.ports import CaseStore, FetchedMail, Mailbox, MailboxError, MailboxState, MailRef
from inbox_agent.services.unit_of_work import UnitOfWork

log = logging.getLogger("inbox_agent.services.sent_copies")


class SentCopies:
    """A ``Mailbox`` whose ``append_sent`` never loses a copy."""

    def __init__(self, mailbox: Mailbox, store: CaseStore, clock: Clock, folder: str) -> None:
        self.mailbox = mailbox
        self.store = store
        self.clock = clock
        self.key = f"pending-copies:{folder}"
        self.error = ""  # why a copy failed since the last retry ("" = none did)

    @property
    def count(self) -> int:
        return len(self._owed()["blobs"])

    def append_sent(self, raw: bytes) -> None:
        digest = hashlib.sha256(raw).hexdigest()
        if not self.error:
            try:
                self.mailbox.append_sent(raw)
                return
            except MailboxError as exc:
                self.error = f"copy to the Sent folder failed: {exc}"
                log.error("%s; this and later copies are retried next cycle", self.error)
        self.store.put_blob(raw)  # normally there already (the outbox keeps it): a no-op
        self._save([*self._owed()["blobs"], digest], self.error)

    def retry(self) -> None:
        """Keep every owed copy, oldest first; stop at the first that fails again."""
        self.error = ""
        owed = list(self._owed()["blobs"])
        if not owed:
            return
        kept = 0
        for digest in owed:
            try:
                raw = self.store.get_blob(digest)
            except Exception as exc:  # gone (retention) or damaged: a Sent copy is not worth stopping for
                log.warning("owed Sent copy %s dropped: its bytes are gone (%s)", digest[:16], exc)
                kept += 1
                continue
            try:
                self.mailbox.append_sent(raw)
            except MailboxError as exc:
                self.error = f"copy to the Sent folder failed: {exc}"
                break
            kept += 1
        self._save(owed[kept:], self.error)
        log.log(
            logging.ERROR if self.error else logging.INFO,
            "Sent folder: %d owed copies kept, %d still owed%s",
            kept,
            len(owed) - kept,
            f" ({self.error})" if self.error else "",
        )

    def _owed(self) -> dict[str, Any]:
        stored = self.store.checkpoint(self.key) or {}
        return {"blobs": list(stored.get("blobs", [])), "reason": stored.get("reason", "")}

    def _save(self, blobs: list[str], reason: str) -> None:
        with UnitOfWork(self.store) as uow:
            # uidvalidity/uid keep the entry a well-formed checkpoint for `verify`.
            uow.changes.checkpoints[self.key] = {
                "uidvalidity": 0,
                "uid": 0,
                "blobs": blobs,
                "reason": reason if blobs else "",
                "at": iso(self.clock.now()),
            }
            uow.commit()

    # -- the rest of the Mailbox port, passed through -------------------------------

    def open(self) -> MailboxState:
        return self.mailbox.open()

    def list_new(self, after_uid: int, since: date | None = None) -> list[MailRef]:
        return self.mailbox.list_new(after_uid, since)

    def fetch(self, refs: Sequence[MailRef], max_size: int) -> Iterator[FetchedMail]:
        return self.mailbox.fetch(refs, max_size)

    def mark_processed(self, refs: Sequence[MailRef]) -> None:
        self.mailbox.mark_processed(refs)

    def wait_for_new(self, timeout: float) -> bool:
        return self.mailbox.wait_for_new(timeout)

    def check(self) -> str:
        return self.mailbox.check()

    def close(self) -> None:
        self.mailbox.close()

"""Where reading a mailbox folder starts: the UID checkpoint and the first start.

A checkpoint is ``{uidvalidity, uid}`` per folder (Maildir: ``since`` as well). It
moves in the same commit as the mails it covers, so a crash never skips a mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import Clock, iso
from inbox_agent.services.ports import CaseStore, MailboxState, MailRef
from inbox_agent.services.unit_of_work import UnitOfWork

log = logging.getLogger("inbox_agent.services.checkpoints")


@dataclass(frozen=True)
class StartingPoint:
    after_uid: int
    since: date | None
    first_checkpoint: dict[str, Any] | None  # to write before the first batch


class Checkpoints:
    def __init__(self, config: Config, store: CaseStore, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock

    def key(self, folder: str) -> str:
        return f"{self.config.mailbox.kind}:{folder}"

    def read(self, folder: str) -> dict[str, Any] | None:
        return self.store.checkpoint(self.key(folder))

    def write(self, folder: str, checkpoint: dict[str, Any]) -> None:
        with UnitOfWork(self.store) as uow:
            uow.changes.checkpoints[self.key(folder)] = checkpoint
            uow.commit()

    def starting_point(self, state: MailboxState) -> StartingPoint:
        checkpoint = self.read(state.name)
        if checkpoint is not None:
            if checkpoint.get("uidvalidity") == state.uidvalidity:
                return StartingPoint(int(checkpoint.get("uid", 0)), None, None)
            # UIDVALIDITY changed: UIDs mean nothing any more. Look at everything again;
            # content-hash de-duplication files each known mail as a duplicate.
            log.warning(
                "UIDVALIDITY of %s changed (%s -> %s): rescanning",
                state.name,
                checkpoint.get("uidvalidity"),
                state.uidvalidity,
            )
            return StartingPoint(0, None, {"uidvalidity": state.uidvalidity, "uid": 0})
        return self._first_start(state)

    def _first_start(self, state: MailboxState) -> StartingPoint:
        settings = self.config.mailbox
        if settings.start_from == "now" and state.uidvalidity:
            last = state.uidnext - 1
            return StartingPoint(last, None, {"uidvalidity": state.uidvalidity, "uid": last})
        if settings.start_from == "now":
            # Maildir has no UIDs: "now" means mail whose file is newer than the first start.
            now = self.clock.now()
            return StartingPoint(0, now.date(), {"uidvalidity": 0, "uid": 0, "since": iso(now)})
        if settings.start_from == "date":
            return StartingPoint(0, settings.start_date, {"uidvalidity": state.uidvalidity, "uid": 0})
        return StartingPoint(0, None, {"uidvalidity": state.uidvalidity, "uid": 0})

    def only_new(self, folder: str, refs: list[MailRef]) -> list[MailRef]:
        """Maildir with start_from = "now": only files newer than the first start."""
        checkpoint = self.read(folder)
        since = checkpoint.get("since") if checkpoint else None
        if not since:
            return refs
        return [ref for ref in refs if ref.internal_date is None or iso(ref.internal_date) >= since]

    def sent_folder_start(self, state: MailboxState, *, write: bool) -> int | None:
        """The UID to read the Sent folder after; None on the first look (or after a
        UIDVALIDITY change), which only notes where the folder stands."""
        checkpoint = self.read(state.name)
        if checkpoint and checkpoint.get("uidvalidity") == state.uidvalidity:
            return int(checkpoint.get("uid", 0))
        if write:
            self.write(state.name, {"uidvalidity": state.uidvalidity, "uid": max(0, state.uidnext - 1)})
        return None

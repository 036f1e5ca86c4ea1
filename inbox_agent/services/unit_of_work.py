"""The unit of work: the one way a use case changes the store.

    with UnitOfWork(store) as uow:
        case = uow.case(case_id)
        uow.put_case(...)
        uow.queue_mail(mail, now)
        uow.commit()

It holds the store's write lock for its whole life (reads inside it see what other
writers committed before), collects everything in one ``Changes`` and commits it
once. Leaving the block without ``commit`` drops the changes: a use case that fails
half-way writes nothing. Raw bytes (incoming mail, outgoing mail, attachments) are
content-addressed, kept in memory until ``commit`` and written then as one group
(one sync for the batch, not several per mail) before the changes that reference
them, so a crash leaves at worst an unreferenced blob, never a reference to a
missing one.

A dry run (``dry_run=True``) decides everything and writes nothing.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType

from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import add_event
from inbox_agent.domain.model import Case, MessageRecord, OutgoingMail
from inbox_agent.domain.outbox import new_entry
from inbox_agent.services.ports import CaseStore, Changes


class UnitOfWork:
    def __init__(self, store: CaseStore, *, dry_run: bool = False) -> None:
        self.store = store
        self.dry_run = dry_run
        self.changes = Changes()
        self._lock: AbstractContextManager[None] | None = None
        self._blobs: dict[str, bytes] = {}  # sha256 -> bytes, written at commit
        self._attachments: dict[str, bytes] = {}  # safe name -> payload, written at commit

    def __enter__(self) -> UnitOfWork:
        self._lock = self.store.write_lock()
        self._lock.__enter__()
        self.changes = Changes()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.changes = Changes()  # whatever was not committed is dropped
        self._blobs, self._attachments = {}, {}
        if self._lock is not None:
            self._lock.__exit__(kind, error, trace)
            self._lock = None

    def commit(self) -> None:
        if not self.dry_run:
            if self._blobs or self._attachments:
                self.store.put_files(self._blobs, self._attachments)
            self.store.commit(self.changes)
        self.changes = Changes()
        self._blobs, self._attachments = {}, {}

    # ------------------------------------------------------------ reads that see this unit's changes

    def case(self, case_id: str) -> Case | None:
        return self.changes.cases.get(case_id) or self.store.get_case(case_id)

    # ------------------------------------------------------------ changes

    def put_case(self, case: Case) -> None:
        self.changes.put_case(case)

    def add_message(self, message: MessageRecord) -> None:
        self.changes.messages.append(message)

    def add_event(self, case_id: str, at: datetime, kind: str, actor: str, detail: str = "") -> None:
        """An event on a stored case (nothing when the case does not exist)."""
        case = self.case(case_id)
        if case is not None:
            self.put_case(add_event(case, iso(at), kind, actor, detail))

    def keep_blob(self, data: bytes) -> str:
        """Raw bytes to store by hash with this unit's commit (idempotent); their hash."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.dry_run:
            self._blobs.setdefault(sha, data)
        return sha

    def keep_attachment(self, safe_name: str, payload: bytes) -> None:
        if not self.dry_run:
            self._attachments.setdefault(safe_name, payload)

    def queue_mail(self, mail: OutgoingMail, send_from: datetime) -> None:
        """Put a mail in the durable outbox, in the same commit as what caused it."""
        self.changes.outbox[mail.outbox_id] = new_entry(mail, self.keep_blob(mail.raw), send_from)

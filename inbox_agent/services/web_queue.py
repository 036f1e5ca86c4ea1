"""What the web app reads: the queue and one case, fresh from the store.

Read-only: no lock, no change. The queue comes from the store's snapshot of every
case (``CaseSnapshots``: re-read per shard only when the daemon rewrote it), so a
queue page costs the filtering and sorting of the cases in memory, not a read of
every file. ``version`` is the store's commit generation: the open queue page polls
it and refreshes itself when it moves (a customer's reply, another staff member).
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol

from inbox_agent.config.loader import Config
from inbox_agent.domain.model import MessageRecord
from inbox_agent.mail.render import TemplateSet
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.web_ports import CaseSnapshots
from inbox_agent.views.case_page import CasePage, SentText, build_case_page
from inbox_agent.views.deadlines import deadline_lines, queue_deadline
from inbox_agent.views.page import STAFF_LANGUAGE, service_timezone, sla_clock
from inbox_agent.views.queue import (
    QueuePage,
    QueueQuery,
    RankedCases,
    RegulatoryDeadline,
    candidates,
    queue_page,
    ranked,
)


class WebStore(CaseStore, CaseSnapshots, Protocol):
    """The store the web app is given: the case store and its fresh snapshots."""


class WebReads:
    def __init__(
        self,
        store: WebStore,
        config: Config,
        templates: TemplateSet,
    ) -> None:
        self.store = store
        self.config = config
        self.labels = templates.labels(STAFF_LANGUAGE)
        self.tz = service_timezone(config.sla.timezone)
        self._ranked: tuple[tuple[int, int], RankedCases] | None = None
        # Per shard: ((generation, minute), its candidates): a commit re-ranks one shard.
        self._shards: dict[str, tuple[tuple[int, int], list[Any]]] = {}

    def version(self) -> int:
        return self.store.generation()

    def queue(self, query: QueueQuery, now: datetime) -> QueuePage:
        """The queue at ``now`` to the minute: the ranking of every case is kept until the
        store changes or the minute turns (clocks and ages are shown in minutes), so a
        request only filters and pages it."""
        key = (self.store.generation(), int(now.timestamp() // 60))
        # Every request, even when nothing was committed: a shard damaged or lost since
        # the last one is refused now (store damaged, 503), not shown from memory.
        shards = self.store.searchable_shards()
        if self._ranked is None or self._ranked[0] != key:
            minute = datetime.fromtimestamp(key[1] * 60, UTC)
            self._ranked = (key, ranked(self._shard_candidates(shards, minute, key[1]), minute))
        return queue_page(
            self._ranked[1],
            query,
            category_label=self.labels.category,
            tz=self.tz,
            page_size=self.config.web.page_size,
        )

    def _shard_candidates(self, shards: list[Any], minute: datetime, minute_key: int) -> list[list[Any]]:
        clock_of = sla_clock(self.config, minute)
        parts = []
        for name, generation, items in shards:
            cached = self._shards.get(name)
            if cached is None or cached[0] != (generation, minute_key):
                cases = [(item.case, item.text) for item in items]
                found = candidates(cases, clock_of=clock_of, regulatory_deadline=self._deadline_at(minute))
                cached = ((generation, minute_key), found)
                self._shards[name] = cached
            parts.append(cached[1])
        return parts

    def _deadline_at(self, now: datetime) -> RegulatoryDeadline:
        """The queue's regulatory-deadline hook at ``now`` (the case's jurisdiction clocks)."""
        return lambda case: queue_deadline(case, self.config, now)

    def case_page(self, case_id: str, now: datetime) -> CasePage | None:
        case = self.store.get_case(case_id)
        if case is None:
            return None
        messages = self.store.case_messages(case_id)
        sent = {m.message_id: self._sent_text(m) for m in messages if m.direction == "out"}
        queued = [
            _decoded(self._blob(entry["raw_sha256"]), entry["message_id"], entry["kind"], entry)
            for entry in self.store.outbox_entries()
            if entry["case_id"] == case_id
        ]
        return build_case_page(
            case,
            messages,
            sent,
            queued,
            clock=sla_clock(self.config, now)(case),
            labels=self.labels,
            tz=self.tz,
            regulatory=deadline_lines(case, self.config, now),
        )

    def attachment(self, case_id: str, stored_name: str) -> tuple[str, str, bytes] | None:
        """(customer's file name, content type, bytes) of an attachment of this case only."""
        for message in self.store.case_messages(case_id):
            for name, stored, content_type, _size in message.attachments:
                if stored == stored_name:
                    return name, content_type, self.store.attachment_bytes(stored)
        return None

    def _sent_text(self, message: MessageRecord) -> SentText:
        kind = message.source.split(":", 1)[-1].split(".")[1] if message.source.startswith("outbox:") else ""
        return _decoded(self._blob(message.raw_sha256), message.message_id, kind)

    def _blob(self, sha256: str) -> bytes | None:
        try:
            return self.store.get_blob(sha256)
        except Exception:  # purged by retention, or damaged: the thread says so instead of failing
            return None


def _decoded(raw: bytes | None, message_id: str, kind: str, entry: dict | None = None) -> SentText:
    if raw is None:
        return SentText(message_id, kind, "", "(the mail's bytes are no longer kept)")
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return SentText(
        message_id=message_id,
        kind=kind,
        subject=str(mail.get("subject", "")),
        text=text,
        queued_at=(entry or {}).get("queued_at", ""),
        state=(entry or {}).get("status", ""),
    )

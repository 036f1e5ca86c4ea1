"""The core: one fetched mail in, one decision out. No I/O here.

parse -> guard -> thread -> categorize -> evidence -> acknowledge, as in DESIGN.md §1.
The result (``Decision``) says what to store, what to send and what to report; the
runner (``runner.py``) carries it out. ``BatchView`` lets later mails of a batch see
what earlier ones decided (a complaint and its follow-up can arrive together).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from inbox_agent.adapters.tinydb_store import case_id_for, message_key
from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.domain.model import (
    Case,
    CaseStatus,
    Categorization,
    Event,
    MessageRecord,
    OutgoingMail,
    ParsedMessage,
    Skip,
)
from inbox_agent.mail.compose import AckRequest, render_ack
from inbox_agent.mail.outgoing import outgoing_mail
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.staff import StaffActionError, apply_action, parse_staff_mail
from inbox_agent.stages.categorize import categorize
from inbox_agent.stages.evidence import extract_evidence, missing_evidence
from inbox_agent.stages.guard import loop_skip, own_loop_header
from inbox_agent.stages.parse import ParseFailure, parse_message
from inbox_agent.stages.thread import find_thread

TEXT_LIMIT = 20_000  # characters of a message's text kept in the store (the raw mail has all)
SEVERITY_RANK = {"normal": 0, "high": 1, "urgent": 2}


@dataclass(frozen=True)
class Incoming:
    """A fetched mail and where it came from."""

    raw: bytes
    source: str  # "imap:INBOX:<uidvalidity>:<uid>" / "maildir:<file name>"
    received_at: datetime  # receipt time (INTERNALDATE / file time / fetch time), UTC


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


@dataclass
class BatchView:
    """Reads for one batch: the store's state plus what earlier mails of the batch decided."""

    get_stored_case: Callable[[str], Case | None]
    message_cases: dict[str, str]
    known_hashes: set[str]  # sha256 of every raw mail already stored or quarantined
    next_seq: int
    counters: Callable[[str], dict[str, Any]]
    cases: dict[str, Case] = field(default_factory=dict)
    counter_overlay: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_hashes: set[str] = field(default_factory=set)
    batch_message_cases: dict[str, str] = field(default_factory=dict)

    def get_case(self, case_id: str) -> Case | None:
        return self.cases.get(case_id) or self.get_stored_case(case_id)

    def case_for_message_id(self) -> Mapping[str, str]:
        return _ChainMap(self.batch_message_cases, self.message_cases)

    def counter(self, key: str) -> dict[str, Any]:
        return self.counter_overlay.get(key) or self.counters(key)

    def is_known(self, raw_sha256: str) -> bool:
        return raw_sha256 in self.known_hashes or raw_sha256 in self.batch_hashes

    def record(self, decision: Decision, raw_sha256: str) -> None:
        self.batch_hashes.add(raw_sha256)
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

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self.first
        yield from (key for key in self.second if key not in self.first)

    def __len__(self) -> int:
        return len(set(self.first) | set(self.second))

    def __contains__(self, key: object) -> bool:
        return key in self.first or key in self.second


# ---------------------------------------------------------------- the stages together


def process(
    incoming: Incoming, view: BatchView, config: Config, templates: TemplateSet, now: datetime
) -> Decision:
    """Decide everything about one mail. Never raises: failures become quarantine."""
    raw_sha = hashlib.sha256(incoming.raw).hexdigest()
    # The same bytes twice (a crash before the mailbox was marked, a UIDVALIDITY
    # change, a re-delivery) are one message. The same Message-ID with other
    # content is a different message and is kept.
    if view.is_known(raw_sha):
        return Decision(outcome="duplicate")
    stage = "parse"
    try:
        try:
            msg = parse_message(incoming.raw, received_at=incoming.received_at)
        except ParseFailure as failure:
            return _quarantine(incoming, raw_sha, "parse", failure.reason)
        stage = "guard"
        skip = loop_skip(
            msg,
            own_addresses=config.own_addresses,
            loop_header="x-inbox-agent-loop",
            loop_token=config.loop_token,
        )
        stage = "thread"
        match = find_thread(
            msg,
            get_case=view.get_case,
            message_cases=view.case_for_message_id(),
            is_staff=config.staff.is_staff,
        )
        if skip is not None:
            return _file_skipped(msg, incoming, match.case, skip, now)
        stage = "categorize"
        if config.staff.is_staff(msg.sender):
            if match.case is not None and msg.sender != match.case.customer:
                return _staff_message(msg, incoming, match.case, config, templates, now)
            if match.case is None:
                # Staff mail that names no case (an internal forward, a test): keep it, answer nobody.
                return _file_skipped(msg, incoming, None, Skip("staff_without_case"), now)
        categorization = categorize(msg.subject, msg.new_text, config.rules)
        stage = "evidence"
        tz = ZoneInfo(config.sla.timezone)
        reference = msg.date or incoming.received_at
        found = extract_evidence(msg.subject, msg.new_text, msg.attachments, reference=reference, tz=tz)
        stage = "acknowledge"
        return _customer_message(
            msg, incoming, match.case, match.refused, categorization, found, view, config, templates, now
        )
    except Exception as exc:  # a crashing stage must not stop the mailbox: quarantine this one mail
        return _quarantine(incoming, raw_sha, stage, f"{type(exc).__name__}: {exc}")


def process_sent(incoming: Incoming, view: BatchView, config: Config, now: datetime) -> Decision:
    """A mail in the complaint account's Sent folder: someone answered a customer by
    hand from that account. On a case it is a staff response (the clock stops);
    our own replies, copied there by the sender, are recognised by the loop header
    and left alone. Never raises."""
    raw_sha = hashlib.sha256(incoming.raw).hexdigest()
    if view.is_known(raw_sha):
        return Decision(outcome="duplicate")
    try:
        msg = parse_message(incoming.raw, received_at=incoming.received_at)
    except ParseFailure as failure:
        return _quarantine(incoming, raw_sha, "sent folder", failure.reason)
    try:
        if own_loop_header(msg, config.loop_token):
            return Decision(outcome="duplicate", note="our own reply (copy in the Sent folder)")
        # Only people holding the account's credentials can put mail in its Sent
        # folder, so the thread is trusted whatever the From line says.
        match = find_thread(
            msg, get_case=view.get_case, message_cases=view.case_for_message_id(), is_staff=lambda _: True
        )
        skip = Skip("staff", "sent folder")
        if match.case is None:
            return _file_skipped(msg, incoming, None, Skip("sent_without_case"), now)
        case = match.case
        record = replace(_message_record(msg, incoming, case.case_id, skip, {}), direction="out")
        event = Event(
            at=iso(now), kind="staff_reply", actor=f"{msg.sender} (Sent folder)", detail=msg.new_text[:500]
        )
        answered = case.status != CaseStatus.RESOLVED
        updated = _with_event(
            case,
            event,
            status=CaseStatus.WAITING_CUSTOMER if answered else case.status,
            awaiting_since="",  # a staff response stops the clock
            escalation_level=0 if answered else case.escalation_level,
            message_ids=_add_ids(case.message_ids, msg.message_id),
        )
        return _stored(msg, incoming, "joined", updated, record, skip, "staff reply found in the Sent folder")
    except Exception as exc:  # like process(): one odd mail never stops the cycle
        return _quarantine(incoming, raw_sha, "sent folder", f"{type(exc).__name__}: {exc}")


def _quarantine(incoming: Incoming, raw_sha: str, stage: str, reason: str) -> Decision:
    return Decision(
        outcome="quarantined",
        quarantine_reason=reason[:500],
        quarantine_stage=stage,
        blobs=(incoming.raw,),
    )


def _message_record(
    msg: ParsedMessage, incoming: Incoming, case_id: str, skip: Skip | None, found: Mapping[str, str]
) -> MessageRecord:
    return MessageRecord(
        key=message_key(msg.message_id, msg.raw_sha256),
        case_id=case_id,
        direction="in",
        message_id=msg.message_id,
        raw_sha256=msg.raw_sha256,
        sender=msg.sender,
        subject=msg.subject,
        date=iso(msg.date) if msg.date else "",
        received_at=iso(incoming.received_at),
        source=incoming.source,
        text=msg.new_text[:TEXT_LIMIT],
        language=msg.language,
        skip=skip.reason if skip else "",
        evidence=tuple(sorted(found.items())),
        attachments=tuple((a.filename, a.safe_name, a.content_type, a.size) for a in msg.attachments),
        defects=msg.defects,
    )


def _attachments(msg: ParsedMessage) -> tuple[tuple[str, bytes], ...]:
    return tuple((a.safe_name, a.payload) for a in msg.attachments)


def _with_event(case: Case, event: Event, **changes: Any) -> Case:
    return replace(case, events=case.events + (event,), updated_at=event.at, **changes)


def _file_skipped(
    msg: ParsedMessage, incoming: Incoming, case: Case | None, skip: Skip, now: datetime
) -> Decision:
    """Auto-replies, bounces, list mail: stored (on their case when they have one), never answered.

    They never move a case's clock: an out-of-office is not the customer answering.
    """
    record = _message_record(msg, incoming, case.case_id if case else "", skip, {})
    updated = None
    if case is not None:
        event = Event(at=iso(now), kind="message_skipped", actor=msg.sender or "unknown", detail=skip.reason)
        updated = _with_event(case, event, message_ids=_add_ids(case.message_ids, msg.message_id))
    return _stored(msg, incoming, "filed", updated, record, skip)


def _stored(
    msg: ParsedMessage,
    incoming: Incoming,
    outcome: str,
    case: Case | None,
    record: MessageRecord,
    skip: Skip,
    note: str = "",
) -> Decision:
    """A mail kept with its raw bytes and attachments that sends nothing."""
    return Decision(
        outcome=outcome,
        case=case,
        message=record,
        skip=skip,
        blobs=(incoming.raw,),
        attachments=_attachments(msg),
        sender=msg.sender,
        subject=msg.subject,
        note=note,
    )


def _staff_message(
    msg: ParsedMessage, incoming: Incoming, case: Case, config: Config, templates: TemplateSet, now: datetime
) -> Decision:
    """A staff member wrote on the case: a command (#note, #assign, #resolve, #reopen)
    or an answer that goes on to the customer. Either way it is never acknowledged."""
    action = parse_staff_mail(msg.new_text, msg.sender)
    record = _message_record(msg, incoming, case.case_id, Skip("staff", action.kind), {})
    base = replace(case, message_ids=_add_ids(case.message_ids, msg.message_id))
    try:
        updated, outgoing = apply_action(
            base,
            action,
            config=config,
            templates=templates,
            now=now,
            cause=msg.raw_sha256,
            reply_to_message_id=case.message_ids[0] if case.message_ids else "",
        )
        note = f"staff {action.kind}"
    except StaffActionError as exc:
        updated = _with_event(
            base, Event(at=iso(now), kind="staff_command_refused", actor=msg.sender, detail=str(exc))
        )
        outgoing = ()
        note = f"staff {action.kind} refused: {exc}"
    return Decision(
        outcome="joined",
        case=updated,
        message=record,
        outgoing=outgoing,
        skip=Skip("staff", action.kind),
        blobs=(incoming.raw, *(mail.raw for mail in outgoing)),
        attachments=_attachments(msg),
        sender=msg.sender,
        subject=msg.subject,
        note=note,
    )


def _add_ids(existing: tuple[str, ...], *new: str) -> tuple[str, ...]:
    result = list(existing)
    for message_id in new:
        if message_id and message_id not in result:
            result.append(message_id)
    return tuple(result)


def _merge_categorization(case: Case, fresh: Categorization) -> dict[str, Any]:
    """A follow-up may sharpen an 'other' case; it never flips a specific category."""
    changes: dict[str, Any] = {
        "matched": tuple(dict.fromkeys(case.matched + fresh.matched)),
        "categories": tuple(dict.fromkeys(case.categories + fresh.categories)),
    }
    if case.category == "other" and fresh.category != "other":
        changes.update(category=fresh.category, confidence=fresh.confidence)
        changes["categories"] = tuple(dict.fromkeys((fresh.category,) + changes["categories"]))
    if SEVERITY_RANK.get(fresh.severity, 0) > SEVERITY_RANK.get(case.severity, 0):
        changes["severity"] = fresh.severity
    return changes


def _customer_message(
    msg: ParsedMessage,
    incoming: Incoming,
    existing: Case | None,
    refused: tuple[str, ...],
    categorization: Categorization,
    found: Mapping[str, str],
    view: BatchView,
    config: Config,
    templates: TemplateSet,
    now: datetime,
) -> Decision:
    at = iso(now)
    if existing is None:
        seq = view.next_seq
        view.next_seq += 1
        case_id = case_id_for(seq, now.year)
        detail = f"by {msg.sender}; category {categorization.category}"
        if refused:
            detail += f"; referred to {', '.join(refused)} but is not its customer"
        case = Case(
            case_id=case_id,
            seq=seq,
            customer=msg.sender,
            customer_name=msg.sender_name,
            subject=msg.subject,
            language=msg.language,
            category=categorization.category,
            categories=categorization.categories,
            confidence=categorization.confidence,
            matched=categorization.matched,
            severity=categorization.severity,
            status=CaseStatus.OPEN,
            created_at=at,
            updated_at=at,
            events=(Event(at=at, kind="opened", actor=msg.sender, detail=detail),),
        )
        outcome = "new_case"
    else:
        case = replace(existing, **_merge_categorization(existing, categorization))
        if case.status == CaseStatus.RESOLVED:
            case = _with_event(
                case, Event(at=at, kind="reopened", actor=msg.sender, detail="customer wrote again")
            )
        outcome = "joined"

    previous = case.evidence_map
    new_evidence = {key: value for key, value in found.items() if key not in previous}
    evidence = {**previous, **new_evidence}
    missing = missing_evidence(case.category, evidence, config.rules)
    case = replace(
        case,
        evidence=tuple(sorted(evidence.items())),
        missing=tuple(missing),
        message_ids=_add_ids(case.message_ids, msg.message_id),
        awaiting_since=case.awaiting_since or iso(incoming.received_at),
    )
    if outcome == "joined":
        detail = f"evidence added: {', '.join(sorted(new_evidence)) or 'none'}"
        case = _with_event(case, Event(at=at, kind="customer_message", actor=msg.sender, detail=detail))

    skip = _ack_skip(msg, incoming, case, existing is None, bool(new_evidence), view, config, now)
    outgoing: tuple[OutgoingMail, ...] = ()
    blobs: list[bytes] = [incoming.raw]
    if skip is None:
        kind = _ack_kind(existing is None, bool(new_evidence), missing)
        mail = _acknowledgement(msg, case, kind, tuple(sorted(new_evidence)), missing, config, templates, now)
        outgoing = (mail,)
        blobs.append(mail.raw)
        case = _with_event(
            case,
            Event(at=at, kind="ack_queued", actor="system", detail=f"{kind} {mail.message_id}"),
            message_ids=_add_ids(case.message_ids, mail.message_id),
            last_ack_at=at,
            acks_sent=case.acks_sent + 1,
        )
        _count_ack(view, msg.sender, now)
    status = case.status
    if status in (
        CaseStatus.OPEN,
        CaseStatus.WAITING_CUSTOMER,
        CaseStatus.WAITING_STAFF,
        CaseStatus.RESOLVED,
    ):
        status = CaseStatus.WAITING_CUSTOMER if missing else CaseStatus.WAITING_STAFF
    case = replace(case, status=status)
    record = _message_record(msg, incoming, case.case_id, skip, found)
    return Decision(
        outcome=outcome,
        case=case,
        message=record,
        outgoing=outgoing,
        skip=skip,
        blobs=tuple(blobs),
        attachments=_attachments(msg),
        sender=msg.sender,
        subject=msg.subject,
        note=case.category,
    )


def _ack_kind(is_new: bool, got_new_evidence: bool, missing: tuple[str, ...] | list[str]) -> str:
    if is_new:
        return "ack_first"
    if not missing and got_new_evidence:
        return "ack_complete"
    return "ack_followup"


def _ack_skip(
    msg: ParsedMessage,
    incoming: Incoming,
    case: Case,
    is_new: bool,
    brings_evidence: bool,
    view: BatchView,
    config: Config,
    now: datetime,
) -> Skip | None:
    """Reasons to store a customer's mail without answering it."""
    settings = config.acknowledge
    if not settings.enabled:
        return Skip("disabled", "acknowledge.enabled = false")
    age = now - incoming.received_at
    if age > timedelta(seconds=config.mailbox.silent_older_than):
        return Skip("backfill_old", f"received {age.days} days ago")
    # A reply that brings new evidence always gets its answer ("received X, still
    # missing Y"): it is bounded by the number of evidence ids, so it cannot flood.
    if not is_new and case.last_ack_at and not brings_evidence:
        since_last = now - parse_iso(case.last_ack_at)
        if since_last < timedelta(seconds=settings.per_case_interval):
            return Skip("case_rate_limit", f"last acknowledgement {int(since_last.total_seconds())}s ago")
    sent_today = _acks_in_last_day(view, msg.sender, now)
    if sent_today >= settings.per_sender_per_day:
        return Skip("sender_rate_limit", f"{sent_today} acknowledgements to this sender in 24h")
    return None


def _counter_key(sender: str) -> str:
    return f"ack:{sender}"


def _acks_in_last_day(view: BatchView, sender: str, now: datetime) -> int:
    horizon = now - timedelta(days=1)
    return sum(
        1 for stamp in view.counter(_counter_key(sender)).get("times", []) if parse_iso(stamp) > horizon
    )


def _count_ack(view: BatchView, sender: str, now: datetime) -> None:
    key = _counter_key(sender)
    horizon = now - timedelta(days=1)
    times = [stamp for stamp in view.counter(key).get("times", []) if parse_iso(stamp) > horizon]
    view.counter_overlay[key] = {"key": key, "times": times + [iso(now)]}


def _acknowledgement(
    msg: ParsedMessage,
    case: Case,
    kind: str,
    received: tuple[str, ...],
    missing: tuple[str, ...] | list[str],
    config: Config,
    templates: TemplateSet,
    now: datetime,
) -> OutgoingMail:
    language = msg.language if msg.language in ("zh", "en") else config.acknowledge.default_language
    request = AckRequest(
        case_id=case.case_id,
        kind=kind,
        language=language,
        category=case.category,
        severity=case.severity,
        response_hours=config.sla.response_seconds(case.category) / 3600,
        received=received,
        missing=tuple(missing),
        customer_name=case.customer_name,
        original_subject=msg.subject,
        hotline=config.acknowledge.hotline,
    )
    rendered = render_ack(templates, request)
    return outgoing_mail(
        config,
        case_id=case.case_id,
        kind=kind,
        unique=f"{case.case_id}.{kind}.{msg.raw_sha256[:16]}",
        rendered=rendered,
        to_addr=msg.sender,
        in_reply_to=msg.message_id,
        references=tuple(dict.fromkeys(msg.references + ((msg.message_id,) if msg.message_id else ()))),
        now=now,
    )

"""The last stage for a customer's mail: open or join the case, merge the evidence,
decide whether to answer, queue the acknowledgement, set the status.

Each step is a small named function; ``Acknowledge.run`` reads as the list of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from inbox_agent.domain.clock import iso, parse_iso
from inbox_agent.domain.jurisdiction import received_at
from inbox_agent.domain.languages import reply_language
from inbox_agent.domain.lifecycle import (
    add_event,
    add_message_ids,
    case_id_for,
    reopened,
    severity_rank,
    status_after_customer_message,
)
from inbox_agent.domain.model import Case, CaseStatus, Categorization, Event, OutgoingMail, Skip
from inbox_agent.mail.compose import AckRequest, render_ack
from inbox_agent.mail.mime import validated_addr_spec
from inbox_agent.mail.outgoing import outgoing_mail
from inbox_agent.pipeline.decision import BatchView, Decision
from inbox_agent.pipeline.filing import attachments_of, message_record
from inbox_agent.pipeline.staff_trust import record_sender_checks
from inbox_agent.pipeline.steps import MailWork
from inbox_agent.policies.escalation import OUTSIDE_WINDOW_FLAG
from inbox_agent.policies.regulatory import assigned_jurisdiction, opening_detail, outside_window
from inbox_agent.stages.categorize import why_line
from inbox_agent.stages.evidence import missing_evidence

WINDOW_TOLD = "window_told"  # the event: the customer was told about the complaint window
NOT_ANSWERED = "not_answered"  # the skip: staff logged the complaint without an acknowledgement
ENCRYPTED_FLAG = "encrypted"  # a mail on the case arrived encrypted and could not be read


@dataclass(frozen=True)
class Acknowledge:
    """``logged``: staff logged the complaint by hand (policies/logged.py). Its receipt
    is when the customer complained, however long ago, so the backfill rule (old mail
    found in a mailbox is not answered) does not hold; ``answer=False``: staff chose not
    to mail the customer (a letter, no mailbox they read)."""

    name: str = "acknowledge"
    logged: bool = False
    answer: bool = True

    def run(self, work: MailWork) -> Decision:
        existing = work.match.case if work.match else None
        case = open_case(work) if existing is None else join_case(work, existing)
        case = record_sender_checks(work, case)
        case = record_encryption(work, case)
        case, new_evidence = merge_evidence(work, case)
        case, window_days = window_to_tell(work, case)
        if existing is not None:
            detail = f"evidence added: {', '.join(sorted(new_evidence)) or 'none'}"
            case = add_event(case, iso(work.now), "customer_message", work.parsed.sender, detail)
        was_reopened = existing is not None and existing.status == CaseStatus.RESOLVED
        skip = (
            ack_skip(
                work,
                case,
                is_new=existing is None,
                brings_evidence=bool(new_evidence),
                reopened=was_reopened,
                logged=self.logged,
            )
            if self.answer
            else Skip(NOT_ANSWERED, "logged by staff without an acknowledgement")
        )
        outgoing: tuple[OutgoingMail, ...] = ()
        if skip is None:
            kind = ack_kind(existing is None, bool(new_evidence), case.missing)
            mail = acknowledgement(
                work, case, kind, tuple(sorted(new_evidence)), window_days, logged=self.logged
            )
            case = record_ack(work, case, kind, mail)
            if window_days:
                case = add_event(case, iso(work.now), WINDOW_TOLD, "system", f"{window_days}-day window")
            outgoing = (mail,)
        case = replace(case, status=status_after_customer_message(case, case.missing))
        return _decision(work, case, "new_case" if existing is None else "joined", skip, outgoing)


def _decision(
    work: MailWork, case: Case, outcome: str, skip: Skip | None, outgoing: tuple[OutgoingMail, ...]
) -> Decision:
    msg = work.parsed
    return Decision(
        outcome=outcome,
        case=case,
        message=message_record(msg, work.incoming, case.case_id, skip, work.found),
        outgoing=outgoing,
        skip=skip,
        blobs=(work.incoming.raw, *(mail.raw for mail in outgoing)),
        attachments=attachments_of(msg),
        sender=msg.sender,
        subject=msg.subject,
        note=case.category,
    )


def open_case(work: MailWork) -> Case:
    msg, found = work.parsed, _categorization(work)
    at = iso(work.now)
    seq = work.view.take_seq()
    detail = f"by {msg.sender}; category {found.category}; {why_line(found)}"
    refused = work.match.refused if work.match else ()
    if refused:
        detail += f"; referred to {', '.join(refused)} but is not its customer"
    jurisdiction = assigned_jurisdiction(work.config, msg.sender, msg.recipients, msg.language)
    case = Case(
        case_id=case_id_for(seq, work.now.year),
        seq=seq,
        customer=msg.sender,
        customer_name=msg.sender_name,
        subject=msg.subject,
        language=msg.language,
        category=found.category,
        categories=found.categories,
        confidence=found.confidence,
        matched=found.matched,
        severity=found.severity,
        status=CaseStatus.OPEN,
        flags=("needs_triage",) if found.needs_triage else (),
        created_at=at,
        updated_at=at,
        events=(Event(at=at, kind="opened", actor=msg.sender, detail=detail),),
        jurisdiction=jurisdiction,
        received_at=iso(_received_by_the_firm(work)),
    )
    if not jurisdiction:
        return case
    # The deadlines as computed now, on the record: what the officer can show a regulator.
    return add_event(case, at, "jurisdiction", "system", opening_detail(case, work.config))


def _received_by_the_firm(work: MailWork) -> datetime:
    """When the complaint reached the firm: our receipt, or for a mail staff forwarded
    (pipeline/staff_forward.py) the original's date when it is known and earlier — the
    customer wrote to the firm then, at another of its addresses."""
    ours = min(work.incoming.received_at, work.now)
    sent = work.forward.original_date if work.forward is not None else None
    return sent if sent is not None and sent < ours else ours


def window_to_tell(work: MailWork, case: Case) -> tuple[Case, int]:
    """An incident older than the service agreement's complaint window: the case is
    flagged for staff at once, and the customer is told in the next acknowledgement
    that goes out (once: the ``window_told`` event). Returns the window in days, 0 when
    there is nothing (more) to tell."""
    if not outside_window(case.evidence_map, received_at(case), work.config):
        return case, 0
    if OUTSIDE_WINDOW_FLAG not in case.flags:
        days = round(work.config.sla.complaint_window / 86400)
        detail = (
            f"{OUTSIDE_WINDOW_FLAG}: incident on {case.evidence_map.get('transaction_date')} "
            f"is older than the {days}-day complaint window"
        )
        case = add_event(
            case, iso(work.now), "flagged", "system", detail, flags=(*case.flags, OUTSIDE_WINDOW_FLAG)
        )
    if WINDOW_TOLD in (event.kind for event in case.events):
        return case, 0
    return case, round(work.config.sla.complaint_window / 86400)


def record_encryption(work: MailWork, case: Case) -> Case:
    """A mail that arrived encrypted (stages/sealed_mail.py) is flagged: staff cannot
    read it either, and the case is not what its empty text suggests. The flag stays as
    the case's history; the reply asks the customer to write again without encryption."""
    msg = work.parsed
    if not msg.encrypted:
        return case
    detail = f"{ENCRYPTED_FLAG}: the mail {msg.message_id} arrived {msg.encrypted}-encrypted; its text cannot be read"
    flags = case.flags if ENCRYPTED_FLAG in case.flags else (*case.flags, ENCRYPTED_FLAG)
    return add_event(case, iso(work.now), "flagged", "system", detail, flags=flags)


def join_case(work: MailWork, case: Case) -> Case:
    """A follow-up may sharpen an 'other' case and raise the severity; it never flips a
    specific category. A resolved case the customer writes to again is reopened: a new
    wait for staff from this mail's receipt, escalated again from L1 (lifecycle.reopened)."""
    fresh = _categorization(work)
    sharpened = case.category == "other" and fresh.category != "other"
    first = (fresh.category,) if sharpened else ()
    case = replace(
        case,
        matched=tuple(dict.fromkeys(case.matched + fresh.matched)),
        categories=tuple(dict.fromkeys(first + case.categories + fresh.categories)),
        severity=fresh.severity
        if severity_rank(fresh.severity) > severity_rank(case.severity)
        else case.severity,
        category=fresh.category if sharpened else case.category,
        confidence=fresh.confidence if sharpened else case.confidence,
    )
    if case.status == CaseStatus.RESOLVED:
        case = add_event(
            case,
            iso(work.now),
            "reopened",
            work.parsed.sender,
            "customer wrote again",
            **reopened(iso(work.incoming.received_at)),
        )
    return case


def merge_evidence(work: MailWork, case: Case) -> tuple[Case, dict[str, str]]:
    """The case's evidence with what this mail brought, and what is still missing."""
    previous = case.evidence_map
    new_evidence = {key: value for key, value in work.found.items() if key not in previous}
    evidence = {**previous, **new_evidence}
    missing = missing_evidence(case.category, evidence, work.config.rules)
    merged = replace(
        case,
        evidence=tuple(sorted(evidence.items())),
        missing=tuple(missing),
        message_ids=add_message_ids(case.message_ids, work.parsed.message_id),
        awaiting_since=case.awaiting_since or iso(work.incoming.received_at),
    )
    return merged, new_evidence


def ack_kind(is_new: bool, got_new_evidence: bool, missing: tuple[str, ...]) -> str:
    if is_new:
        return "ack_first"
    if not missing and got_new_evidence:
        return "ack_complete"
    return "ack_followup"


def ack_skip(
    work: MailWork,
    case: Case,
    *,
    is_new: bool,
    brings_evidence: bool,
    reopened: bool = False,
    logged: bool = False,
) -> Skip | None:
    """Reasons to store a customer's mail without answering it. A mail that reopens a
    resolved case is always answered (the per-case interval would swallow it when the
    resolution mail went out minutes ago): the customer must learn it is open again."""
    settings, now = work.config.acknowledge, work.now
    if not settings.enabled:
        return Skip("disabled", "acknowledge.enabled = false")
    if not replyable(work.parsed.sender):
        # e.g. '"power quadrant system"@example.com': kept on the case, but an address we
        # would not put in an envelope is not one we answer (a crash here would quarantine it).
        return Skip("unreplyable_sender", work.parsed.sender)
    age = now - work.incoming.received_at
    if not logged and age > timedelta(seconds=work.config.mailbox.silent_older_than):
        return Skip("backfill_old", f"received {age.days} days ago")
    # A reply that brings new evidence always gets its answer ("received X, still
    # missing Y"): it is bounded by the number of evidence ids, so it cannot flood.
    if not is_new and case.last_ack_at and not brings_evidence and not reopened:
        since_last = now - parse_iso(case.last_ack_at)
        if since_last < timedelta(seconds=settings.per_case_interval):
            return Skip("case_rate_limit", f"last acknowledgement {int(since_last.total_seconds())}s ago")
    sent_today = len(_recent_acks(work.view, work.parsed.sender, now))
    if sent_today >= settings.per_sender_per_day:
        return Skip("sender_rate_limit", f"{sent_today} acknowledgements to this sender in 24h")
    return None


def record_ack(work: MailWork, case: Case, kind: str, mail: OutgoingMail) -> Case:
    """The case after queueing ``mail``; the sender's daily counter goes up."""
    at = iso(work.now)
    key = _counter_key(work.parsed.sender)
    work.view.counter_overlay[key] = {
        "key": key,
        "times": _recent_acks(work.view, work.parsed.sender, work.now) + [at],
    }
    return add_event(
        case,
        at,
        "ack_queued",
        "system",
        f"{kind} {mail.message_id}",
        message_ids=add_message_ids(case.message_ids, mail.message_id),
        last_ack_at=at,
        acks_sent=case.acks_sent + 1,
    )


def _counter_key(sender: str) -> str:
    """One counter per mailbox: "joe+1@" and "joe+2@" reach the same person, so a forger
    cycling sub-addresses cannot make us mail one victim without limit."""
    local, at, domain = sender.rpartition("@")
    return f"ack:{local.split('+', 1)[0]}{at}{domain}" if at else f"ack:{sender}"


def _recent_acks(view: BatchView, sender: str, now: datetime) -> list[str]:
    horizon = now - timedelta(days=1)
    return [
        stamp for stamp in view.counter(_counter_key(sender)).get("times", []) if parse_iso(stamp) > horizon
    ]


def acknowledgement(
    work: MailWork,
    case: Case,
    kind: str,
    received: tuple[str, ...],
    window_days: int = 0,
    *,
    logged: bool = False,
) -> OutgoingMail:
    msg, config = work.parsed, work.config
    assert work.templates is not None, "acknowledgements are only rendered by the intake pipeline"
    language = reply_language(msg.language, config.acknowledge.default_language)
    request = AckRequest(
        case_id=case.case_id,
        kind=kind,
        language=language,
        category=case.category,
        severity=case.severity,
        response_hours=config.sla.response_seconds(case.category) / 3600,
        received=received,
        missing=case.missing,
        customer_name=case.customer_name,
        original_subject=msg.subject,
        hotline=config.acknowledge.hotline,
        window_days=window_days,
        incident_date=case.evidence_map.get("transaction_date", "")[:10] if window_days else "",
        encrypted=msg.encrypted,
        logged=logged,
    )
    return outgoing_mail(
        config,
        case_id=case.case_id,
        kind=kind,
        unique=f"{case.case_id}.{kind}.{msg.raw_sha256[:16]}",
        rendered=render_ack(work.templates, request),
        to_addr=msg.sender,
        in_reply_to=msg.message_id,
        references=tuple(dict.fromkeys(msg.references + ((msg.message_id,) if msg.message_id else ()))),
        now=work.now,
    )


def _categorization(work: MailWork) -> Categorization:
    assert work.categorization is not None, "acknowledge runs after categorize"
    return work.categorization


def replyable(address: str) -> bool:
    """True when ``address`` is one plain ``local@domain`` our outgoing mail accepts."""
    try:
        validated_addr_spec(address)
    except ValueError:
        return False
    return True

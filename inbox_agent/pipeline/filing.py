"""Deciding stages for mail that is kept but never acknowledged: auto-replies and
other machine mail, staff writing on a case, and replies found in our Sent folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from inbox_agent.domain.clock import iso
from inbox_agent.domain.lifecycle import add_event, add_message_ids, message_key, staff_answered
from inbox_agent.domain.model import Case, MessageRecord, ParsedMessage, Skip
from inbox_agent.pipeline.decision import Decision, Incoming
from inbox_agent.pipeline.staff_trust import Proof, refuse_staff, staff_proof
from inbox_agent.pipeline.steps import MailWork, staff_like
from inbox_agent.policies.staff import StaffAction, StaffActionError, apply_action, parse_staff_mail
from inbox_agent.stages.guard import own_loop_header
from inbox_agent.stages.quoted_reply import written_part

TEXT_LIMIT = 20_000  # characters of a message's text kept in the store (the raw mail has all)


def message_record(
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
        skip_detail=skip.detail[:500] if skip else "",
        evidence=tuple(sorted(found.items())),
        attachments=tuple((a.filename, a.safe_name, a.content_type, a.size) for a in msg.attachments),
        defects=msg.defects,
    )


def attachments_of(msg: ParsedMessage) -> tuple[tuple[str, bytes], ...]:
    return tuple((a.safe_name, a.payload) for a in msg.attachments)


def stored(
    work: MailWork, outcome: str, case: Case | None, record: MessageRecord, skip: Skip, note: str = ""
) -> Decision:
    """A mail kept with its raw bytes and attachments that sends nothing."""
    msg = work.parsed
    return Decision(
        outcome=outcome,
        case=case,
        message=record,
        skip=skip,
        blobs=(work.incoming.raw,),
        attachments=attachments_of(msg),
        sender=msg.sender,
        subject=msg.subject,
        note=note,
    )


def file_skipped(work: MailWork, case: Case | None, skip: Skip) -> Decision:
    """Stored (on its case when it has one), never answered, and it never moves the
    case's clock: an out-of-office is not the customer answering."""
    msg = work.parsed
    record = message_record(msg, work.incoming, case.case_id if case else "", skip, {})
    updated = None
    if case is not None:
        updated = add_event(
            case,
            iso(work.now),
            "message_skipped",
            msg.sender or "unknown",
            skip.reason,
            message_ids=add_message_ids(case.message_ids, msg.message_id),
        )
    return stored(work, "filed", updated, record, skip)


class FileAutomatic:
    """Mail the guard marked (auto-reply, bounce, list, our own) is filed, not answered."""

    name = "file"

    def run(self, work: MailWork) -> Decision | None:
        if work.skip is None:
            return None
        return file_skipped(work, work.match.case if work.match else None, work.skip)


class StaffMail:
    """Staff writing on a case: a command (#note, #assign, #resolve, #reopen) or an
    answer that goes on to the customer. Either way it is never acknowledged. Staff
    mail that names no case (an internal forward, a test) is kept and answers nobody."""

    name = "staff"

    def run(self, work: MailWork) -> Decision | None:
        msg = work.parsed
        if not staff_like(work):
            return None
        case = work.match.case if work.match else None
        if case is None:
            return file_skipped(work, None, Skip("staff_without_case"))
        if msg.sender == case.customer:
            return None  # a staff member complaining as a customer is a customer
        # Only what staff wrote, never the quote alone: a mail sent by mistake with
        # nothing typed would otherwise reply the quoted notification to the customer.
        action = parse_staff_mail(written_part(msg.text), msg.sender)
        proof = staff_proof(work, case, action.kind)
        if proof is None:
            # Not proven: a customer's mail from that address (the next stage opens
            # their own case); the case it aimed at only records why.
            refuse_staff(work, case, action.kind)
            return None
        return _staff_action(work, case, action, proof)


def _staff_action(work: MailWork, case: Case, action: StaffAction, proof: Proof) -> Decision:
    msg = work.parsed
    base = replace(case, message_ids=add_message_ids(case.message_ids, msg.message_id))
    base = add_event(
        base, iso(work.now), "sender_checked", msg.sender, f"staff proven: {proof.kind}: {proof.detail}"
    )
    assert work.templates is not None, "staff mail is only decided by the intake pipeline"
    try:
        updated, outgoing = apply_action(
            base,
            action,
            config=work.config,
            templates=work.templates,
            now=work.now,
            cause=msg.raw_sha256,
            reply_to_message_id=case.message_ids[0] if case.message_ids else "",
        )
        note = f"staff {action.kind}"
    except StaffActionError as exc:
        updated = add_event(base, iso(work.now), "staff_command_refused", msg.sender, str(exc))
        outgoing = ()
        note = f"staff {action.kind} refused: {exc}"
    skip = Skip("staff", action.kind)
    decision = stored(
        work, "joined", updated, message_record(msg, work.incoming, case.case_id, skip, {}), skip, note
    )
    return replace(decision, outgoing=outgoing, blobs=(work.incoming.raw, *(mail.raw for mail in outgoing)))


class OwnCopy:
    """Our own replies, copied to the Sent folder by the sender, are left alone."""

    name = "sent folder"

    def run(self, work: MailWork) -> Decision | None:
        if own_loop_header(work.parsed, work.config.loop_token):
            return Decision(outcome="duplicate", note="our own reply (copy in the Sent folder)")
        return None


@dataclass(frozen=True)
class SentReply:
    """Someone answered a customer by hand from the complaint account: on a case it
    is a staff response (the clock stops); elsewhere it is kept and changes nothing."""

    name: str = "sent folder"

    def run(self, work: MailWork) -> Decision:
        msg = work.parsed
        case = work.match.case if work.match else None
        if case is None:
            return file_skipped(work, None, Skip("sent_without_case"))
        skip = Skip("staff", "sent folder")
        record = replace(message_record(msg, work.incoming, case.case_id, skip, {}), direction="out")
        updated = add_event(
            case,
            iso(work.now),
            "staff_reply",
            f"{msg.sender} (Sent folder)",
            msg.new_text[:500],
            message_ids=add_message_ids(case.message_ids, msg.message_id),
            **staff_answered(case),
        )
        return stored(work, "joined", updated, record, skip, "staff reply found in the Sent folder")

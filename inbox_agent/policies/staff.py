"""Staff actions on a case (pure): note, assign, reply, resolve, reopen.

The same actions come from two doors: the CLI (`inbox-agent reply CASE ...`) and a
staff member's mail to the complaint address about a case, whose first line may be
a command (``#note``, ``#assign NAME``, ``#resolve``, ``#reopen``); a mail without a
command is an answer for the customer. Every action is an event with who and when.
A reply or a resolution goes to the customer and stops the response clock.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.model import Case, CaseStatus, Event, OutgoingMail
from inbox_agent.mail.compose import (
    ResolutionRequest,
    StaffReplyRequest,
    render_resolution,
    render_staff_reply,
)
from inbox_agent.mail.outgoing import outgoing_mail
from inbox_agent.mail.render import TemplateSet

ACTIONS = ("note", "assign", "reply", "resolve", "reopen")
_COMMAND = re.compile(r"^\s*#(note|assign|resolve|reopen)\b[ \t:]*(.*)$", re.IGNORECASE)


class StaffActionError(Exception):
    """The action does not fit the case (e.g. resolving a resolved case)."""


@dataclass(frozen=True)
class StaffAction:
    kind: str  # one of ACTIONS
    actor: str  # the staff address or CLI user
    text: str = ""  # note, answer or resolution summary
    assignee: str = ""


def parse_staff_mail(text: str, actor: str) -> StaffAction:
    """First line ``#command ...`` → that command (the rest of the mail is its text);
    anything else → a reply for the customer."""
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    match = _COMMAND.match(first)
    if not match:
        return StaffAction(kind="reply", actor=actor, text=text.strip())
    kind, argument = match.group(1).lower(), match.group(2).strip()
    rest = "\n".join(lines[1:]).strip()
    if kind == "assign":
        return StaffAction(
            kind="assign", actor=actor, assignee=argument.split()[0] if argument else actor, text=rest
        )
    body = "\n".join(part for part in (argument, rest) if part)
    return StaffAction(kind=kind, actor=actor, text=body)


def apply_action(
    case: Case,
    action: StaffAction,
    *,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    cause: str,
    reply_to_message_id: str = "",
) -> tuple[Case, tuple[OutgoingMail, ...]]:
    """The case after the action, and the mail it sends. ``cause`` identifies what
    triggered it (an incoming mail's hash, a CLI invocation) for idempotent ids."""
    at = iso(now)
    kind = action.kind
    if kind not in ACTIONS:
        raise StaffActionError(f"unknown action {kind!r}")
    if kind == "note":
        if not action.text:
            raise StaffActionError("a note needs text")
        return _event(case, at, "note", action.actor, action.text), ()
    if kind == "assign":
        if not action.assignee:
            raise StaffActionError("assign needs a name")
        updated = _event(case, at, "assigned", action.actor, f"to {action.assignee}")
        return replace(updated, assignee=action.assignee), ()
    if kind == "reopen":
        if case.status != CaseStatus.RESOLVED:
            raise StaffActionError(f"{case.case_id} is {case.status}, not resolved")
        updated = _event(case, at, "reopened", action.actor, action.text)
        return replace(updated, status=CaseStatus.WAITING_STAFF, awaiting_since=at, escalation_level=0), ()
    unique = f"{case.case_id}.{kind}.{_digest(cause)}"
    language = case.language if case.language in ("zh", "en") else config.acknowledge.default_language
    if kind == "reply":
        if not action.text:
            raise StaffActionError("a reply needs text")
        rendered = render_staff_reply(
            templates,
            StaffReplyRequest(
                case_id=case.case_id,
                language=language,
                customer_name=case.customer_name,
                staff_name="",
                answer=action.text,
                original_subject=case.subject,
            ),
        )
        status = CaseStatus.WAITING_CUSTOMER
        event_kind = "staff_reply"
    else:
        if case.status == CaseStatus.RESOLVED:
            raise StaffActionError(f"{case.case_id} is already resolved")
        rendered = render_resolution(
            templates,
            ResolutionRequest(
                case_id=case.case_id,
                language=language,
                category=case.category,
                customer_name=case.customer_name,
                summary=action.text,
                original_subject=case.subject,
            ),
        )
        status = CaseStatus.RESOLVED
        event_kind = "resolved"
    parent = reply_to_message_id or (case.message_ids[0] if case.message_ids else "")
    mail = outgoing_mail(
        config,
        case_id=case.case_id,
        kind="staff_reply" if kind == "reply" else "resolution",
        unique=unique,
        rendered=rendered,
        to_addr=case.customer,
        in_reply_to=parent,
        references=case.message_ids[-10:],
        now=now,
    )
    updated = _event(case, at, event_kind, action.actor, action.text[:500])
    updated = replace(
        updated,
        status=status,
        awaiting_since="",  # a staff response stops the clock
        escalation_level=0 if kind == "reply" else updated.escalation_level,
        message_ids=updated.message_ids + (mail.message_id,),
    )
    return updated, (mail,)


def _event(case: Case, at: str, kind: str, actor: str, detail: str) -> Case:
    return replace(
        case, events=case.events + (Event(at=at, kind=kind, actor=actor, detail=detail),), updated_at=at
    )


def _digest(cause: str) -> str:
    return hashlib.sha256(cause.encode()).hexdigest()[:16]

"""Staff actions on a case (pure): note, assign, reply, resolve, reopen, category, severity.

The same actions come from three doors: the CLI (`inbox-agent reply CASE ...`), the
staff web app, and a staff member's mail to the complaint address about a case, whose
first line may be a command (``#note``, ``#assign NAME``, ``#resolve``, ``#reopen``,
``#category CAT``, ``#severity LEVEL``); a mail without a command is an answer for the
customer. Every action is an event with who and when.
A reply or a resolution goes to the customer and stops the response clock.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import iso
from inbox_agent.domain.languages import reply_language
from inbox_agent.domain.lifecycle import SEVERITY_ORDER, add_event, reopened
from inbox_agent.domain.model import CATEGORIES, Case, CaseStatus, OutgoingMail
from inbox_agent.mail.compose import (
    RenderedMail,
    ResolutionRequest,
    StaffReplyRequest,
    render_resolution,
    render_staff_reply,
)
from inbox_agent.mail.outgoing import outgoing_mail
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.determination import (
    canonical_determination,
    determination_problem,
    determination_words,
    redress_text,
    split_determination,
)
from inbox_agent.policies.regulatory import next_steps_for

ACTIONS = ("note", "assign", "reply", "resolve", "reopen", "category", "severity")
_COMMAND = re.compile(r"^\s*#(note|assign|resolve|reopen|category|severity)\b[ \t:]*(.*)$", re.IGNORECASE)
# The flag the categorizer sets below its confidence threshold; a staff decision clears it.
NEEDS_TRIAGE = "needs_triage"


class StaffActionError(Exception):
    """The action does not fit the case (e.g. resolving a resolved case)."""


@dataclass(frozen=True)
class StaffAction:
    kind: str  # one of ACTIONS
    actor: str  # the staff address or CLI user
    text: str = ""  # note, answer or resolution summary
    assignee: str = ""
    value: str = ""  # the new category or severity; resolve: the determination
    redress: str = ""  # resolve: what was paid or credited ("25.00 CNY")


# The first lines of the mails we send staff (staff_escalation.txt.j2, the alert about
# an unproven staff mail): a staff reply that carries one below its own words, quoted
# in a way not recognised as a quote, is cut there, so our internal notification
# (evidence, the customer's address, the commands) never goes on to a customer.
_OUR_MAIL_TO_STAFF = re.compile(
    r"^[ \t]*(?:Case \S+ has waited\b|A mail claiming to be from staff wrote on case\b)", re.MULTILINE
)
NOTHING_WRITTEN = (
    "a staff mail with nothing written above the quoted text (sent by mistake?): "
    "nothing was sent to the customer"
)

COMMAND_NOT_FIRST = (
    "a command on line {line} of a staff mail, not the first: kept as this note and nothing was "
    "sent to the customer; to carry it out, put the command on the first line"
)


def parse_staff_mail(text: str, actor: str) -> StaffAction:
    """First line ``#command ...`` → that command (the rest of the mail is its text);
    anything else → a reply for the customer. ``text`` is what the staff member wrote
    (quotes cut); a mail with nothing written, or with a command below its first line,
    is a note saying so, never a reply."""
    ours = _OUR_MAIL_TO_STAFF.search(text)
    if ours is not None:
        text = text[: ours.start()]
    if not text.strip():
        return StaffAction(kind="note", actor=actor, text=NOTHING_WRITTEN)
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    match = _COMMAND.match(first)
    if not match:
        late = next((number for number, line in enumerate(lines, 1) if _COMMAND.match(line)), None)
        if late is not None:
            # "Hi team,\n#note suspect fraud": meant for staff, so never the customer's.
            return StaffAction(
                kind="note", actor=actor, text=f"{COMMAND_NOT_FIRST.format(line=late)}\n\n{text.strip()}"
            )
        return StaffAction(kind="reply", actor=actor, text=text.strip())
    kind, argument = match.group(1).lower(), match.group(2).strip()
    rest = "\n".join(lines[1:]).strip()
    if kind == "assign":
        return StaffAction(
            kind="assign", actor=actor, assignee=argument.split()[0] if argument else actor, text=rest
        )
    if kind in ("category", "severity"):
        value = argument.split()[0].lower() if argument else ""
        return StaffAction(kind=kind, actor=actor, value=value, text=rest)
    if kind == "resolve":  # "#resolve upheld redress 25.00 CNY: refunded the fee"
        determination, redress, argument = split_determination(argument)
        body = "\n".join(part for part in (argument, rest) if part)
        return StaffAction(kind=kind, actor=actor, value=determination, redress=redress, text=body)
    body = "\n".join(part for part in (argument, rest) if part)
    return StaffAction(kind=kind, actor=actor, text=body)


@dataclass(frozen=True)
class ActionContext:
    """What a command needs besides the case: settings, templates, the time, and what
    caused it (an incoming mail's hash, a CLI invocation) for idempotent mail ids."""

    config: Config
    templates: TemplateSet
    now: datetime
    cause: str
    reply_to_message_id: str = ""

    @property
    def at(self) -> str:
        return iso(self.now)


Outcome = tuple[Case, tuple[OutgoingMail, ...]]


class StaffCommand(Protocol):
    def apply(self, case: Case, action: StaffAction, ctx: ActionContext) -> Outcome: ...


class Note:
    def apply(self, case: Case, action: StaffAction, ctx: ActionContext) -> Outcome:
        if not action.text:
            raise StaffActionError("a note needs text")
        return add_event(case, ctx.at, "note", action.actor, action.text), ()


# A staff name or address as staff accounts are named (services/staff_auth.py): a blank,
# a tab or a sentence would leave the case looking taken by nobody anyone can find.
_ASSIGNEE = re.compile(r"[\w.@-]{1,64}")


class Assign:
    def apply(self, case: Case, action: StaffAction, ctx: ActionContext) -> Outcome:
        name = action.assignee.strip()
        if not name:
            raise StaffActionError("assign needs a name")
        if not _ASSIGNEE.fullmatch(name):
            raise StaffActionError(f"not a staff name: {name!r} (letters, digits and . _ - @, at most 64)")
        return add_event(case, ctx.at, "assigned", action.actor, f"to {name}", assignee=name), ()


class Reopen:
    def apply(self, case: Case, action: StaffAction, ctx: ActionContext) -> Outcome:
        if case.status != CaseStatus.RESOLVED:
            raise StaffActionError(f"{case.case_id} is {case.status}, not resolved")
        return add_event(case, ctx.at, "reopened", action.actor, action.text, **reopened(ctx.at)), ()


class Reply:
    """An answer for the customer: it stops the clock and restarts the escalation ladder."""

    def apply(self, case: Case, action: StaffAction, ctx: ActionContext) -> Outcome:
        if not action.text:
            raise StaffActionError("a reply needs text")
        request = StaffReplyRequest(
            case_id=case.case_id,
            language=_language(case, ctx),
            customer_name=case.customer_name,
            staff_name="",
            answer=action.text,
            original_subject=case.subject,
        )
        mail = _mail_to_customer(case, "staff_reply", render_staff_reply(ctx.templates, request), ctx)
        return _answered(
            case, action, ctx, "staff_reply", mail, status=CaseStatus.WAITING_CUSTOMER, escalation_level=0
        )


class Resolve:
    def apply(self, case: Case, action: StaffAction, ctx: ActionContext) -> Outcome:
        if case.status == CaseStatus.RESOLVED:
            raise StaffActionError(f"{case.case_id} is already resolved")
        determination = canonical_determination(action.value)
        required = ctx.config.regulatory.require_determination
        problem = determination_problem(determination, action.redress, required=required)
        if problem:
            raise StaffActionError(problem)
        redress = redress_text(action.redress) if action.redress else ""
        request = ResolutionRequest(
            case_id=case.case_id,
            language=_language(case, ctx),
            category=case.category,
            customer_name=case.customer_name,
            summary=action.text,
            original_subject=case.subject,
            # Where an unsatisfied customer can go next: the case's jurisdiction, from
            # config only. Here, so every door (CLI, staff mail, web) names them.
            next_steps=next_steps_for(case, ctx.config),
            determination=determination,
            redress=redress,
        )
        mail = _mail_to_customer(case, "resolution", render_resolution(ctx.templates, request), ctx)
        words = determination_words(determination, redress)
        detail = f"{words}: {action.text}" if words and action.text else words or action.text
        resolved, mails = _answered(
            case, action, ctx, "resolved", mail, status=CaseStatus.RESOLVED, detail=detail
        )
        return replace(resolved, determination=determination, redress=redress), mails


class Recategorize:
    """A category correction by mail (``#category CAT``). The CLI and the web app go
    through ``services.recategorize``, which also keeps the labelled example."""

    def apply(self, case: Case, action: StaffAction, ctx: ActionContext) -> Outcome:
        if action.value not in CATEGORIES:
            raise StaffActionError(f"unknown category {action.value!r} (known: {', '.join(CATEGORIES)})")
        if action.value == case.category and NEEDS_TRIAGE not in case.flags:
            raise StaffActionError(f"{case.case_id} is already filed under {action.value}")
        return add_event(
            case,
            ctx.at,
            "recategorized",
            action.actor,
            f"{case.category} -> {action.value}",
            category=action.value,
            categories=tuple(dict.fromkeys((action.value, *case.categories))),
            flags=tuple(flag for flag in case.flags if flag != NEEDS_TRIAGE),
        ), ()


class Severity:
    def apply(self, case: Case, action: StaffAction, ctx: ActionContext) -> Outcome:
        if action.value not in SEVERITY_ORDER:
            raise StaffActionError(f"unknown severity {action.value!r} (known: {', '.join(SEVERITY_ORDER)})")
        if action.value == case.severity:
            raise StaffActionError(f"{case.case_id} is already {action.value}")
        detail = f"{case.severity} -> {action.value}" + (f": {action.text}" if action.text else "")
        return add_event(case, ctx.at, "severity_changed", action.actor, detail, severity=action.value), ()


# The command table (after imapautofiler's name -> class lookup): one small object each.
COMMANDS: dict[str, StaffCommand] = {
    "note": Note(),
    "assign": Assign(),
    "reply": Reply(),
    "resolve": Resolve(),
    "reopen": Reopen(),
    "category": Recategorize(),
    "severity": Severity(),
}


def apply_action(
    case: Case,
    action: StaffAction,
    *,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    cause: str,
    reply_to_message_id: str = "",
) -> Outcome:
    """The case after the action, and the mail it sends."""
    command = COMMANDS.get(action.kind)
    if command is None:
        raise StaffActionError(f"unknown action {action.kind!r}")
    return command.apply(case, action, ActionContext(config, templates, now, cause, reply_to_message_id))


def _language(case: Case, ctx: ActionContext) -> str:
    return reply_language(case.language, ctx.config.acknowledge.default_language)


def _answered(
    case: Case,
    action: StaffAction,
    ctx: ActionContext,
    event_kind: str,
    mail: OutgoingMail,
    *,
    status: CaseStatus,
    escalation_level: int | None = None,
    detail: str | None = None,
) -> Outcome:
    """A staff response that went to the customer: an event, the mail on the thread,
    the new status, and the response clock stopped."""
    updated = add_event(
        case, ctx.at, event_kind, action.actor, (action.text if detail is None else detail)[:500]
    )
    answered = replace(
        updated,
        message_ids=updated.message_ids + (mail.message_id,),
        status=status,
        awaiting_since="",
        escalation_level=updated.escalation_level if escalation_level is None else escalation_level,
    )
    return answered, (mail,)


def _mail_to_customer(case: Case, kind: str, rendered: RenderedMail, ctx: ActionContext) -> OutgoingMail:
    action = "reply" if kind == "staff_reply" else "resolve"
    parent = ctx.reply_to_message_id or (case.message_ids[0] if case.message_ids else "")
    return outgoing_mail(
        ctx.config,
        case_id=case.case_id,
        kind=kind,
        unique=f"{case.case_id}.{action}.{_digest(ctx.cause)}",
        rendered=rendered,
        to_addr=case.customer,
        in_reply_to=parent,
        references=case.message_ids[-10:],
        now=ctx.now,
    )


def _digest(cause: str) -> str:
    return hashlib.sha256(cause.encode()).hexdigest()[:16]

"""What the sweep does for the regulatory clocks of one case (pure): the holding reply
at the holding point, and an escalation ahead of a deadline about to be missed.

Both are recorded as events on the case (``holding_reply``, ``deadline_escalated``) in
the same unit of work that queues their mail, so each happens once: the event is the
memory, and the outbox ids are derived from the case and the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from inbox_agent.config.loader import Config, EscalationLevel
from inbox_agent.domain.clock import iso
from inbox_agent.domain.jurisdiction import DEADLINE_EVENT, HOLDING_EVENT, ClockState, received_at
from inbox_agent.domain.languages import reply_language
from inbox_agent.domain.lifecycle import add_event, add_message_ids
from inbox_agent.domain.model import Case, CaseStatus, MessageRecord, OutgoingMail
from inbox_agent.mail.compose import HoldingRequest, render_holding_reply
from inbox_agent.mail.outgoing import outgoing_mail
from inbox_agent.mail.render import TemplateSet
from inbox_agent.policies.escalation import LevelDeadline, notification_mail
from inbox_agent.policies.notified import notified_detail
from inbox_agent.policies.regulatory import (
    CaseClocks,
    case_clocks,
    deadline_escalation_due,
    holding_reply_due,
    local_time,
)

HOLDING_KIND = "holding_reply"


@dataclass(frozen=True)
class RegulatoryDecision:
    case: Case
    mails: tuple[OutgoingMail, ...]
    holding_sent: bool
    escalated: str  # the clock escalated ahead of its deadline, "" = none


def needs_regulatory_action(case: Case, config: Config, now: datetime) -> bool:
    return bool(holding_reply_due(case, config, now) or deadline_escalation_due(case, config, now))


def regulatory_sweep_case(
    case: Case,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    last_message: MessageRecord | None,
    salt: str = "",
) -> RegulatoryDecision | None:
    mails: list[OutgoingMail] = []
    holding_sent = False
    clocks = holding_reply_due(case, config, now)
    if clocks is not None:
        case, mail = holding_reply(case, clocks, config, templates, now)
        mails.append(mail)
        holding_sent = True
    escalated = ""
    state = deadline_escalation_due(case, config, now)
    if state is not None:
        case, mail_or_none = escalate_ahead(case, state, config, templates, now, last_message, salt)
        mails.extend([mail_or_none] if mail_or_none else [])
        escalated = state.clock
    if not holding_sent and not escalated:
        return None
    return RegulatoryDecision(case, tuple(mails), holding_sent, escalated)


def holding_reply(
    case: Case, clocks: CaseClocks, config: Config, templates: TemplateSet, now: datetime
) -> tuple[Case, OutgoingMail]:
    """The holding reply to the customer, and the case recording it."""
    final = clocks.state("final")
    assert final is not None and clocks.calendar is not None and clocks.jurisdiction is not None
    calendar = clocks.calendar
    language = reply_language(case.language, config.acknowledge.default_language)
    request = HoldingRequest(
        case_id=case.case_id,
        language=language,
        customer_name=case.customer_name,
        original_subject=case.subject,
        received_date=calendar.local_date(received_at(case)).isoformat(),  # where the clocks count from
        final_date=local_time(final.deadline, clocks)[:10],
        missing=case.missing,
        next_steps=clocks.jurisdiction.next_steps,
    )
    mail = outgoing_mail(
        config,
        case_id=case.case_id,
        kind=HOLDING_KIND,
        unique=f"{case.case_id}.{HOLDING_KIND}",
        rendered=render_holding_reply(templates, request),
        to_addr=case.customer,
        in_reply_to=case.message_ids[0] if case.message_ids else "",
        references=case.message_ids[-10:],
        now=now,
    )
    detail = (
        f"final answer by {local_time(final.deadline, clocks)} ({clocks.jurisdiction.key}); {mail.message_id}"
    )
    updated = add_event(
        case,
        iso(now),
        HOLDING_EVENT,
        "system",
        detail,
        message_ids=add_message_ids(case.message_ids, mail.message_id),
    )
    return updated, mail


def escalate_ahead(
    case: Case,
    state: ClockState,
    config: Config,
    templates: TemplateSet,
    now: datetime,
    last_message: MessageRecord | None,
    salt: str,
) -> tuple[Case, OutgoingMail | None]:
    """Escalate to ``[regulatory] escalate_to`` (default: the highest level) before the
    deadline; the internal ladder goes on as before."""
    level = _target_level(config)
    clocks = case_clocks(case, config, now)
    when = local_time(state.deadline, clocks)
    notice = (
        f"Regulatory deadline ahead: the {state.clock} deadline of {case.jurisdiction} "
        f"({state.rule}) is {when}; escalated ahead of the internal levels."
    )
    mail = None
    if level is not None and level.recipients:
        unique = f"{case.case_id}.deadline.{state.clock}"
        # The wait is counted from the receipt when the clock is stopped (a staff answer
        # does not stop a regulatory deadline).
        waiting = case if case.awaiting_since else replace(case, awaiting_since=case.created_at)
        mail = notification_mail(
            waiting,
            LevelDeadline(level, state.deadline, 0.0),
            config,
            templates,
            now,
            last_message,
            salt,
            unique=unique,
            first_notice=notice,
        )
    notified = (
        notified_detail(level.recipients, mail.message_id)
        if mail is not None and level is not None
        else "notified nobody (no recipients configured)"
    )
    detail = f"{state.clock}: due {iso(state.deadline)} ({when}); {notified}"
    updated = add_event(case, iso(now), DEADLINE_EVENT, "system", detail, status=CaseStatus.ESCALATED)
    return updated, mail


def _target_level(config: Config) -> EscalationLevel | None:
    levels = config.escalation.levels
    if not levels:
        return None
    wanted = config.regulatory.escalate_to
    return next((level for level in levels if level.name == wanted), levels[-1])

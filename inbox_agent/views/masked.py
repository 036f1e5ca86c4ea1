"""Cases and messages as staff see them: every free text through ``domain.mask``.

``show`` and anything else that prints a stored case uses these, so a card number,
ID number, phone number, one-time code or password the customer wrote is masked
unless someone asks to see it unmasked (``show --unmask``, recorded on the case).
"""

from __future__ import annotations

from dataclasses import replace

from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import Case, Event, MessageRecord


def _pairs(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((key, mask_text(value)) for key, value in pairs)


def masked_case(case: Case) -> Case:
    return replace(
        case,
        # An address or a display name can be a phone number ("13812345678@163.com").
        customer=mask_text(case.customer),
        customer_name=mask_text(case.customer_name),
        subject=mask_text(case.subject),
        evidence=_pairs(case.evidence),
        events=tuple(
            Event(at=e.at, kind=e.kind, actor=mask_text(e.actor), detail=mask_text(e.detail))
            for e in case.events
        ),
    )


def masked_message(message: MessageRecord) -> MessageRecord:
    return replace(
        message,
        sender=mask_text(message.sender),
        subject=mask_text(message.subject),
        text=mask_text(message.text),
        skip_detail=mask_text(message.skip_detail),
        evidence=_pairs(message.evidence),
        attachments=tuple(
            (mask_text(name), stored, kind, size) for name, stored, kind, size in message.attachments
        ),
    )

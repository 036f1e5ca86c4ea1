"""Evidence extraction: what the customer already told us, normalised (pure).

This module runs the finders and masks what they return; each finder lives in
its own module:

* :mod:`~inbox_agent.stages.evidence_text`: the folded text they all read;
* :mod:`~inbox_agent.stages.evidence_amounts`: amounts, actual and expected;
* :mod:`~inbox_agent.stages.evidence_dates`: transaction date and time;
* :mod:`~inbox_agent.stages.evidence_identifiers`: transaction id, account,
  recipient;
* :mod:`~inbox_agent.stages.evidence_error_message`: the error the app showed;
* :mod:`~inbox_agent.stages.evidence_history_and_resolution`: earlier contact
  and the resolution asked for.

Every value leaves through :func:`mask_sensitive`
(:mod:`~inbox_agent.stages.evidence_masking`), so a full card number or an
identity-card number never reaches the store, a log or a staff notification.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, tzinfo

from inbox_agent.config.rules import Rules
from inbox_agent.domain.model import Attachment
from inbox_agent.stages.evidence_amounts import Amount, find_amounts, first_amount
from inbox_agent.stages.evidence_dates import find_date
from inbox_agent.stages.evidence_error_message import find_error_message
from inbox_agent.stages.evidence_history_and_resolution import (
    find_contact_history,
    find_desired_resolution,
)
from inbox_agent.stages.evidence_identifiers import find_account_id, find_recipient, find_transaction_id
from inbox_agent.stages.evidence_masking import mask_sensitive
from inbox_agent.stages.evidence_text import FoldedText
from inbox_agent.stages.evidence_times import find_time

# The names callers have always imported from here, wherever they now live.
__all__ = [
    "Amount",
    "describe_screenshots",
    "extract_evidence",
    "find_amounts",
    "find_date",
    "find_time",
    "mask_sensitive",
    "missing_evidence",
]


def describe_screenshots(attachments: Sequence[Attachment]) -> str | None:
    """Only real image/PDF attachments count: "screenshot attached" in the text does not."""
    names = [a.filename or a.safe_name for a in attachments if a.is_screenshot]
    if not names:
        return None
    noun = "file" if len(names) == 1 else "files"
    return f"{len(names)} {noun}: {', '.join(names)}"


def _found(
    text: FoldedText, amounts: tuple[Amount, ...], attachments: Sequence[Attachment], today: date
) -> Iterator[tuple[str, str | None]]:
    actual = [a for a in amounts if not a.expected]
    expected = [a for a in amounts if a.expected]
    found_date = find_date(text.folded, today)
    yield "transaction_date", found_date.isoformat() if found_date else None
    yield "transaction_time", find_time(text.folded)
    reported = first_amount(actual) or first_amount(amounts)
    yield "amount", str(reported) if reported else None
    yield "transaction_id", find_transaction_id(text)
    yield "error_message", find_error_message(text)
    yield "screenshot", describe_screenshots(attachments)
    yield "account_id", find_account_id(text)
    yield "recipient", find_recipient(text)
    yield "expected_amount", str(first_amount(expected)) if expected and actual else None
    yield "contact_history", find_contact_history(text)
    yield "desired_resolution", find_desired_resolution(text)


def extract_evidence(
    subject: str,
    text: str,
    attachments: Sequence[Attachment],
    *,
    reference: datetime,
    tz: tzinfo,
    amounts: tuple[Amount, ...] | None = None,
) -> dict[str, str]:
    """Evidence id -> normalised value, for the evidence this message supplies.

    ``reference`` is the message's date: relative dates ("yesterday", "上周五") and
    dates without a year are resolved against it, in the service's time zone ``tz``.
    ``amounts``: ``find_amounts(subject, text)`` when the caller has it already.
    """
    today = reference.astimezone(tz).date() if reference.tzinfo else reference.date()
    prepared = FoldedText.of(subject, text)
    return {
        evidence_id: mask_sensitive(value)
        for evidence_id, value in _found(
            prepared, find_amounts(subject, text) if amounts is None else amounts, attachments, today
        )
        if value
    }


def missing_evidence(category: str, found: Mapping[str, str], rules: Rules) -> tuple[str, ...]:
    """The required evidence still missing, in the configured order.

    For a group of alternatives ("transaction_id|screenshot") nothing is missing when
    any of them is present; otherwise the group's first id is reported, so the
    acknowledgement asks for the preferred item (each id has its own label).
    """
    missing: list[str] = []
    for group in rules.required_evidence.get(category, ()):
        if not any(found.get(item) for item in group):
            missing.append(group[0])
    return tuple(missing)

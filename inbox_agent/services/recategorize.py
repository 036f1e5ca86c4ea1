"""Staff correct a case's category: one event on the case, one labelled example to learn from.

The case change is one unit-of-work commit. The labelled example (the customer's
first mail and the category staff chose) is handed to ``keep_example`` after the
commit, so the model never learns from a correction that was not stored;
``inbox-agent train`` reads those examples with the shipped data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from inbox_agent.domain.clock import iso
from inbox_agent.domain.languages import ENGLISH, reply_language
from inbox_agent.domain.lifecycle import add_event
from inbox_agent.domain.model import CATEGORIES, Case
from inbox_agent.services.model_fit import Example
from inbox_agent.services.ports import CaseStore
from inbox_agent.services.staff_actions import NoSuchCase
from inbox_agent.services.unit_of_work import UnitOfWork

NEEDS_TRIAGE = "needs_triage"


class RecategorizeError(Exception):
    """The correction does not fit (unknown category, or the case already has it)."""


def recategorize(
    store: CaseStore,
    case_id: str,
    category: str,
    actor: str,
    now: datetime,
    keep_example: Callable[[dict[str, str]], None],
) -> Case:
    """File the case under ``category``; raises NoSuchCase or RecategorizeError."""
    if category not in CATEGORIES:
        raise RecategorizeError(f"unknown category {category!r} (known: {', '.join(CATEGORIES)})")
    with UnitOfWork(store) as uow:
        case = uow.case(case_id)
        if case is None:
            raise NoSuchCase(f"no case {case_id}")
        if case.category == category and NEEDS_TRIAGE not in case.flags:
            raise RecategorizeError(f"{case_id} is already filed under {category}")
        updated = add_event(
            case,
            iso(now),
            "recategorized",
            actor,
            f"{case.category} -> {category}",
            category=category,
            categories=tuple(dict.fromkeys((category, *case.categories))),
            flags=tuple(flag for flag in case.flags if flag != NEEDS_TRIAGE),
        )
        uow.put_case(updated)
        uow.commit()
    first = next((m for m in store.case_messages(case_id) if m.direction == "in"), None)
    if first is not None:
        keep_example(
            {
                "case": case_id,
                "subject": first.subject,
                "text": first.text,
                "category": category,
                "language": first.language,
                "at": iso(now),
            }
        )
    return updated


def stored_corrections(store: CaseStore) -> list[Example]:
    """Every category correction on record in the store, whichever door made it (the
    CLI, the web app, a staff mail's ``#category``): the case's latest corrected
    category with its customer's first mail. The mail door changes the case inside the
    intake's unit of work and keeps no example file row, so ``train`` reads them here."""
    examples = []
    for case in store.iter_cases():
        if not any(event.kind == "recategorized" for event in case.events):
            continue
        first = next((m for m in store.case_messages(case.case_id) if m.direction == "in"), None)
        if first is not None:
            language = reply_language(first.language, ENGLISH)
            examples.append(
                Example(first.subject, first.text, case.category, case.category, language, "correction")
            )
    return examples


def with_stored_corrections(training: Sequence[Example], stored: Sequence[Example]) -> tuple[Example, ...]:
    """The training examples with the store's corrections; a correction file row for
    the same mail is replaced (the store has the latest category), and rows of cases
    no longer stored (retention) stay."""
    stored_mails = {(example.subject, example.text) for example in stored}
    kept = [e for e in training if not (e.source == "correction" and (e.subject, e.text) in stored_mails)]
    return (*kept, *stored)

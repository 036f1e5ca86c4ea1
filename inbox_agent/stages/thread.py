"""Threading stage (pure): which case, if any, does a message belong to?

A reply joins a case by the case id in its subject or by In-Reply-To/References —
but only when it comes from that case's customer or from staff. Anyone else who
quotes a case id opens a new case: knowing a case number must not let a stranger
read along or steer somebody else's complaint (ticket hijacking).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from inbox_agent.domain.lifecycle import CASE_ID_IN_TEXT
from inbox_agent.domain.model import Case, ParsedMessage

CASE_TAG = CASE_ID_IN_TEXT


@dataclass(frozen=True)
class ThreadMatch:
    case: Case | None  # the case to join; None = open a new one
    via: str  # "subject" | "in-reply-to" | "references" | "" (new)
    refused: tuple[str, ...] = ()  # case ids the sender referred to but may not join


def candidate_case_ids(msg: ParsedMessage, message_cases: Mapping[str, str]) -> list[tuple[str, str]]:
    """(case id, how it was found), most specific first, without repeats."""
    found: list[tuple[str, str]] = []
    for case_id in CASE_TAG.findall(msg.subject):
        found.append((case_id, "subject"))
    for message_id in msg.in_reply_to:
        if message_id in message_cases:
            found.append((message_cases[message_id], "in-reply-to"))
    for message_id in reversed(msg.references):
        if message_id in message_cases:
            found.append((message_cases[message_id], "references"))
    seen: set[str] = set()
    unique = []
    for case_id, via in found:
        if case_id not in seen:
            seen.add(case_id)
            unique.append((case_id, via))
    return unique


def find_thread(
    msg: ParsedMessage,
    *,
    get_case: Callable[[str], Case | None],
    message_cases: Mapping[str, str],
    is_staff: Callable[[str], bool],
    customer_may_join: bool = True,
) -> ThreadMatch:
    """``customer_may_join=False``: the From line is known to be forged (DMARC fail), so
    even the case's own customer address does not join it."""
    refused: list[str] = []
    for case_id, via in candidate_case_ids(msg, message_cases):
        case = get_case(case_id)
        if case is None:
            continue
        is_customer = customer_may_join and msg.sender == case.customer
        if msg.sender and (is_customer or is_staff(msg.sender)):
            return ThreadMatch(case=case, via=via, refused=tuple(refused))
        refused.append(case_id)
    return ThreadMatch(case=None, via="", refused=tuple(refused))

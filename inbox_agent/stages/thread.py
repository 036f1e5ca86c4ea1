"""Threading stage (pure): which case, if any, does a message belong to?

A reply joins a case by the case id in its subject or by In-Reply-To/References —
but only when it comes from that case's customer or from staff. Anyone else who
quotes a case id opens a new case: knowing a case number must not let a stranger
read along or steer somebody else's complaint (ticket hijacking).

Customers retype case ids: "wlt-2026-000001", "[WLT-2026-1]", "WLT 2026 000001",
full-width "ＷＬＴ－２０２６－０００００１" from a Chinese input method, or only in the text
("about my case WLT-2026-000001", subject "still waiting"). All of them are read as the
one id, so a follow-up does not open a second case and a second acknowledgement;
the customer check above still decides whether the mail may join.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from inbox_agent.domain.lifecycle import CASE_ID_IN_TEXT, CASE_PREFIX
from inbox_agent.domain.model import Case, ParsedMessage

CASE_TAG = CASE_ID_IN_TEXT
# After NFKC (full-width letters, digits and dashes become ASCII): the prefix in any
# case, a dash, space or underscore (or none) between the parts, a number of 1-6 digits.
_CASE_ID_AS_TYPED = re.compile(
    rf"(?<![A-Za-z0-9]){CASE_PREFIX}[-_ ]?(\d{{4}})[-_ ]?(\d{{1,6}})(?!\d)", re.IGNORECASE
)
# Hyphen, non-breaking hyphen, figure dash, en and em dash, minus: what word processors
# and input methods turn "-" into.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))


@dataclass(frozen=True)
class ThreadMatch:
    case: Case | None  # the case to join; None = open a new one
    via: str  # "subject" | "in-reply-to" | "references" | "" (new)
    refused: tuple[str, ...] = ()  # case ids the sender referred to but may not join


def candidate_case_ids(msg: ParsedMessage, message_cases: Mapping[str, str]) -> list[tuple[str, str]]:
    """(case id, how it was found), most specific first, without repeats."""
    found: list[tuple[str, str]] = []
    if msg.message_id in message_cases:  # the same mail again, by a second route (an alias, a Cc)
        found.append((message_cases[msg.message_id], "message-id"))
    found += [(case_id, "subject") for case_id in case_ids_as_typed(msg.subject)]
    for message_id in msg.in_reply_to:
        if message_id in message_cases:
            found.append((message_cases[message_id], "in-reply-to"))
    for message_id in reversed(msg.references):
        if message_id in message_cases:
            found.append((message_cases[message_id], "references"))
    found += [(case_id, "text") for case_id in case_ids_as_typed(msg.new_text)]
    seen: set[str] = set()
    unique = []
    for case_id, via in found:
        if case_id not in seen:
            seen.add(case_id)
            unique.append((case_id, via))
    return unique


def case_ids_as_typed(text: str) -> list[str]:
    """The case ids in ``text`` however they were typed, as ``WLT-2026-000001``."""
    plain = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return [f"{CASE_PREFIX}-{year}-{int(number):06d}" for year, number in _CASE_ID_AS_TYPED.findall(plain)]


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
        if via == "text" and not is_customer:
            # Only the customer's own follow-up joins by a mention in its text. Staff act
            # on a case by replying to it or naming it in the subject: an internal mail
            # that mentions a case must never become an answer to that case's customer.
            continue
        if msg.sender and (is_customer or is_staff(msg.sender)):
            return ThreadMatch(case=case, via=via, refused=tuple(refused))
        refused.append(case_id)
    return ThreadMatch(case=None, via="", refused=tuple(refused))

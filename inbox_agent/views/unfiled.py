"""Mail filed under no case, as staff read it: auto-replies, bounces, list mail, mail
from no-reply senders, staff mail naming no case. None of it is answered, and none of
it is on a case, so without this list staff would never see a complaint the guard
took for machine mail (a customer writing through a mailing list, a web form from a
no-reply address: ``[trust] form_relays``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from inbox_agent.domain.model import MessageRecord
from inbox_agent.policies.retention import PURGED_FLAG
from inbox_agent.policies.unfiled import unfiled_id, why_not_fileable
from inbox_agent.views.masked import masked_message

EXCERPT = 160  # characters of the text in a listing; `show` of a case has the rest


@dataclass(frozen=True)
class UnfiledListing:
    shown: tuple[MessageRecord, ...]  # masked, newest first
    matching: int  # how many match the reason asked for (before the limit)
    by_reason: dict[str, int]  # every mail filed under no case, by its reason code


def unfiled_listing(messages: Iterable[MessageRecord], reason: str = "", limit: int = 0) -> UnfiledListing:
    """The mail of ``messages`` filed under no case, newest first, masked; only those
    skipped for ``reason`` when given; at most ``limit`` (0 = all)."""
    unfiled = [message for message in messages if not message.case_id and message.direction == "in"]
    by_reason = unfiled_by_reason(unfiled)
    matching = [message for message in unfiled if not reason or message.skip == reason]
    matching.sort(key=lambda message: message.received_at, reverse=True)
    shown = matching[:limit] if limit else matching
    return UnfiledListing(tuple(masked_message(message) for message in shown), len(matching), by_reason)


def unfiled_by_reason(messages: Iterable[MessageRecord]) -> dict[str, int]:
    """How many mails were kept on no case for each reason, by reason code."""
    counts = Counter(m.skip or "none" for m in messages if not m.case_id and m.direction == "in")
    return dict(sorted(counts.items()))


def unfiled_json(message: MessageRecord) -> dict[str, Any]:
    """One masked message of the listing as ``unfiled --json`` prints it."""
    return {
        "id": unfiled_id(message),
        "key": message.key,
        "received_at": message.received_at,
        "date": message.date,
        "sender": message.sender,
        "subject": message.subject,
        "reason": message.skip,
        "detail": message.skip_detail,  # e.g. why a staff forward was not filed ("" = none)
        "language": message.language,
        "text": message.text[:EXCERPT],
        "attachments": [name for name, _stored, _kind, _size in message.attachments],
        "source": message.source,
        "raw_sha256": message.raw_sha256,
        "raw_kept": PURGED_FLAG not in message.flags,  # retention erases it after retention_days
        # why `unfiled file ID` would refuse it ("" = it may be filed as a complaint)
        "never_filed": why_not_fileable(message),
    }

"""Which staff notifications went to which address: the record on the case, and the
unguessable Message-IDs that let a reply to one of them prove its sender.

A staff address in a From line proves nothing; a reply whose In-Reply-To/References
carries the Message-ID of a notification we sent to that very address does — nobody
but its recipients has seen that id. So the id must not be derivable from what an
outsider can know (case ids are sequential, times guessable): it ends in a token
made from a random salt. The outbox id stays derived from the cause, so a re-run
still never queues a second mail; the salt only changes ids of mails never queued.
"""

from __future__ import annotations

import hashlib
import re

from inbox_agent.domain.model import Case

# Events whose detail names notified recipients and the notification's Message-ID.
NOTIFYING_EVENTS = frozenset({"escalated", "sender_alert"})
_NOTIFIED = re.compile(r"notified (?P<who>[^;]*?) as (?P<id><[^<>\s]+>)")


def unguessable(unique: str, salt: str) -> str:
    """``unique`` plus a token only a holder of ``salt`` can compute ("" = none: tests)."""
    if not salt:
        return unique
    return f"{unique}.{hashlib.sha256(f'{salt}|{unique}'.encode()).hexdigest()[:16]}"


def notified_detail(recipients: tuple[str, ...], message_id: str) -> str:
    return f"notified {', '.join(recipients)} as {message_id}"


def notifications_to(case: Case, address: str) -> frozenset[str]:
    """Message-IDs of the notifications about ``case`` sent to ``address``."""
    address = address.lower()
    found: set[str] = set()
    for event in case.events:
        if event.kind not in NOTIFYING_EVENTS:
            continue
        for match in _NOTIFIED.finditer(event.detail):
            if address in {who.strip().lower() for who in match.group("who").split(",")}:
                found.add(match.group("id"))
    return frozenset(found)

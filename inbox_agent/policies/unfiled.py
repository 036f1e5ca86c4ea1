"""Which mail kept on no case staff may file as a complaint (services/unfiled.py), and
the short id they name it by. Pure."""

from __future__ import annotations

from inbox_agent.domain.model import MessageRecord
from inbox_agent.policies.retention import PURGED_FLAG

# Why mail kept for these reasons is never filed as a complaint, whoever asks.
NEVER_FILED = {
    "bounce": "a mail server's delivery report: there is nobody to answer",
    "loop": "our own mail come back: answering it would start a loop",
    "own_mail": "mail from the complaint address itself",
    "no_sender": "it has no sender address to answer",
    "staff_without_case": "staff mail: staff write on a case by replying to it or naming it in the subject",
    "sent_without_case": "mail sent from the complaint account, not to it",
}


def unfiled_id(message: MessageRecord) -> str:
    """The short id staff name an unfiled mail by: its SHA-256's first 12 hex digits,
    as a quarantine entry's."""
    return message.raw_sha256[:12]


def why_not_fileable(message: MessageRecord) -> str:
    """Why this unfiled mail can never be filed as a complaint; "" when it may be tried
    (the intake may still find it is nobody's: mail from a no-reply address)."""
    if message.skip in NEVER_FILED:
        return f"kept as {message.skip}: {NEVER_FILED[message.skip]}"
    if PURGED_FLAG in message.flags:
        return "its raw mail was erased by retention (storage.retention_days)"
    return ""

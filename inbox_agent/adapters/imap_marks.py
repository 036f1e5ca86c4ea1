"""Marking processed mail on an IMAP server: STORE a flag, or MOVE to a folder.

Every command goes through the mailbox's ``call`` (bounded, failures become
``MailboxError``). Each function is safe to run again for the same UIDs — the
service retries marks that failed (``services.pending_marks``): a flag already
set is set again, a UID already moved away matches nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from imapclient import IMAPClient

from inbox_agent.adapters.imap_server import Call, Marking, ServerProfile
from inbox_agent.domain.uid_set import compact_uid_set

T = TypeVar("T")

# One STORE/COPY/MOVE line per chunk of UIDs keeps commands far below the line
# limits of real servers (Dovecot: 64 kB) even for a first run over a huge mailbox.
LIST_CHUNK = 2000

_DELETED = b"\\Deleted"


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    step = max(1, size)
    for start in range(0, len(items), step):
        yield items[start : start + step]


def store_flag(client: IMAPClient, call: Call, uids: Sequence[int], marking: Marking) -> None:
    """The keyword (or the ``\\Seen`` fallback); nothing at all for checkpoint-only."""
    flag = marking.flag
    if flag is None:
        return
    for chunk in chunks(uids, LIST_CHUNK):
        uid_set = compact_uid_set(chunk)
        call("STORE", lambda s=uid_set: client.add_flags(s, [flag], silent=True))


def move_uids(
    client: IMAPClient, call: Call, uids: Sequence[int], folder: str, profile: ServerProfile, marking: Marking
) -> None:
    """MOVE when offered; else COPY and ``\\Deleted`` (+ the keyword when the folder keeps
    it, so the next listing skips the copy's original), and UID EXPUNGE only with
    UIDPLUS — a plain EXPUNGE would also remove mail others marked ``\\Deleted``."""
    copied_flags = [_DELETED] + ([marking.flag] if marking.mode == "keyword" and marking.flag else [])
    for chunk in chunks(uids, LIST_CHUNK):
        uid_set = compact_uid_set(chunk)
        if profile.has("MOVE"):
            call(f"MOVE to {folder}", lambda s=uid_set: client.move(s, folder))
            continue
        call(f"COPY to {folder}", lambda s=uid_set: client.copy(s, folder))
        call("STORE", lambda s=uid_set: client.add_flags(s, copied_flags, silent=True))
        if profile.has("UIDPLUS"):
            call("UID EXPUNGE", lambda s=uid_set: client.uid_expunge(s))

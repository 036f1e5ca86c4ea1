"""IMAP UID sets as text: ``[1, 2, 3, 7, 9, 10]`` <-> ``"1:3,7,9:10"``.

The IMAP adapter sends them to the server (short commands for long UID lists); the
service keeps the UIDs whose mark is still owed in the same form, so a backlog of
thousands of consecutive UIDs costs a few bytes in ``state.json``.
"""

from __future__ import annotations

from collections.abc import Iterable


def compact_uid_set(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1:3,7,9:10"``; an empty set is refused (IMAP has none)."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an IMAP UID set cannot be empty")
    runs: list[str] = []
    start = previous = ordered[0]
    for uid in ordered[1:]:
        if uid != previous + 1:
            runs.append(_uid_range(start, previous))
            start = uid
        previous = uid
    runs.append(_uid_range(start, previous))
    return ",".join(runs)


def expand_uid_set(text: str) -> list[int]:
    """``"1:3,7"`` -> ``[1, 2, 3, 7]``; ``""`` -> ``[]``. A malformed set raises ValueError."""
    uids: list[int] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition(":")
        low, high = int(first), int(last or first)
        if low <= 0 or high < low:
            raise ValueError(f"not a UID range: {part!r}")
        uids.extend(range(low, high + 1))
    return uids


def _uid_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}:{last}"

"""The web app's quarantine page (pure): entries and dropped records -> rows staff read.

A quarantined mail is one the daemon could not process: a parse that failed, a stage
that raised, a mail too large to download. Staff decide from the row whether to retry
it (the fault is fixed) or drop it (junk, a test, a mail sent to the wrong address),
so a row shows who sent it and about what, read from the mail's header block only:
the body is what made a stage fail, and it is never shown. Every customer string is
masked, as everywhere else on the page.
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from email.parser import BytesHeaderParser
from typing import Any

from inbox_agent.domain.mask import mask_text
from inbox_agent.views.words import local_time, size_words

# The header block is read up to here: a mail whose headers run longer is read as far
# as this, which is enough for From and Subject and bounds what a hostile mail costs.
HEADER_BYTES = 64 * 1024
SHOWN_CHARS = 200
UNREADABLE = "(unreadable)"


@dataclass(frozen=True)
class QuarantineRow:
    entry_id: str
    at: str  # local time
    stage: str
    reason: str
    source: str
    size: str
    sender: str
    subject: str
    downloaded: bool  # False: too large, never fetched; nothing to retry


@dataclass(frozen=True)
class DroppedRow:
    entry_id: str
    dropped_at: str
    dropped_by: str
    why: str
    stage: str
    reason: str
    size: str


def header_summary(raw: bytes) -> tuple[str, str]:
    """(sender, subject) from a mail's header block, masked and shortened; UNREADABLE
    for a header the email package cannot decode (the mail was quarantined for a reason)."""
    head = raw[:HEADER_BYTES]
    for blank in (b"\r\n\r\n", b"\n\n"):
        end = head.find(blank)
        if end >= 0:
            head = head[: end + len(blank)]
            break
    try:
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(head)
        sender, subject = str(headers.get("from", "")), str(headers.get("subject", ""))
    except Exception:  # noqa: BLE001 — any failure of a hostile header is "unreadable", never a 500
        return UNREADABLE, UNREADABLE
    return _shown(sender), _shown(subject)


def quarantine_rows(
    entries: Sequence[dict[str, Any]], kept: Mapping[str, bytes | str], tz: tzinfo
) -> list[QuarantineRow]:
    """One row per entry, in the order given. ``kept``: each kept mail's bytes by hash,
    or why they could not be read (shown in the row: ``verify`` says more)."""
    rows = []
    for entry in entries:
        sha = entry.get("raw_sha256") or ""
        raw = kept.get(sha, b"") if sha else b""
        sender, subject = header_summary(raw) if isinstance(raw, bytes) else (_shown(raw), "")
        rows.append(
            QuarantineRow(
                entry_id=entry["id"],
                at=local_time(entry.get("at", ""), tz),
                stage=entry.get("stage", ""),
                reason=_shown(entry.get("reason", "")),
                source=_shown(entry.get("source", "")),
                size=size_words(int(entry.get("size") or 0)),
                sender=sender,
                subject=subject,
                downloaded=bool(sha),
            )
        )
    return rows


def dropped_rows(records: Sequence[dict[str, Any]], tz: tzinfo) -> list[DroppedRow]:
    """The dropped log's records, newest first."""
    return [
        DroppedRow(
            entry_id=record["id"],
            dropped_at=local_time(record.get("dropped_at", ""), tz),
            dropped_by=record.get("dropped_by", ""),
            why=_shown(record.get("drop_reason", "")),
            stage=record.get("stage", ""),
            reason=_shown(record.get("reason", "")),
            size=size_words(int(record.get("size") or 0)),
        )
        for record in reversed(records)
    ]


def _shown(text: str) -> str:
    flat = " ".join(str(text).split())
    masked = mask_text(flat)
    return masked if len(masked) <= SHOWN_CHARS else masked[: SHOWN_CHARS - 1] + "…"

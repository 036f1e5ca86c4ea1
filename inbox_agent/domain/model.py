"""Typed, frozen records that flow between the stages.

Stages never mutate these: they return new ones (``dataclasses.replace``), so a
decision can be printed (``--dry-run``) before an adapter carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

CATEGORIES: tuple[str, ...] = (
    "account_locked",
    "transaction_failed",
    "wrong_charge",
    "funds_not_received",
    "security",
    "privacy",
    "customer_service",
    "other",
)

# How a resolved complaint was decided: what the final response tells the customer and
# what a complaints return counts (policies/determination.py).
DETERMINATIONS: tuple[str, ...] = ("upheld", "partly_upheld", "not_upheld", "withdrawn")

# Every mail we send carries this header with the deployment's loop token: a mail
# that comes back with it is our own and is never answered (RFC 3834 loop guard).
LOOP_HEADER = "X-Inbox-Agent-Loop"

EVIDENCE_IDS: tuple[str, ...] = (
    "transaction_date",
    "transaction_time",
    "amount",
    "transaction_id",
    "error_message",
    "screenshot",
    "account_id",
    "recipient",
    "expected_amount",
    "contact_history",
    "desired_resolution",
)


@dataclass(frozen=True)
class Attachment:
    """One attachment of a message.

    ``filename`` is the customer's original name, kept as data only; the file on
    disk is always ``safe_name`` inside the attachment folder.
    """

    filename: str
    safe_name: str
    content_type: str  # sniffed from the bytes, falling back to the declared type
    declared_type: str
    size: int
    sha256: str
    inline: bool = False
    damaged: bool = False  # decoded from broken base64: not the bytes the customer sent
    payload: bytes = field(default=b"", repr=False, compare=False)

    @property
    def is_screenshot(self) -> bool:
        """An image or PDF counts as screenshot evidence when its bytes are one (the
        declared type alone is not: an empty "image/png", HTML or a program named .jpg
        would stop us asking for the transaction id) and it arrived whole. A small image
        in the text is a signature logo or an icon, not a screenshot; a pasted
        screenshot, or an iPhone's photo (Apple Mail sends attachments inline), is
        larger."""
        sniffed = self.safe_name.rsplit(".", 1)[-1] in SCREENSHOT_EXTENSIONS
        big_enough = not self.inline or self.size >= MIN_INLINE_SCREENSHOT_BYTES
        return sniffed and big_enough and not self.damaged


# Extensions ``stages/attachments.sniff_type`` gives only when the bytes are that type.
SCREENSHOT_EXTENSIONS = frozenset({"png", "jpg", "gif", "webp", "bmp", "tif", "heic", "pdf"})
# Signature logos and social icons are 1-10 KB; a pasted phone or desktop screenshot
# is tens to hundreds of KB.
MIN_INLINE_SCREENSHOT_BYTES = 12 * 1024


@dataclass(frozen=True)
class ParsedMessage:
    """Everything the core needs from one raw mail, decoded to text."""

    raw_sha256: str
    size: int
    message_id: str  # normalised "<local@domain>", "" when the mail has none
    sender: str  # lower-cased addr-spec of From, "" when missing or unparseable
    sender_name: str
    recipients: tuple[str, ...]  # To + Cc addr-specs, lower-cased
    reply_to: str  # addr-spec or ""
    subject: str
    date: datetime | None  # the Date header in UTC; None when missing or invalid
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    # Loop/auto-reply relevant headers, lower-cased names, decoded values, in order.
    headers: tuple[tuple[str, str], ...]
    return_path: str | None  # None: header absent; "": the null path "<>"
    content_type: str  # top-level MIME type, e.g. "multipart/report"
    text: str  # the whole readable body (HTML converted when there is no plain part)
    new_text: str  # text with quoted earlier replies and signatures removed
    html: str  # the original HTML part, "" if none; never rendered unescaped
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()
    language: str = "en"  # "zh", "zh-Hant" or "en" (domain.languages), from the text
    reply_to_name: str = ""  # the display name of ``reply_to``
    # The web form that relayed the mail (its From address) when ``sender`` is the
    # customer's address taken from Reply-To (stages/form_relay.py); "" otherwise.
    relayed_by: str = ""
    relay_field: str = ""  # where the form put the customer's address: "Reply-To" or a text field
    # "S/MIME" or "OpenPGP" when (part of) the mail arrived encrypted and could not be
    # read (stages/sealed_mail.py); "" otherwise.
    encrypted: str = ""
    # The staff member who forwarded the customer's mail to us when ``sender`` is the
    # original's sender (pipeline/staff_forward.py); "" otherwise.
    forwarded_by: str = ""

    def header(self, name: str) -> str | None:
        """First value of a header kept in ``headers`` (case-insensitive)."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None


class CaseStatus(StrEnum):
    OPEN = "open"
    WAITING_CUSTOMER = "waiting_customer"
    WAITING_STAFF = "waiting_staff"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Categorization:
    category: str  # primary
    categories: tuple[str, ...]  # primary first, then secondary ones
    confidence: float  # 0..1
    matched: tuple[tuple[str, str], ...]  # (category, term) pairs that matched: the "why"
    severity: str  # "urgent" | "high" | "normal"
    # The model's side of the "why" (issue 13): the n-grams that pushed the decision
    # hardest, with their contribution ("w:" word, "b:" word pair, "c:" characters).
    explanation: tuple[tuple[str, float], ...] = ()
    needs_triage: bool = False  # confidence below [categorizer] min_confidence: filed as "other"
    guess: str = ""  # the model's category when needs_triage moved the mail to "other"
    model_version: str = ""
    # The network's share of the decision (a model with a second opinion): its own
    # probability of its top category and, when it differs, of the one decided.
    second_opinion: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Skip:
    """Why no acknowledgement is sent for a message (it is still stored)."""

    reason: str  # stable code, e.g. "auto_reply", "bounce", "list", "rate_limit"
    detail: str = ""


@dataclass(frozen=True)
class OutgoingMail:
    """A mail queued in the durable outbox.

    ``raw`` is serialised once, when the mail is queued, so every retry sends the
    very same bytes (same Message-ID): a duplicate can always be recognised.
    """

    outbox_id: str
    case_id: str
    kind: str  # "ack_first" | "ack_followup" | "ack_complete" | "staff_notify" | "staff_reply" | ...
    message_id: str
    sender: str  # envelope sender
    recipients: tuple[str, ...]
    raw: bytes = field(repr=False)
    # The decoded Subject of ``raw`` when the composer knows it: delivery records it on
    # the case without parsing the sent mail's headers again ("" = parse them).
    subject: str = ""


class SendOutcome(StrEnum):
    SENT = "sent"  # the server accepted it (250)
    RETRY = "retry"  # connection error or 4xx: try again later
    FAILED = "failed"  # 5xx or a permanent local error: give up, make it visible


@dataclass(frozen=True)
class SendResult:
    outbox_id: str
    outcome: SendOutcome
    detail: str = ""


@dataclass(frozen=True)
class Event:
    """Something that happened to a case: who, when, what."""

    at: str  # ISO-8601 UTC
    kind: str  # "opened", "message", "ack_queued", "mail_sent", "mail_failed", "note", ...
    actor: str  # "system", a staff address, or the customer's address
    detail: str = ""


@dataclass(frozen=True)
class Case:
    case_id: str  # "WLT-2026-000123"
    seq: int
    customer: str  # the address that opened the case; only it (and staff) may join
    customer_name: str
    subject: str
    language: str
    category: str
    categories: tuple[str, ...]
    confidence: float
    matched: tuple[tuple[str, str], ...]
    severity: str
    status: CaseStatus
    created_at: str
    updated_at: str
    evidence: tuple[tuple[str, str], ...] = ()  # evidence id -> value, over all customer messages
    missing: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()  # Message-IDs of every mail of the case, theirs and ours
    awaiting_since: str = ""  # first customer message not yet answered by staff ("" = none)
    last_ack_at: str = ""
    acks_sent: int = 0
    assignee: str = ""
    escalation_level: int = 0
    flags: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    # The regulatory regime whose clocks the case runs on ("PSD2", "CN-PBoC", ...; "" =
    # none), fixed when the case is opened (policies/regulatory.py).
    jurisdiction: str = ""
    # When the opening mail reached the mailbox: the complaint's receipt, where the
    # regulatory clocks count from. Earlier than ``created_at`` after downtime or a
    # backlog ("" in cases stored before it was recorded: ``created_at`` stands in).
    received_at: str = ""
    # How staff decided the complaint when they resolved it (DETERMINATIONS; "" = open,
    # or resolved without one) and what was paid or credited ("25.00 CNY"; "" = none):
    # the final response says so, and the regulator's report counts them.
    determination: str = ""
    redress: str = ""

    @property
    def evidence_map(self) -> dict[str, str]:
        return dict(self.evidence)


@dataclass(frozen=True)
class MessageRecord:
    """A stored message: metadata and the readable text; the raw mail is on disk by hash."""

    key: str  # unique: "<message-id>|sha256" or "sha256" when there is no Message-ID
    case_id: str  # "" when the mail belongs to no case (bounce, list mail...)
    direction: str  # "in" | "out"
    message_id: str
    raw_sha256: str
    sender: str
    subject: str
    date: str  # Date header, ISO, "" if none
    received_at: str  # when we fetched it, ISO
    source: str  # "imap:INBOX:1234:17" / "maildir:<file>" / "cli"
    text: str  # new text (quoted replies removed), capped
    language: str = "en"
    skip: str = ""  # why no acknowledgement was sent ("" = none skipped)
    evidence: tuple[tuple[str, str], ...] = ()
    attachments: tuple[tuple[str, str, str, int], ...] = ()  # (original name, stored name, type, size)
    defects: tuple[str, ...] = ()
    # "raw_purged" on mail filed under no case once retention erased its raw mail and
    # attachments (a case carries that flag itself): `verify` no longer expects them.
    flags: tuple[str, ...] = ()
    # The skip's detail: which header made it an auto-reply, why a staff forward was not
    # filed. Stored only when there is one (older records have none).
    skip_detail: str = ""

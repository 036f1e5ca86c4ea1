"""A complaint staff log by hand: one that reached the firm by phone, by letter, in a
branch, through a chat or a regulator. Pure.

A complaints regulator counts a complaint from when the firm received it, by whatever
channel. Staff log it (``inbox-agent open``, the web app's "New complaint") and it
becomes a case as a mail does: categorized, its evidence found, its clocks started when
the customer complained, and, unless staff say not to, the customer acknowledged by
mail with the evidence still missing.

The complaint is kept as a mail (``logged_mail``): one record, one pipeline, one
commit, as for everything else. Its Message-ID comes from a one-time token of the form
(or of the command), so a form sent twice is one complaint: the intake's dedupe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from inbox_agent.config.loader import Config
from inbox_agent.mail.mime import make_message_id, validated_addr_spec
from inbox_agent.mail.text import single_line

CHANNELS = ("phone", "letter", "branch", "chat", "social_media", "regulator", "email_elsewhere", "other")
CHANNEL_HEADER = "X-Inbox-Agent-Channel"
MAX_TEXT_CHARS = 20_000
MAX_SUBJECT_CHARS = 200
# A clock a few minutes fast on the staff member's computer is not a complaint from the future.
_CLOCK_SKEW = timedelta(minutes=5)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class LoggedComplaint:
    customer: str  # the customer's e-mail address: the case is filed under it
    customer_name: str
    channel: str  # one of CHANNELS
    received_at: datetime  # when the customer complained (aware)
    subject: str
    text: str  # what the customer said, as staff took it down
    token: str  # one per form or command: the same token is the same complaint
    acknowledge: bool = True  # mail the customer the acknowledgement


def why_not_loggable(complaint: LoggedComplaint, config: Config, now: datetime) -> str:
    """What is wrong with the complaint as entered, in words; "" when nothing is."""
    try:
        address = validated_addr_spec(complaint.customer).lower()
    except ValueError:
        return f"{complaint.customer[:80]!r} is not one e-mail address (the case is filed under it)"
    problems = [
        (config.staff.is_staff(address), f"{address} is a staff address, not a customer's"),
        (address in config.own_addresses, f"{address} is the complaint address itself"),
        (
            complaint.channel not in CHANNELS,
            f"unknown channel {complaint.channel[:40]!r}: one of {', '.join(CHANNELS)}",
        ),
        (complaint.received_at.tzinfo is None, "the time the customer complained needs its time zone"),
        (not complaint.text.strip(), "what the customer said is empty"),
        (len(complaint.text) > MAX_TEXT_CHARS, f"what the customer said is over {MAX_TEXT_CHARS} characters"),
        (
            not _TOKEN.match(complaint.token),
            "the one-time token must be 16 to 64 letters, digits, '-' or '_' (a form: load it again)",
        ),
    ]
    found = next((why for wrong, why in problems if wrong), "")
    if not found and complaint.received_at > now + _CLOCK_SKEW:
        found = f"the customer cannot have complained in the future ({complaint.received_at.isoformat()})"
    return found


def logged_mail(complaint: LoggedComplaint, *, mailbox: str, message_id_domain: str) -> bytes:
    """The complaint as the mail the intake reads: from the customer, to the complaint
    address, dated when they complained. Only what was entered goes in, so the same
    form sent again gives the same bytes."""
    msg = EmailMessage()
    msg["From"] = formataddr((single_line(complaint.customer_name)[:80], complaint.customer.strip()))
    msg["To"] = mailbox
    msg["Subject"] = single_line(complaint.subject)[:MAX_SUBJECT_CHARS] or f"Complaint by {complaint.channel}"
    msg["Date"] = format_datetime(complaint.received_at)
    msg["Message-ID"] = make_message_id(message_id_domain, f"logged.{complaint.token}")
    msg[CHANNEL_HEADER] = complaint.channel
    msg.set_content(complaint.text.replace("\r\n", "\n").strip() + "\n")
    return msg.as_bytes()


def parse_local_time(value: str, timezone: str, *, what: str = "the time") -> datetime:
    """An ISO 8601 time as staff type it; one without an offset is in ``timezone`` (the
    service's): the time on the phone log or the letter's stamp. ValueError names ``what``."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{what} {value[:40]!r} is not a time such as 2026-12-03T14:20") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=ZoneInfo(timezone))

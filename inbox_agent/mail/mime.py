"""A rendered reply built into an RFC 5322 message: headers, parts, bytes.

Pure: no I/O and no clock reads. The date and the Message-ID are passed in, so the
same request always yields the same bytes (the outbox stores them once and retries
send exactly those bytes).

Every header value is checked or encoded here, and everything that ends up in a
header went through ``single_line`` (no CR/LF, no other control characters).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache

from inbox_agent.domain.clock import to_utc
from inbox_agent.mail.text import CONTROL_CHARS, normalise_newlines, single_line

MAX_REFERENCES = 10  # the newest ones; enough to thread, short enough to stay one header

_LEADING_TAG = re.compile(r"^(\[[!-Z\\^-~]{1,40}\]) (\S.*)$")  # "[WLT-2026-000123] rest"
# Deliberately narrower than RFC 5322: a dot-atom local part and a host name. Quoted
# local parts and address literals are legal but never seen from real customers, and
# accepting them would make header injection checks much harder to reason about.
_ADDR_SPEC = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_CONTROL_IN_BODY = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but tab and newline
_MSG_ID = re.compile(r"^<[!-;=?-~]+@[!-;=?-~]+>$")  # printable ASCII without space, "<", ">"
_ID_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_SUBJECT_PREFIX = "Subject: "
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ":"
# Headers build_email_bytes sets itself; extra_headers may not replace them.
_OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-auto-response-suppress",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)

Headers = list[tuple[str, str]]


def make_message_id(domain: str, unique: str) -> str:
    if not _ID_PART.match(unique) or not _ID_PART.match(domain):
        raise ValueError(f"Message-ID parts must be printable ASCII atoms: {unique!r}@{domain!r}")
    return f"<{unique}@{domain}>"


@lru_cache(maxsize=4096)  # our own address is checked in every mail we send
def validated_addr_spec(address: str) -> str:
    """A single plain ``local@domain``; anything else (lists, names, CR/LF) is a ValueError."""
    candidate = address.strip()
    if CONTROL_CHARS.search(address) or any(ch in candidate for ch in ',;<>"()[]\\ \t'):
        raise ValueError(f"not a single e-mail address: {address!r}")
    if candidate.count("@") != 1:
        raise ValueError(f"not a single e-mail address: {address!r}")
    local, domain = candidate.split("@")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"invalid domain in e-mail address: {address!r}") from exc
    spec = f"{local}@{domain}"
    # parseaddr is the second opinion: it must see exactly one address and no name.
    if not _ADDR_SPEC.match(spec) or parseaddr(spec) != ("", spec):
        raise ValueError(f"not a single e-mail address: {address!r}")
    return spec


def build_email_bytes(
    *,
    from_addr: str,
    from_name: str,
    to_addr: str | Sequence[str],
    subject: str,
    text: str,
    html: str,
    message_id: str,
    in_reply_to: str,
    references: Sequence[str],
    date: datetime,
    loop_header: str,
    loop_token: str,
    extra_headers: Mapping[str, str] | None = None,
) -> bytes:
    """A multipart/alternative reply as 7-bit clean bytes with CRLF line ends.

    Written out directly rather than through ``EmailMessage``: every header value is
    checked or encoded here anyway, and the email package's header registry and
    generator were a third of the cost of processing a complaint (bench/README.md).
    """
    loop_name, token, recipients = _checked_envelope(message_id, loop_header, loop_token, to_addr)
    headers = _origin_headers(from_addr, from_name, recipients, subject, date, message_id)
    headers += _thread_headers(in_reply_to, references)
    # RFC 3834: mark the mail as automatic so well-behaved auto-responders stay quiet;
    # X-Auto-Response-Suppress does the same for Exchange/Outlook out-of-office.
    headers += [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"), (loop_name, token)]
    headers += _extra_headers(extra_headers or {}, loop_name)
    parts = [_text_part("plain", normalise_newlines(text)), _text_part("html", normalise_newlines(html))]
    return _assembled(headers, parts, message_id)


def _checked_envelope(
    message_id: str, loop_header: str, loop_token: str, to_addr: str | Sequence[str]
) -> tuple[str, str, list[str]]:
    """The loop header's name and token and the recipients, or a ValueError."""
    if not _MSG_ID.match(message_id):
        raise ValueError(f"invalid Message-ID {message_id!r}; use make_message_id()")
    loop_name = _header_name(loop_header)
    token = single_line(loop_token).strip()
    if not token or not token.isascii():
        raise ValueError("the loop token must be non-empty printable ASCII")
    recipients = [to_addr] if isinstance(to_addr, str) else list(to_addr)
    if not recipients:
        raise ValueError("a mail needs at least one recipient")
    return loop_name, token, recipients


def _origin_headers(
    from_addr: str, from_name: str, recipients: Sequence[str], subject: str, date: datetime, message_id: str
) -> Headers:
    return [
        ("From", _from_value(from_name, from_addr)),
        ("To", ", ".join(validated_addr_spec(address) for address in recipients)),
        ("Subject", _encoded_subject(" ".join(single_line(subject).split()))),
        ("Date", _date_value(date)),
        ("Message-ID", message_id),
    ]


# Every reply has our own From, and a batch's replies share one date: encoding each
# once, not once per mail, is the same text for less work.
@lru_cache(maxsize=64)
def _from_value(from_name: str, from_addr: str) -> str:
    return formataddr((single_line(from_name).strip(), validated_addr_spec(from_addr)), "utf-8")


@lru_cache(maxsize=64)
def _date_value(date: datetime) -> str:
    return format_datetime(to_utc(date))


def _thread_headers(in_reply_to: str, references: Sequence[str]) -> Headers:
    headers: Headers = []
    parent = in_reply_to.strip()
    if _MSG_ID.match(parent):
        headers.append(("In-Reply-To", parent))
    thread = _thread_references(references, parent)
    if thread:
        headers.append(("References", "\n ".join(thread)))
    return headers


def _extra_headers(extra_headers: Mapping[str, str], loop_name: str) -> Headers:
    headers: Headers = []
    for name, value in extra_headers.items():
        checked = _header_name(name)
        if checked.lower() in _OWN_HEADERS or checked.lower() == loop_name.lower():
            raise ValueError(f"extra header {name!r} would replace a header build_email_bytes sets itself")
        headers.append((checked, _encoded_value(single_line(value).strip(), checked)))
    return headers


def _assembled(headers: Headers, parts: Sequence[str], message_id: str) -> bytes:
    boundary = _boundary(message_id, parts)
    headers = [
        *headers,
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    # Folded header values come with "\n " continuation lines; the wire wants CRLF.
    lines = [f"{name}: {value}".replace("\r\n", "\n").replace("\n", "\r\n") for name, value in headers]
    lines.append("")
    for part in parts:
        lines += [f"--{boundary}", part]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode("ascii")


def _encoded_value(value: str, name: str) -> str:
    if value.isascii():
        return value
    return Header(value, "utf-8", header_name=name, maxlinelen=78).encode(linesep="\n")


def _text_part(subtype: str, text: str) -> str:
    """One body part: plain 7bit when the text is short-lined ASCII, else base64 UTF-8."""
    lines = text.split("\n")
    if text.isascii() and max(map(len, lines)) <= 78 and not _CONTROL_IN_BODY.search(text):
        encoding, body = "7bit", "\r\n".join(lines)
    else:
        data = base64.b64encode("\r\n".join(lines).encode("utf-8")).decode("ascii")
        encoding, body = "base64", "\r\n".join(data[i : i + 76] for i in range(0, len(data), 76))
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{body}"
    )


def _boundary(message_id: str, parts: Sequence[str]) -> str:
    """Derived from the Message-ID (unique per mail: the same request gives the same
    bytes) and absent from the content. Hashing the whole content as well cost more
    than the rest of writing the mail out, and made the boundary no less unique."""
    seed = hashlib.sha256(message_id.encode("utf-8")).hexdigest()
    boundary = f"=_{seed[:32]}"
    while any(boundary in part for part in parts):
        boundary += "_"
    return boundary


def _encoded_subject(subject: str) -> str:
    """The Subject value, folded and RFC 2047-encoded where needed.

    Written by hand because the policy's folder, for a plain ASCII subject longer than
    one line, breaks right after "Subject:" and parsers then keep a leading space. A
    leading "[WLT-…]" tag stays readable ASCII, so people and mail filters see the
    case id even in the raw mail.
    """
    if subject.isascii() and "=?" not in subject:
        if len(_SUBJECT_PREFIX) + len(subject) <= 78:
            # One line as it stands: what the email package returns for it, checked
            # against it by tests, at a tenth of the cost.
            return subject
        plain = Header(subject, "us-ascii", header_name="Subject", maxlinelen=78).encode(linesep="\n")
        if all(len(line) <= 78 for line in plain.splitlines()):
            return plain
    header = Header(header_name="Subject", maxlinelen=78)
    tag = _LEADING_TAG.match(subject)
    if tag:
        header.append(tag.group(1), "us-ascii")
        header.append(tag.group(2), "utf-8")
    else:
        header.append(subject, "utf-8")
    return header.encode(linesep="\n")


def _thread_references(references: Sequence[str], parent: str) -> list[str]:
    """Valid ids only, de-duplicated, the parent last (RFC 5322 3.6.4), newest kept."""
    ids = [ref.strip() for ref in references if _MSG_ID.match(ref.strip())]
    if _MSG_ID.match(parent):
        ids.append(parent)
    unique = list(dict.fromkeys(reversed(ids)))[:MAX_REFERENCES]
    return list(reversed(unique))


def _header_name(name: str) -> str:
    if not _HEADER_NAME.match(name):
        raise ValueError(f"invalid header name {name!r}")
    return name

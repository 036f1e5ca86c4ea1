"""The parser stage: raw mail bytes in, a decoded :class:`ParsedMessage` out.

This module only orchestrates; each step lives in its own module:

* :mod:`~inbox_agent.stages.mime_tree`: the MIME structure, by mail-parser, the
  stdlib ``email`` package or a lenient splitter, whichever copes;
  :mod:`~inbox_agent.stages.mime_boundaries` splits multiparts whose declared
  boundary never appears and recovers parts after a closing boundary;
* :mod:`~inbox_agent.stages.message_headers`: header lookup, message ids, Date,
  Subject and the headers kept for the guard and threading;
  :mod:`~inbox_agent.stages.address_headers` reads From/To/Cc/Reply-To and
  :mod:`~inbox_agent.stages.header_decoding` raw 8-bit and RFC 2047 values;
* :mod:`~inbox_agent.stages.mime_parts`: safe accessors for one part (type,
  charset, disposition, file name, payload);
* :mod:`~inbox_agent.stages.message_body`: parts sorted into body text and
  attachments, charsets repaired, HTML turned into text;
  :mod:`~inbox_agent.stages.body_fallback` finds text when no body part holds any;
* :mod:`~inbox_agent.stages.attachments`: attachments stored under names
  derived from their bytes;
* :mod:`~inbox_agent.stages.quoted_reply` and :mod:`~inbox_agent.stages.language`:
  the new part of a reply and its language.

Decoding is done by us with :mod:`inbox_agent.stages.charsets` and
:mod:`inbox_agent.stages.charset_guess`, never by mail-parser: it trusts the
declared charset, so GBK labelled ``gb2312`` would come out garbled.
``bench/parse_diff.py`` checks, field by field, that no mail comes out worse
than mail-parser and ``email`` read it.

The stage raises only :class:`ParseFailure`, for bytes that are not a mail at
all; every other problem becomes a human-readable entry in ``defects``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.message import Message
from typing import NamedTuple

from inbox_agent.domain.model import ParsedMessage
from inbox_agent.stages.attachments import make_attachment, sniff_type
from inbox_agent.stages.body_fallback import fallback_text
from inbox_agent.stages.language import detect_language
from inbox_agent.stages.message_body import (
    MAX_ATTACHMENTS,
    MAX_TEXT_CHARS,
    charset_hint,
    clean_body,
    html_to_text,
    read_parts,
    readable_text,
)
from inbox_agent.stages.message_headers import (
    KEPT_HEADERS,
    MAX_HEADER_CHARS,
    addresses,
    all_headers,
    clean_address,
    decode_subject,
    first_header,
    kept_headers,
    message_id_list,
    normalize_message_id,
    parse_date,
    raw_headers,
    return_path,
)
from inbox_agent.stages.mime_parts import MAX_FILENAME_CHARS, content_type_of
from inbox_agent.stages.mime_tree import MAILPARSER_MAX_PARTS, mime_tree
from inbox_agent.stages.parse_defects import MAX_DEFECTS, Defects
from inbox_agent.stages.quoted_reply import FORWARD_SUBJECT, strip_quoted
from inbox_agent.stages.sealed_mail import open_sealed_parts, without_pgp_armour

# The names callers have always imported from here, wherever they now live.
__all__ = [
    "KEPT_HEADERS",
    "MAILPARSER_MAX_PARTS",
    "MAX_ATTACHMENTS",
    "MAX_DEFECTS",
    "MAX_FILENAME_CHARS",
    "MAX_HEADER_CHARS",
    "MAX_TEXT_CHARS",
    "ParseFailure",
    "clean_address",
    "content_type_of",
    "detect_language",
    "html_to_text",
    "make_attachment",
    "message_id_list",
    "normalize_message_id",
    "parse_message",
    "sniff_type",
    "strip_quoted",
]


# Any of these makes bytes a mail rather than a random file with a colon in it.
_MAIL_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "mime-version",
        "content-type",
        "return-path",
        "sender",
        "reply-to",
        "delivered-to",
        "in-reply-to",
        "references",
    }
)

# RFC 5322 obs-optional: "Subject  : text" (white space before the colon).
_OBSOLETE_FIELD_NAME = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)


class ParseFailure(Exception):
    """The bytes are not a usable mail; ``reason`` says why in one short sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _has_mail_headers(headers: list[tuple[str, str]]) -> bool:
    return any(name in _MAIL_HEADERS for name, _value in headers)


def _repair_obsolete_field_names(data: bytes) -> bytes:
    """Turn ``Name  : value`` into ``Name: value`` in the header block.

    The stdlib parser stops at the first such line and reads the whole mail as
    body; RFC 5322 section 4.5 still asks readers to accept it.
    """
    match = re.search(rb"\r?\n\r?\n", data)
    end = match.start() if match else len(data)
    return _OBSOLETE_FIELD_NAME.sub(rb"\1:", data[:end]) + data[end:]


_HEADER_LINE = re.compile(rb"^([!-9;-~]+):")
_MAX_JUNK_LINES = 5


def _skip_leading_junk(data: bytes) -> tuple[bytes, int]:
    """The bytes from the first of two header lines in a row, within the first few lines.

    Forwarding tools and web forms put a line such as ``---- Original email
    message ----`` (or a blank line) before the headers; the MIME parser then
    reads everything as body. Returns the data unchanged and 0 when no header
    block starts within ``_MAX_JUNK_LINES`` lines.
    """
    lines = data[:4096].splitlines(keepends=True)
    offset = 0
    for index, line in enumerate(lines[: _MAX_JUNK_LINES + 1]):
        following = lines[index + 1] if index + 1 < len(lines) else b""
        name = _HEADER_LINE.match(line)
        if (
            index
            and name
            and _HEADER_LINE.match(following)
            and name.group(1).lower().decode() in _MAIL_HEADERS
        ):
            return data[offset:], index
        offset += len(line)
    return data, 0


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    raise ParseFailure(f"expected the raw mail as bytes, got {type(raw).__name__}")


def parse_message(raw: bytes, *, received_at: datetime | None = None) -> ParsedMessage:
    """Parse one raw mail. Raises :class:`ParseFailure` only when the bytes are not a mail.

    ``received_at`` (when we fetched it, UTC) is only used to flag a Date header
    from the future; the caller stores the receipt time itself.
    """
    data = _as_bytes(raw)
    if not data or data.isspace():  # not data.strip(): that copies the whole mail
        raise ParseFailure("the message is empty")
    try:
        return _parse(data, received_at)
    except ParseFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - RecursionError included: the contract is ParseFailure only
        # Every known failure is handled closer to its cause; reaching this means
        # an unknown bug, and quarantining the mail beats crashing the daemon.
        raise ParseFailure(f"the parser failed unexpectedly ({type(exc).__name__})") from exc


def _tree_and_headers(data: bytes, defects: Defects) -> tuple[Message, list[Message], list[tuple[str, str]]]:
    """The MIME tree and its top-level headers; :class:`ParseFailure` when there are none."""
    root, leaves = mime_tree(data, defects)
    headers = raw_headers(root)
    if not _has_mail_headers(headers):
        repaired = _repair_obsolete_field_names(data)
        if repaired != data:
            defects.add("header: white space before a header colon (obsolete syntax) removed")
            root, leaves = mime_tree(repaired, defects)
            headers = raw_headers(root)
    if not _has_mail_headers(headers):
        trimmed, skipped = _skip_leading_junk(data)
        if skipped:
            defects.add(f"header: {skipped} line(s) before the headers skipped")
            root, leaves = mime_tree(trimmed, defects)
            headers = raw_headers(root)
    if not headers:
        raise ParseFailure("no mail headers found: this is not a mail")
    if not _has_mail_headers(headers):
        raise ParseFailure("none of the standard mail headers (From, To, Subject, Date, ...) is present")
    return root, leaves, headers


class _Parties(NamedTuple):
    sender_name: str
    sender: str
    recipients: tuple[str, ...]
    reply_to: str
    reply_to_name: str


def _parties(headers: list[tuple[str, str]], hint: str | None, defects: Defects) -> _Parties:
    """Sender, recipients and Reply-To; a missing From is a defect, not a failure."""
    senders = addresses(headers, "from", hint, defects)
    # A garbage first From ("not an address") parses as a bare local part; a
    # later full address is the sender, as other readers take it.
    usable = [pair for pair in senders if "@" in pair[1]] or [pair for pair in senders if pair[1]]
    # "MAILER DAEMON <>" has no address, but its name still tells the guard what it is.
    named = [pair for pair in senders if pair[0]]
    sender_name, sender = usable[0] if usable else (named[0][0] if named else "", "")
    if not sender:
        defects.add("header: no usable From address")
    recipients = [address for name in ("to", "cc") for _n, address in addresses(headers, name, hint, defects)]
    reply_to_name, reply_to = next(
        (pair for pair in addresses(headers, "reply-to", hint, defects) if pair[1]), ("", "")
    )
    return _Parties(
        sender_name=sender_name,
        sender=sender,
        recipients=tuple(dict.fromkeys(address for address in recipients if address)),
        reply_to=reply_to,
        reply_to_name=reply_to_name,
    )


def _parse(data: bytes, received_at: datetime | None) -> ParsedMessage:
    # Defects are recorded in the order the steps run, and the list is capped:
    # keep the steps (and the keyword arguments below) in this order.
    defects = Defects()
    root, leaves, headers = _tree_and_headers(data, defects)
    sealed = open_sealed_parts(leaves, defects)
    leaves = sealed.leaves
    hint = charset_hint(leaves)
    parties = _parties(headers, hint, defects)
    body = read_parts(leaves, hint, defects)
    text = readable_text(body, defects) or fallback_text(leaves, hint, defects)
    text, armoured = without_pgp_armour(text, defects)
    subject = decode_subject(first_header(headers, "subject"), hint, defects)
    new_text = strip_quoted(text, forward=bool(FORWARD_SUBJECT.match(subject)))
    return ParsedMessage(
        raw_sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        message_id=normalize_message_id(first_header(headers, "message-id")),
        sender=parties.sender,
        sender_name=parties.sender_name,
        recipients=parties.recipients,
        reply_to=parties.reply_to,
        subject=subject,
        date=parse_date(first_header(headers, "date"), received_at, defects),
        in_reply_to=message_id_list(all_headers(headers, "in-reply-to")),
        references=message_id_list(all_headers(headers, "references")),
        headers=kept_headers(headers, hint),
        return_path=return_path(first_header(headers, "return-path")),
        content_type=content_type_of(root),
        text=text,
        new_text=new_text,
        html="\n".join(clean_body(part) for part in body.html),
        attachments=tuple(body.attachments),
        defects=defects.result(),
        language=detect_language(f"{subject}\n{new_text}"),
        reply_to_name=parties.reply_to_name,
        encrypted=sealed.encrypted or armoured,
    )

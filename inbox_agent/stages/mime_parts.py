"""Reading one MIME part without letting a malformed header or payload raise.

Content type, declared charset, disposition, file name and payload bytes are
what the body and attachment steps need from a part. Each accessor falls back
to a safe value (and records a defect where staff should know), because real
mail carries garbled parameters, undecodable transfer encodings and NUL bytes
in charset names, and one bad part must never lose the whole mail.
"""

from __future__ import annotations

import binascii
import re
from email import errors
from email.message import Message

from inbox_agent.stages.charsets import clean_header_text, decode_bytes, header_bytes
from inbox_agent.stages.header_decoding import decode_header_value
from inbox_agent.stages.message_headers import plain_header_text
from inbox_agent.stages.mime_set_aside import run_span
from inbox_agent.stages.parse_defects import Defects

MAX_FILENAME_CHARS = 255


_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


def content_type_of(part: Message) -> str:
    """``type/subtype`` in lower case; ``text/plain`` when the header is garbage (RFC 2045 5.2)."""
    try:
        value = part.get_content_type()
    except Exception:  # noqa: BLE001 - a garbled Content-Type must not lose the mail
        return "text/plain"
    match = _MIME_TYPE.match(clean_header_text(value).lower())
    return match.group(0) if match else "text/plain"


def _param(part: Message, name: str, header: str) -> str | tuple[str, str, str] | None:
    try:
        return part.get_param(name, header=header)
    except Exception:  # noqa: BLE001 - malformed parameters are common and harmless
        return None


def declared_charset(part: Message) -> str | None:
    value = _param(part, "charset", "content-type")
    if isinstance(value, tuple):
        return value[2]
    return value


def disposition_of(part: Message) -> str:
    raw = part.get("content-disposition")
    if raw is None:
        return ""
    return plain_header_text(str(raw)).split(";", 1)[0].strip().lower()


def _decoded_params_view(part: Message, hint: str | None) -> Message:
    """A copy of the part's Content-Type/-Disposition with raw 8-bit bytes decoded.

    compat32 turns undeclared 8-bit bytes in a parameter into U+FFFD, so names
    like ``收据.png`` sent raw would be lost; decoding the header first keeps them.
    """
    view = Message()
    for name, raw in part.raw_items():
        if name.lower() in ("content-type", "content-disposition"):
            data = header_bytes(raw)
            view[name] = data.decode("ascii") if data.isascii() else decode_header_value(raw, hint=hint)[0]
    return view


def filename_of(part: Message, hint: str | None, defects: Defects) -> str:
    raw_params = " ".join(
        str(value)
        for name, value in part.raw_items()
        if name.lower() in ("content-type", "content-disposition")
    )
    if "name" not in raw_params.lower():
        return ""  # the common case, and parameter parsing is the slowest step for huge mails
    view = _decoded_params_view(part, hint)
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = _param(view, param, header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded latin-1 text)
            charset, _language, text = value
            data = text.encode("latin-1", errors="replace")
            name, used = decode_bytes(data, charset or None, hint=hint)
            if used is None:
                defects.add("attachment: undecodable file name, replacement characters used")
        else:
            name, problems = decode_header_value(value, hint=hint)
            for problem in problems:
                defects.add(f"attachment: file name: {problem}")
        name = clean_header_text(name)[:MAX_FILENAME_CHARS]
        if name:
            return name
    return ""


def wire_payload(part: Message) -> bytes:
    """The part's body as it was on the wire (transfer encoding not undone).

    Read from the stored payload because ``get_payload()`` itself may raise, for
    instance on a NUL in the charset name, which is exactly when we need it.
    """
    run = run_span(part)
    if run is not None:
        source, start, end = run
        return source[start:end]
    stored = getattr(part, "_payload", None)
    return header_bytes(stored) if isinstance(stored, str) else b""


# Base64 as encoders write it: the alphabet in lines, padding only at the very end.
# Possessive, so a body that is not (trailing line ends, then one stray character)
# fails in one pass.
_PLAIN_BASE64 = re.compile(r"[A-Za-z0-9+/\r\n]*+={0,2}+[\r\n]*+")
_PLAIN_BASE64_BYTES = re.compile(_PLAIN_BASE64.pattern.encode("ascii"))


def plain_base64(part: Message) -> bytes | None:
    """The decoded body of a well-formed base64 part; None for any other part.

    The same bytes as ``get_payload(decode=True)``, which adds no defect for such a body
    (a differential test), without its copies: it encodes the text, splits it into
    lines, joins them and adds padding, so a 25 MB attachment needed 135 MB at the
    peak. ``a2b_base64`` reads the text as it is and skips the line ends itself.
    """
    if str(part.get("content-transfer-encoding", "")).lower() != "base64":
        return None
    run = run_span(part)
    if run is not None:  # read from the mail's bytes: the text is never made
        source, start, end = run
        if _PLAIN_BASE64_BYTES.fullmatch(source, start, end) is None:
            return None
        line_ends = source.count(b"\r", start, end) + source.count(b"\n", start, end)
        if (end - start - line_ends) % 4:
            return None
        return binascii.a2b_base64(memoryview(source)[start:end])
    payload = getattr(part, "_payload", None)
    if not isinstance(payload, str) or _PLAIN_BASE64.fullmatch(payload) is None:
        return None
    if (len(payload) - payload.count("\r") - payload.count("\n")) % 4:
        return None  # the padding is wrong: the email package repairs it and says so
    return binascii.a2b_base64(payload)


# The mechanisms the email package decodes (or knows need no decoding).
_TRANSFER_ENCODINGS = frozenset(
    {"7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "uuencode", "uue", "x-uue"}
)
_COMMENTS = re.compile(r"\([^()]*\)")


def tidy_transfer_encoding(part: Message, defects: Defects) -> None:
    """``Content-Transfer-Encoding: base64 `` (a blank after it), ``"base64"`` or ``base64
    (comment)`` set to the bare token, so the body is decoded.

    RFC 2045 makes the value a case-insensitive token, which a header may surround with
    blanks and comments. Python 3.11's email package compares the raw value and leaves
    such a body encoded (CPython gh-98188; the same report exists for JavaMail and PHP's
    mail parsers): the customer's text would be read as a run of base64. Values that are
    no known mechanism even once tidied are left as they are.
    """
    raw = part.get("content-transfer-encoding")
    if not isinstance(raw, str) or raw.lower() in _TRANSFER_ENCODINGS:
        return
    token = _COMMENTS.sub("", raw).strip().strip("\"'").strip().lower()
    if token == raw.lower() or token not in _TRANSFER_ENCODINGS:
        return
    part.replace_header("content-transfer-encoding", token)
    defects.add(f"mime: Content-Transfer-Encoding {raw[:40]!r} read as {token}")  # repr: blanks shown


def payload_bytes(part: Message, defects: Defects) -> bytes:
    try:
        if part.is_multipart():  # an attached message/*: keep it as a file
            subparts = part.get_payload()
            return b"".join(sub.as_bytes() for sub in subparts if isinstance(sub, Message))
        tidy_transfer_encoding(part, defects)
        decoded = plain_base64(part)
        if decoded is None:
            decoded = part.get_payload(decode=True)
            damage = base64_damage(part)
            if damage:
                defects.add(
                    f"mime: damaged base64 in a {content_type_of(part)} part ({damage}): bytes may be lost"
                )
    except RecursionError:
        defects.add("attachment: attached message nested too deep to keep")
        return b""
    except Exception as exc:  # noqa: BLE001 - bad transfer encodings must not lose the mail
        defects.add(f"mime: undecodable {content_type_of(part)} payload ({type(exc).__name__}), kept as sent")
        return wire_payload(part)
    return decoded if isinstance(decoded, bytes) else wire_payload(part)


_BASE64_DEFECTS = {
    errors.InvalidBase64CharactersDefect: "characters outside base64",
    errors.InvalidBase64PaddingDefect: "wrong padding",
    errors.InvalidBase64LengthDefect: "a length no base64 has",
}


def base64_damage(part: Message) -> str:
    """What the email package had to repair when it decoded this part's base64, "" when
    nothing: a file decoded from damaged base64 is not the file the customer sent."""
    found = [text for kind, text in _BASE64_DEFECTS.items() if any(isinstance(d, kind) for d in part.defects)]
    return ", ".join(found)

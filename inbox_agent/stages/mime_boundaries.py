"""A multipart whose declared boundary never appears in its body.

Mailers (and gateways rewriting them) declare ``multipart/*`` with one
boundary and then either use another one or none at all; the MIME parser
then finds no parts and the whole body, text included, would be filed as one
nameless attachment. Two cases, by rule:

* the body has its own delimiter lines (``--X`` followed by a part header):
  the parts are split at that boundary, as if it had been declared;
* it has none: the part stays a leaf and the body step reads it as text
  (:func:`inbox_agent.stages.message_body.read_parts`).
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import Message

from inbox_agent.stages.charsets import header_bytes
from inbox_agent.stages.parse_defects import Defects

# A delimiter line directly followed by a MIME part header, as every part starts.
_USED_DELIMITER = re.compile(
    rb"^--([!-~][ -~]{0,69}?)[ \t]*\r?\n(?=content-[a-z-]+[ \t]*:)", re.IGNORECASE | re.MULTILINE
)


def _used_boundary(body: bytes) -> bytes | None:
    match = _USED_DELIMITER.search(body)
    if match is None or match.group(1).endswith(b"--"):
        return None
    return match.group(1)


def _split_at(body: bytes, boundary: bytes) -> list[Message] | None:
    head = b'Content-Type: multipart/mixed; boundary="' + boundary.replace(b'"', b"") + b'"\r\n\r\n'
    try:
        rebuilt = email.message_from_bytes(head + body, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - RecursionError included: then the body is read as text
        return None
    subparts = rebuilt.get_payload()
    return subparts if isinstance(subparts, list) and subparts else None


def resplit_at_used_boundary(part: Message, defects: Defects) -> list[Message] | None:
    """The sub-parts of ``part`` split at the boundary its body uses, or None when it uses none."""
    stored = getattr(part, "_payload", None)
    if not isinstance(stored, str) or not stored:
        return None
    body = header_bytes(stored)
    boundary = _used_boundary(body)
    subparts = None if boundary is None else _split_at(body, boundary)
    if subparts is not None:
        defects.add("mime: the declared boundary never appears; parts split at the boundary the body uses")
    return subparts


def epilogue_parts(part: Message, defects: Defects) -> list[Message]:
    """Parts after the closing delimiter that reuse the boundary (mail-parser recovers them too).

    Outlook Express for Mac closed a nested multipart with its parent's
    boundary, which closes the parent early: the parts after it, attachments
    included, land in the epilogue.
    """
    epilogue = getattr(part, "epilogue", None)
    if not isinstance(epilogue, str) or "--" not in epilogue:
        return []
    try:
        boundary = part.get_boundary()
    except Exception:  # noqa: BLE001 - a broken parameter means "no boundary"
        return []
    if not boundary:
        return []
    data = header_bytes(epilogue)
    start = data.find(b"--" + header_bytes(boundary))
    if start < 0 or _used_boundary(data[start:]) is None:
        return []
    subparts = _split_at(data[start:], header_bytes(boundary)) or []
    if subparts:
        defects.add(f"mime: {len(subparts)} part(s) after the closing boundary recovered")
    return subparts

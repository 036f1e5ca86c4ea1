"""Signed and encrypted mail (S/MIME, OpenPGP): the text read where it can be, and an
encrypted mail said to be one where it cannot.

* An **opaque-signed** S/MIME mail (``smime.p7m``, ``smime-type=signed-data``) carries
  the customer's whole message inside the signature. It is opened (``cms_reader``) and
  its parts take the container's place, so its text, attachments and screenshots count
  as in any mail. Signed inside signed is opened up to ``_MAX_OPENED`` times.
* An **encrypted** one (S/MIME enveloped-data, PGP/MIME ``multipart/encrypted``, an
  inline ``BEGIN PGP MESSAGE`` block) cannot be read without the customer's key, which
  we never have. The mail is marked (``ParsedMessage.encrypted``), so the case is
  flagged for staff and the reply asks the customer to write again without encryption:
  not filed as an empty mail that nobody can answer.
* An inline **clear-signed** PGP text loses its armour (the ``Hash:`` header, the
  signature block, RFC 4880's dash-escaping), which is not the customer's words.

Signatures are not verified: a sender is judged by the receiving server's verdict
(``stages/authentication``), as for every mail. A damaged ``smime.p7m`` stays an
attachment, with a defect saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from inbox_agent.stages.cms_reader import CmsUnreadable, read_cms
from inbox_agent.stages.mime_parts import content_type_of, payload_bytes
from inbox_agent.stages.mime_tree import mime_tree
from inbox_agent.stages.parse_defects import Defects

SMIME = "S/MIME"
OPENPGP = "OpenPGP"
_CMS_TYPES = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})
_PGP_CONTROL = "application/pgp-encrypted"  # PGP/MIME's "Version: 1" part; the data is beside it
_MAX_OPENED = 3

_PGP_MESSAGE = re.compile(r"-----BEGIN PGP MESSAGE-----.*?(?:-----END PGP MESSAGE-----|\Z)", re.DOTALL)
_PGP_SIGNED_HEAD = re.compile(r"-----BEGIN PGP SIGNED MESSAGE-----[ \t]*\r?\n(?:[\w-]+:[^\n]*\n)*[ \t]*\r?\n")
_PGP_SIGNATURE = re.compile(r"-----BEGIN PGP SIGNATURE-----.*?(?:-----END PGP SIGNATURE-----|\Z)", re.DOTALL)
_PGP_KEY = re.compile(
    r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?(?:-----END PGP PUBLIC KEY BLOCK-----|\Z)", re.DOTALL
)
_DASH_ESCAPE = re.compile(r"^- ", re.MULTILINE)
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n){2,}")  # where a removed block was


@dataclass(frozen=True)
class OpenedParts:
    leaves: list[Message]
    encrypted: str  # "", SMIME or OPENPGP


def open_sealed_parts(leaves: list[Message], defects: Defects) -> OpenedParts:
    """The leaves with each opaque-signed part replaced by the parts it carries."""
    if not any(_is_cms(part) or content_type_of(part) == _PGP_CONTROL for part in leaves):
        return OpenedParts(leaves, "")
    pending, kept, encrypted, opened = list(reversed(leaves)), [], "", 0
    while pending:
        part = pending.pop()
        if content_type_of(part) == _PGP_CONTROL:
            encrypted = encrypted or OPENPGP
            defects.add("pgp: the mail is encrypted (PGP/MIME): its text cannot be read")
            continue
        inner, sealed = _signed_parts(part, defects) if _is_cms(part) and opened < _MAX_OPENED else (None, "")
        encrypted = encrypted or sealed
        if inner is None:
            kept.append(part)
            continue
        opened += 1
        pending.extend(reversed(inner))
    return OpenedParts(kept, encrypted)


def _is_cms(part: Message) -> bool:
    """An S/MIME object, by its type or (sent as any binary) by its ``.p7m`` name."""
    kind = content_type_of(part)
    if kind in _CMS_TYPES:
        return True
    return kind == "application/octet-stream" and (part.get_filename(failobj="") or "").lower().endswith(
        ".p7m"
    )


def _signed_parts(part: Message, defects: Defects) -> tuple[list[Message] | None, str]:
    """The leaf parts a signed ``smime.p7m`` carries, and SMIME when it is encrypted.
    None when it carries none we can read (encrypted, detached, damaged): the part then
    stays as it is."""
    try:
        cms = read_cms(payload_bytes(part, defects))
    except CmsUnreadable as exc:
        defects.add(f"smime: smime.p7m unreadable ({exc}), kept as an attachment")
        return None, ""
    if cms.kind == "encrypted":
        defects.add("smime: the mail is encrypted (S/MIME): its text cannot be read")
        return None, SMIME
    if cms.content is None:
        defects.add(f"smime: a {cms.kind} smime.p7m without content, kept as an attachment")
        return None, ""
    defects.add("smime: opaque-signed mail opened (the signature is not checked)")
    # The same sturdy reading as the outer mail: a multipart bomb inside the signature
    # is split without recursion, never a crash.
    return mime_tree(cms.content, defects)[1], ""


def without_pgp_armour(text: str, defects: Defects) -> tuple[str, str]:
    """``text`` without inline PGP armour, and OPENPGP when an encrypted block was in it."""
    if "-----BEGIN PGP " not in text:
        return text, ""
    encrypted = ""
    if _PGP_MESSAGE.search(text):
        encrypted = OPENPGP
        text = _PGP_MESSAGE.sub("", text)
        defects.add("pgp: an encrypted block in the text cannot be read")
    if _PGP_SIGNED_HEAD.search(text):
        text = _DASH_ESCAPE.sub("", _PGP_SIGNED_HEAD.sub("", text))
        defects.add("pgp: clear-signed text read (the signature is not checked)")
    text = _PGP_KEY.sub("", _PGP_SIGNATURE.sub("", text))
    return _BLANK_RUN.sub("\n\n", text).strip(), encrypted

"""The new part of a reply: ``>`` quotes, quoted earlier mail and signatures cut off.

Categorization, evidence and staff commands read only what the sender wrote
this time, not the earlier mail quoted below it (often our own acknowledgement),
whose words would otherwise count again. Recognised cut points: Gmail's
"On ... wrote:" (also wrapped over two lines), Outlook's "From:"/"Sent:" block
and "-----Original Message-----", the same in the languages mail clients are set to
(写道, 原始邮件, 发件人/发送时间, 寄件者/寄件日期, "De :"/"Envoyé :", "Von:"/"Gesendet:",
"a écrit :", "schrieb", "escribió", ...), and the "-- " signature separator.

A forward is not a quote: the bank's notice or the receipt a customer forwards ("see
below") is the evidence the acknowledgement would otherwise ask for again, so its
text is kept, without its header block, unless it is our own mail coming back (its
subject carries our case tag). Staff mail keeps the strict cut (``written_part``).
"""

from __future__ import annotations

import re

from inbox_agent.domain.lifecycle import CASE_ID_IN_TEXT, CASE_TAG_IN_SUBJECT
from inbox_agent.stages.mail_footers import without_footers

_REPLY_HEADER_LINES = (
    re.compile(r"^-{2,}\s*(original message|original|urspr\w+ nachricht)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*原始(邮件|郵件)\s*-{2,}\s*$"),
    re.compile(r"^.{0,300}(写道|寫道)\s*[:：]\s*$"),
    re.compile(r"^\*?(发件人|寄件者|寄件人)\s*\*?\s*[:：]"),
    re.compile(r"^--\s?$"),
    re.compile(r"^_{20,}\s*$"),
)
# Gmail, Thunderbird and Apple Mail mark a forward; Outlook's is a From/Sent block
# like a reply's, told apart by the subject ("FW:", "转发:").
_FORWARD_MARKER = re.compile(
    r"^(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|"
    r"messaggio inoltrato|转发的?邮件(?:信息)?|轉寄的?郵件(?:資訊)?|轉發的?郵件)\s*-{2,}|begin forwarded message:)\s*$",
    re.IGNORECASE,
)
FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|fw|tr|wg|转发|轉寄|轉發)\s*[:：]", re.IGNORECASE)
# A line of the forwarded mail's header block.
_HEADER_FIELD = re.compile(
    r"^\*?(?:From|Sent|Date|To|Cc|Subject|Reply-To|De|Von|Gesendet|Envoyé|Enviado|An|À|Para|Objet|Betreff|"
    r"Asunto|发件人|發件人|寄件者|寄件人|发送时间|發送時間|发送日期|發送日期|寄件日期|日期|时间|時間|收件人|收件者|抄送|副本|主题|主旨)"
    r"\s?[:：]",
    re.IGNORECASE,
)
_SUBJECT_FIELD = re.compile(r"^\*?(?:Subject|Objet|Betreff|Asunto|主题|主旨)\s?[:：](?P<subject>.*)$", re.I)
_ON_WROTE = re.compile(r"^On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL)
# Gmail, Apple Mail and Thunderbird in other languages: "Le jeu. 3 déc. 2026 à 10:00,
# X <x@y> a écrit :", "Am 03.12.2026 um 10:00 schrieb X <x@y>:", "El ... escribió:",
# "Il giorno ... ha scritto:", "Op ... schreef ...:", "Em ... escreveu:". The line must
# name an address or a time, so a sentence of the mail itself is not a cut point.
_WROTE_ELSEWHERE = re.compile(
    r"^.{0,300}\b(?:(?:a écrit|escribió|ha scritto|escreveu|napisał|написал\w*)|(?:schrieb|schreef)\b.{0,200})\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ADDRESS_OR_TIME = re.compile(r"@|\d{1,2}:\d{2}")
# Outlook's header block: a "From" line followed within four lines by a "Sent"/"Date"
# line, in the client's language ("De :" in French has a space before the colon).
_FROM_LINE = re.compile(
    r"^\*?(?:From|De|Von|Da|Van|Od|От|差出人|보낸 사람|发件人|發件人|寄件者|寄件人)\s?[:：]\*?\s",
    re.IGNORECASE,
)
_SENT_LINE = re.compile(
    r"^\*?(?:Sent|Date|Envoyé|Enviado|Gesendet|Inviato|Verzonden|Datum|Wysłano|Отправлено|Дата|送信日時|"
    r"보낸 날짜|发送时间|發送時間|发送日期|發送日期|寄件日期|日期|时间|時間)\s?[:：]\*?\s",
    re.IGNORECASE,
)


def _is_reply_header(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if _FORWARD_MARKER.match(line) or any(pattern.match(line) for pattern in _REPLY_HEADER_LINES):
        return True
    if _is_wrote_line(lines, index, line):
        return True
    if _FROM_LINE.match(line):
        following = lines[index + 1 : index + 5]
        return any(_SENT_LINE.match(candidate.strip()) for candidate in following)
    return False


def _is_wrote_line(lines: list[str], index: int, line: str) -> bool:
    """ "On <date>, <name> <address> wrote:" or a translation, on this line or wrapped
    onto the next (Gmail wraps a long one); only a line ending in a colon is read."""
    following = lines[index + 1].strip() if index + 1 < len(lines) else ""
    candidates = [line] if line.endswith((":", "：")) else []
    if following.endswith((":", "：")):
        candidates.append(f"{line} {following}")
    for candidate in candidates:
        if _ON_WROTE.match(candidate):
            return True
        if _WROTE_ELSEWHERE.match(candidate) and _ADDRESS_OR_TIME.search(candidate):
            return True
    return False


def strip_quoted(text: str, *, forward: bool = False) -> str:
    """The new part of a mail: what the sender wrote, and a forwarded mail's text (not its
    header block); no ``>`` quotes, nothing after a reply header or signature, no
    disclaimer or "Sent from my iPhone" below either part (``mail_footers``).

    When nothing is left: "" if what was quoted is our own mail (it names a case), so a
    customer who answers our acknowledgement with only the screenshot we asked for is
    not read as having sent the example error code and times of our template; the
    whole text otherwise, so a cut point misread at the top loses nothing of a
    complaint. ``forward``: the subject says the mail is a forward."""
    lines = text.split("\n")
    kept, cut = _written_lines(lines)
    written = without_footers("\n".join(kept).strip())
    if cut is not None and (forward or _FORWARD_MARKER.match(lines[cut].strip())):
        forwarded = without_footers(_forwarded_text(lines[cut:]))
        written = "\n\n".join(part for part in (written, forwarded) if part)
    if written:
        return written
    return "" if _names_a_case(text) else text


def _names_a_case(text: str) -> bool:
    return bool(CASE_ID_IN_TEXT.search(text) or CASE_TAG_IN_SUBJECT.search(text))


def forward_block(text: str, *, forward: bool = False) -> tuple[str, list[str], str] | None:
    """A forward in ``text``: what the sender wrote above it, the forwarded mail's
    header lines and its text. None when the first cut point is not a forward (marker
    line, or an Outlook-style header block under a forward's subject: ``forward``)."""
    lines = text.split("\n")
    kept, cut = _written_lines(lines)
    if cut is None or not (forward or _FORWARD_MARKER.match(lines[cut].strip())):
        return None
    index = 1 if not _HEADER_FIELD.match(lines[cut].strip()) else 0
    rest = lines[cut + index :]
    while rest and not rest[0].strip():
        rest = rest[1:]
    headers = []
    while rest and _HEADER_FIELD.match(rest[0].strip()):
        headers.append(rest[0].strip())
        rest = rest[1:]
    if not headers:
        return None
    return "\n".join(kept).strip(), headers, without_footers("\n".join(rest).strip())


def written_part(text: str) -> str:
    """What the sender wrote this time, "" when the mail is only a quote (nothing typed)."""
    kept, _ = _written_lines(text.split("\n"))
    return "\n".join(kept).strip()


def _written_lines(lines: list[str]) -> tuple[list[str], int | None]:
    """The lines written this time (no ``>`` quotes), and where the first reply or forward
    header starts (None: there is none)."""
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _is_reply_header(lines, index):
            return kept, index
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return kept, None


def _forwarded_text(lines: list[str]) -> str:
    """The forwarded mail's text: after its marker line and header block; "" for our own
    mail coming back, or when the block is not a mail's header."""
    index = 1 if not _HEADER_FIELD.match(lines[0].strip()) else 0  # the marker or "____" line
    while index < len(lines) and not lines[index].strip():
        index += 1
    headers = 0
    while index < len(lines) and (_HEADER_FIELD.match(lines[index].strip()) or not lines[index].strip()):
        subject = _SUBJECT_FIELD.match(lines[index].strip())
        if subject and CASE_TAG_IN_SUBJECT.search(subject.group("subject")):
            return ""  # our own acknowledgement or reply, forwarded back to us
        headers += bool(lines[index].strip())
        index += 1
    return "\n".join(lines[index:]).strip() if headers else ""

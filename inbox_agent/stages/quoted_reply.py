"""The new part of a reply: ``>`` quotes, quoted earlier mail and signatures cut off.

Categorization, evidence and staff commands read only what the sender wrote
this time, not the earlier mail quoted below it (often our own acknowledgement),
whose words would otherwise count again. Recognised cut points: Gmail's
"On ... wrote:" (also wrapped over two lines), Outlook's "From:"/"Sent:" block
and "-----Original Message-----", the same in the languages mail clients are set to
(写道, 原始邮件, 发件人/发送时间, 寄件者/寄件日期, "De :"/"Envoyé :", "Von:"/"Gesendet:",
"a écrit :", "schrieb", "escribió", ...), and the "-- " signature separator.
"""

from __future__ import annotations

import re

_REPLY_HEADER_LINES = (
    re.compile(r"^-{2,}\s*(original message|original|urspr\w+ nachricht)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*原始(邮件|郵件)\s*-{2,}\s*$"),
    re.compile(r"^.{0,300}(写道|寫道)\s*[:：]\s*$"),
    re.compile(r"^\*?(发件人|寄件者|寄件人)\s*\*?\s*[:：]"),
    re.compile(r"^--\s?$"),
    re.compile(r"^_{20,}\s*$"),
)
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
    r"보낸 날짜|发送时间|發送時間|寄件日期|日期|时间|時間)\s?[:：]\*?\s",
    re.IGNORECASE,
)


def _is_reply_header(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if any(pattern.match(line) for pattern in _REPLY_HEADER_LINES):
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


def strip_quoted(text: str) -> str:
    """The new part of a reply: no ``>`` quotes, nothing after a reply header or signature;
    the whole text when nothing is left (a customer's forward says something)."""
    return written_part(text) or text


def written_part(text: str) -> str:
    """What the sender wrote this time, "" when the mail is only a quote (nothing typed)."""
    lines = text.split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _is_reply_header(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()

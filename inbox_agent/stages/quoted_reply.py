"""The new part of a reply: ``>`` quotes, quoted earlier mail and signatures cut off.

Categorization, evidence and staff commands read only what the sender wrote
this time, not the earlier mail quoted below it (often our own acknowledgement),
whose words would otherwise count again. Recognised cut points: Gmail's
"On ... wrote:" (also wrapped over two lines), Outlook's "From:"/"Sent:" block
and "-----Original Message-----", the German and Chinese equivalents
(写道, 原始邮件, 发件人) and the "-- " signature separator.
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
_FROM_LINE = re.compile(r"^\*?From:\*?\s", re.IGNORECASE)
_SENT_LINE = re.compile(r"^\*?(Sent|Date):\*?\s", re.IGNORECASE)


def _is_reply_header(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if any(pattern.match(line) for pattern in _REPLY_HEADER_LINES):
        return True
    if line.lower().startswith("on "):
        # Gmail wraps a long "On <date>, <name> <address> wrote:" over two lines.
        joined = line if index + 1 >= len(lines) else f"{line} {lines[index + 1].strip()}"
        if _ON_WROTE.match(line) or _ON_WROTE.match(joined):
            return True
    if _FROM_LINE.match(line):
        following = lines[index + 1 : index + 5]
        return any(_SENT_LINE.match(candidate.strip()) for candidate in following)
    return False


def strip_quoted(text: str) -> str:
    """The new part of a reply: no ``>`` quotes, nothing after a reply header or signature."""
    lines = text.split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _is_reply_header(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    new_text = "\n".join(kept).strip()
    return new_text if new_text else text

"""The error message the app showed, with its error code when there is one.

Customers quote the message ("it says 'Payment declined'", 提示「余额不足」) or
write it after a colon; the message is cut from the original text so its
punctuation stays as written, and the code (E1023, ERR_LIMIT, 错误码 51) is added
when the message does not already contain it.
"""

from __future__ import annotations

import re

from inbox_agent.stages.evidence_text import FoldedText

_QUOTE_PAIRS = {'"': '"', "“": "”", "「": "」", "『": "』", "'": "'", "‘": "’", "《": "》"}
_ERROR_QUOTED = re.compile(
    r"(?:error|says|said|saying|shows|showed|showing|displays|displayed|message|reads|popped up|"
    r"提示|显示|报错|错误|写着|弹出|出现)"
    r"[^\n\"“「『'‘《]{0,30}?(?P<open>[\"“「『'‘《])(?P<msg>[^\n\"”」』'’》]{3,200})(?P<close>[\"”」』'’》])",
    re.I,
)
_ERROR_UNQUOTED = re.compile(
    r"(?:error message|the error|says|said|shows|showed|displays|提示|显示|报错|错误信息|错误提示)\s*[:]\s*"
    r"(?P<msg>[^\n。!！]{2,120}?)(?=[。!！]|\.\s|\.?$|\n)",
    re.I,
)
_ERROR_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?P<code>E\d{3,6}|ERR[_-][A-Z0-9_]+)(?![A-Za-z0-9])"
    r"|error\s*code\s*[:#]?\s*(?P<code2>[A-Za-z0-9_-]+)"
    r"|(?:错误码|错误代码|错误代号)\s*[:：]?\s*(?P<code3>[A-Za-z0-9_-]+)",
    re.I,
)


def find_error_message(text: FoldedText) -> str | None:
    message = None
    for match in text.finditer(_ERROR_QUOTED):
        if _QUOTE_PAIRS.get(match.group("open")) == match.group("close") or match.group("open") != "'":
            message = text.cut(*match.span("msg")).strip()
            break
    if message is None:
        match = text.search(_ERROR_UNQUOTED)
        if match:
            message = text.cut(*match.span("msg")).strip()
    code_match = text.search(_ERROR_CODE)
    code = None
    if code_match:
        name = next(g for g in ("code", "code2", "code3") if code_match.group(g))
        code = text.cut_normalised(*code_match.span(name))
    if message and code and code not in message:
        return f"{message} ({code})"
    return message or code

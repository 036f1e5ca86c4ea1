"""The language a mail is written in, to choose the acknowledgement's language.

Only the languages the service answers in are told apart: a simple share of Chinese
characters tells Chinese from English, and characters that only one Chinese script
writes tell Traditional from Simplified (``chinese_script``). No model or dictionary.
"""

from __future__ import annotations

import re
from itertools import islice

from inbox_agent.domain.languages import ENGLISH, SIMPLIFIED_CHINESE, TRADITIONAL_CHINESE
from inbox_agent.stages.chinese_script import script_counts

# CJK ideographs: Extension A, the unified block, compatibility ideographs, and the
# supplementary planes' extensions B onwards.
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# Letters as str.isalpha() counts them: ASCII ones (the bulk of an English mail) by
# deleting every other byte, the rest one by one.
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_NON_LETTERS = bytes(code for code in range(128) if not chr(code).isalpha())
_CHINESE_PARAGRAPH = 30
# The script is judged on the start of the text: its first 4,000 characters hold
# hundreds of script-specific ones, and a long mail's tail (a pasted statement) adds
# cost, not evidence. Counting a 20,000-character mail whole cost 1 ms.
_SCRIPT_WINDOW = 4_000
# Traditional needs this many Traditional-only characters, and more than twice the
# Simplified-only ones: a Simplified mail quoting a merchant's 「交易失敗，請重試」 stays
# Simplified, and so does a mail as much in one script as in the other.
_TRADITIONAL_MINIMUM = 3
_TRADITIONAL_MARGIN = 2


def detect_language(text: str) -> str:
    """ "zh-Hant" or "zh" when Chinese characters make up a meaningful share of the
    text (Traditional when its script is clearly Traditional), else "en".

    Counted with regular expressions, not a Python loop over every character: this
    runs on every mail, long ones included (a loop was a tenth of the parse stage)."""
    sample = _without_a_name_below(text[:20_000])
    # Only "30 or more" matters above the paragraph threshold: stop at the 30th
    # instead of making a match object for every character of a long Chinese mail.
    cjk = sum(1 for _ in islice(_CJK.finditer(sample), _CHINESE_PARAGRAPH))
    # A paragraph of Chinese is Chinese, whatever English it quotes. A few characters
    # are not: an English mail signed with a Chinese name and address, or naming
    # 支付宝, is answered in English (before, 5 characters made any mail Chinese).
    if cjk >= _CHINESE_PARAGRAPH:
        return chinese_script(sample)
    ascii_letters = len(sample.encode("ascii", "ignore").translate(None, _ASCII_NON_LETTERS))
    letters = ascii_letters + sum(1 for char in _NOT_ASCII.findall(sample) if char.isalpha())
    if letters and cjk / letters >= 0.10:
        return chinese_script(sample)
    return ENGLISH


# A signature that is only a Chinese name ("王小明", "— 陈大文") on the last line.
_NAME_LINE = re.compile(r"\n[\s\-—–~]*[\u4e00-\u9fff]{2,4}[\s.。]*\Z")
_SOME_ENGLISH = re.compile(r"[A-Za-z]{2,}(?:\W+[A-Za-z]{2,}){2}")


def _without_a_name_below(text: str) -> str:
    """The text without a last line that is only a Chinese name, when English is above
    it: "My account is locked, please help." signed 王小明 is an English mail (three
    characters were over a tenth of its letters)."""
    name = _NAME_LINE.search(text)
    if name is None or not _SOME_ENGLISH.search(text, 0, name.start()):
        return text
    return text[: name.start()]


def chinese_script(text: str) -> str:
    """ "zh-Hant" for clearly Traditional Chinese text; "zh" for Simplified, mixed or
    undecided text (as every Chinese mail was answered before Traditional replies)."""
    traditional, simplified = script_counts(text[:_SCRIPT_WINDOW])
    if traditional >= _TRADITIONAL_MINIMUM and traditional > _TRADITIONAL_MARGIN * simplified:
        return TRADITIONAL_CHINESE
    return SIMPLIFIED_CHINESE

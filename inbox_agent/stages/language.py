"""The language a mail is written in, to choose the acknowledgement's language.

Only the two languages the service answers in are told apart; a simple share
of Chinese characters is enough for that and needs no model or dictionary.
"""

from __future__ import annotations

import re

# CJK ideographs: Extension A, the unified block, compatibility ideographs, and the
# supplementary planes' extensions B onwards.
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# Letters as str.isalpha() counts them: ASCII ones (the bulk of an English mail) by
# deleting every other byte, the rest one by one.
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_NON_LETTERS = bytes(code for code in range(128) if not chr(code).isalpha())
_CHINESE_PARAGRAPH = 30


def detect_language(text: str) -> str:
    """ "zh" when Chinese characters make up a meaningful share of the text, else "en".

    Counted with regular expressions, not a Python loop over every character: this
    runs on every mail, long ones included (a loop was a tenth of the parse stage)."""
    sample = text[:20_000]
    cjk = len(_CJK.findall(sample))
    # A paragraph of Chinese is Chinese, whatever English it quotes. A few characters
    # are not: an English mail signed with a Chinese name and address, or naming
    # 支付宝, is answered in English (before, 5 characters made any mail Chinese).
    if cjk >= _CHINESE_PARAGRAPH:
        return "zh"
    ascii_letters = len(sample.encode("ascii", "ignore").translate(None, _ASCII_NON_LETTERS))
    letters = ascii_letters + sum(1 for char in _NOT_ASCII.findall(sample) if char.isalpha())
    if letters and cjk / letters >= 0.10:
        return "zh"
    return "en"

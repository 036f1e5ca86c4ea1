"""The language a mail is written in, to choose the acknowledgement's language.

Only the two languages the service answers in are told apart; a simple share
of Chinese characters is enough for that and needs no model or dictionary.
"""

from __future__ import annotations


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FFFF
    )


def detect_language(text: str) -> str:
    """ "zh" when Chinese characters make up a meaningful share of the text, else "en"."""
    sample = text[:20_000]
    cjk = sum(1 for char in sample if _is_cjk(char))
    letters = sum(1 for char in sample if char.isalpha())
    if cjk >= 5 or (letters and cjk / letters >= 0.10):
        return "zh"
    return "en"

"""The amount patterns of stages/evidence_amounts.py are written for the regex engine's
speed (a first-character test in front, a digit in front of a lookbehind); they must
find what the plain patterns find, match for match and group for group, on any text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.stages import evidence_amounts
from inbox_agent.stages.evidence_amounts import AMOUNT_PATTERN

PLAIN_AMOUNT = re.compile(AMOUNT_PATTERN, re.IGNORECASE)
PLAIN_BARE_AMOUNT = re.compile(
    r"(?<![\d.,:/-])(\d{1,3}(?:,\d{3})+(?:\.\d{2})?|\d+\.\d{2})(?![\d:/-]|\.\d|[号日])"
)

PIECES = st.sampled_from(
    ["1", "12", "1,234", "1,234.56", "0.5", "3.50", "100", "2026.11.18", "11.18号", "12:30", "1/2", "-",
     "12,50", "1.234,56", "1.234", "0,9",
     "$", "US$", "HK$", "nt$", "¥", "€", "£", "RMB", "usd", "Eur", "gbp", "元", "块钱", "美元", "dollars",
     "euro", "a", "x", " ", "\n", ".", ",", "付款", "refund", "Ⅻ", "٣", "K", "ſ"]
)  # fmt: skip
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=30).map("".join)


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(match.span(), match.groups()) for match in pattern.finditer(text)]


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
def test_amount_pattern_finds_what_the_plain_pattern_finds(text: str) -> None:
    assert _matches(evidence_amounts._AMOUNT, text) == _matches(PLAIN_AMOUNT, text)


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
def test_bare_amount_pattern_finds_what_the_plain_pattern_finds(text: str) -> None:
    assert _matches(evidence_amounts._BARE_AMOUNT, text) == _matches(PLAIN_BARE_AMOUNT, text)


def test_first_character_test_lets_every_possible_start_through() -> None:
    # Under IGNORECASE a letter may match more than its two cases; the class in front
    # must accept every character that a currency prefix or a digit can start with.
    starts = [re.compile(re.escape(word[0]), re.IGNORECASE) for word in evidence_amounts._PREFIX_CURRENCY]
    starts.append(re.compile(r"\d"))
    front = re.compile(rf"[\d{evidence_amounts._AMOUNT_STARTS}]", re.IGNORECASE)
    for code in [*range(0x3000), *range(0xFF00, 0xFFF0), 0x212A, 0x17F, 0x130, 0x131]:
        char = chr(code)
        if any(start.match(char) for start in starts):
            assert front.match(char), hex(code)

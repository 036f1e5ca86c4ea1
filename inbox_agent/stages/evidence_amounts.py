"""Amounts of money in a complaint: value, currency, and whether it is the expected one.

An amount needs a currency next to it ("¥100", "100元", "USD 5") or must look
like money (thousands separators or cents) near a money word, so order numbers
and dates are not read as amounts. "It should have been 50" marks the amount as
what the customer *expected*, which the "wrong charge" category asks for apart
from what was actually charged. The categorizer uses :func:`find_amounts` too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from inbox_agent.stages.evidence_text import FoldedText

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_PREFIX_CURRENCY = {
    "hk$": "HKD",
    "nt$": "TWD",
    "us$": "USD",
    "rmb": "CNY",
    "cny": "CNY",
    "usd": "USD",
    "eur": "EUR",
    "hkd": "HKD",
    "twd": "TWD",
    "ntd": "TWD",
    "gbp": "GBP",
    "$": "USD",
    "¥": "CNY",
    "€": "EUR",
    "£": "GBP",
}
_SUFFIX_CURRENCY = {
    "元": "CNY",
    "块钱": "CNY",
    "块": "CNY",
    "人民币": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "usd": "USD",
    "eur": "EUR",
    "hkd": "HKD",
    "twd": "TWD",
    "ntd": "TWD",
    "gbp": "GBP",
    "dollars": "USD",
    "dollar": "USD",
    "euros": "EUR",
    "euro": "EUR",
    "港币": "HKD",
    "港元": "HKD",
    "新台币": "TWD",
    "台币": "TWD",
    "美元": "USD",
    "美金": "USD",
    "欧元": "EUR",
}


def _alternation(words: Mapping[str, str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_AMOUNT = re.compile(
    rf"(?<![A-Za-z\d.,])(?P<pre>{_alternation(_PREFIX_CURRENCY)})\s?(?P<n1>{_NUMBER})(?![\d])"
    rf"|(?<![\d.,])(?P<n2>{_NUMBER})\s?(?P<suf>{_alternation(_SUFFIX_CURRENCY)})(?![A-Za-z])",
    re.IGNORECASE,
)
# A bare number counts as an amount only when it looks like money (thousands
# separators or cents) and a money word is close by.
_BARE_AMOUNT = re.compile(r"(?<![\d.,:/-])(\d{1,3}(?:,\d{3})+(?:\.\d{2})?|\d+\.\d{2})(?![\d:/-])")
_MONEY_WORDS = re.compile(
    r"amount|paid|pay|charg|price|total|balance|refund|sent|transfer|withdr|deduct|cost|"
    r"金额|扣|付|支付|转账|收费|退|余额|提现|价",
    re.IGNORECASE,
)
_EXPECTED_BEFORE = re.compile(
    r"(should (?:have )?(?:be|been|cost|pay|charge[sd]?)|expected|supposed to be|instead of|"
    r"correct amount(?: is| was)?|only|应该是|应该为|应该扣|应为|应扣|应付|应收|本应|本来是|原价|标价|实际应)"
    r"[^\n,;.!?，。；！？\d$¥€£]{0,12}$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str  # ISO code, "" when the text does not say
    start: int
    end: int
    expected: bool = False  # the text says the amount is what it *should* have been

    def __str__(self) -> str:
        text = f"{self.value:.2f}"
        return f"{text} {self.currency}" if self.currency else text


def _decimal(number: str) -> Decimal | None:
    try:
        return Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None


# The categorizer (severity) and evidence extraction read the amounts of the same mail
# one after the other; the second gets the first's answer (equal texts, immutable result).
# Two entries: a worker analyses one mail at a time, and a long text is not kept long.
@lru_cache(maxsize=2)
def amounts_in(text: FoldedText) -> tuple[Amount, ...]:
    found: list[Amount] = []
    for match in _AMOUNT.finditer(text.folded):
        number = match.group("n1") or match.group("n2")
        code = match.group("pre") or match.group("suf")
        currency = (
            _PREFIX_CURRENCY.get(code.lower()) if match.group("pre") else _SUFFIX_CURRENCY[code.lower()]
        )
        value = _decimal(number)
        if value is not None and currency:
            found.append(Amount(value, currency, match.start(), match.end()))
    taken = [(a.start, a.end) for a in found]
    for match in _BARE_AMOUNT.finditer(text.folded):
        if any(s <= match.start() < e for s, e in taken):
            continue
        window = text.folded[max(0, match.start() - 25) : match.end() + 10]
        value = _decimal(match.group(1))
        if value is not None and _MONEY_WORDS.search(window):
            found.append(Amount(value, "", match.start(), match.end()))
    found.sort(key=lambda a: a.start)
    return tuple(_mark_expected(text, amount) for amount in found)


def _mark_expected(text: FoldedText, amount: Amount) -> Amount:
    line_start = max(text.folded.rfind("\n", 0, amount.start) + 1, amount.start - 30)
    before = text.folded[line_start : amount.start]
    if _EXPECTED_BEFORE.search(before):
        return Amount(amount.value, amount.currency, amount.start, amount.end, expected=True)
    return amount


def find_amounts(subject: str, text: str) -> tuple[Amount, ...]:
    """Every amount of money in subject and text, in order of appearance."""
    return amounts_in(FoldedText.of(subject, text))

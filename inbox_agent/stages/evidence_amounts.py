"""Amounts of money in a complaint: value, currency, and whether it is the expected one.

An amount needs a currency next to it ("¥100", "100元", "USD 5") or must look
like money (thousands separators or cents) near a money word, so order numbers
and dates are not read as amounts. "It should have been 50" marks the amount as
what the customer *expected*, which the "wrong charge" category asks for apart
from what was actually charged. The categorizer uses :func:`find_amounts` too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from inbox_agent.stages.chinese_numbers import BIG, HAS_NUMERAL, NUMERAL, UNITS, chinese_value
from inbox_agent.stages.evidence_text import FoldedText

# "1,234.56" and, as most of Europe writes it, "1.234,56" and "12,50": a comma followed
# by one or two digits is a decimal comma (thousands come in threes). A number never
# ends just before a separator and a digit, so "€12,50" is not read as 12 EUR.
_NUMBER = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?)(?![.,]?\d)"
)
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
    "塊钱": "CNY",  # Traditional 塊 is not folded (rules_text.py): the categorizer's features
    "塊": "CNY",  # are read through that fold, and this is the only place 塊 matters
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
    "€": "EUR",  # "12,50 €": where most of Europe writes the sign
}


def _alternation(words: Mapping[str, str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


AMOUNT_PATTERN = (
    rf"(?<![A-Za-z\d.,])(?P<pre>{_alternation(_PREFIX_CURRENCY)})\s?(?P<n1>{_NUMBER})(?![\d])"
    rf"|(?<![\d.,])(?P<n2>{_NUMBER})\s?(?P<suf>{_alternation(_SUFFIX_CURRENCY)})(?![A-Za-z])"
)
# The engine tries the pattern at every character (half of severity's time): a match
# starts with a digit or a currency prefix's first character, so one class test turns
# the other characters away before the two lookbehinds and ~15 prefixes are tried.
# The same matches (a necessary condition, under the same IGNORECASE folding): the
# plain pattern is kept, tests/test_amount_patterns.py compares the two.
_AMOUNT_STARTS = "".join(sorted({re.escape(word[0]) for word in _PREFIX_CURRENCY}))
_AMOUNT = re.compile(rf"(?=[\d{_AMOUNT_STARTS}])(?:{AMOUNT_PATTERN})", re.IGNORECASE)
# A bare number counts as an amount only when it looks like money (thousands
# separators or cents) and a money word is close by; never a part of a dotted date
# ("2026.11.18") or a day ("11.18号").
# Read as r"(?<![\d.,:/-])(\d{1,3}(?:,\d{3})+(?:\.\d{2})?|\d+\.\d{2})(?![\d:/-]|\.\d|[号日])",
# written with the first digit in front of the lookbehind (which then looks at the
# character before that digit): a pattern starting with a digit class is searched by a
# C scan for digits instead of one attempt per character (3-4x faster). Same matches.
_BARE_AMOUNT = re.compile(
    r"(\d(?<![\d.,:/-]\d)(?:\d{0,2}(?:,\d{3})+(?:\.\d{2})?|\d*\.\d{2}))(?![\d:/-]|\.\d|[号日])"
)
# Chinese amounts: "两千元", "五百块", "叁佰元", "1.5万", "2千块钱". Numerals alone need a
# currency word after them, and "块" a unit before it ("一块" is also "together").
# "转了1.5万没到账": "1.5万" with no currency is money when a money word, or one of
# these, is close by.
_CN_MONEY_WORDS = re.compile(r"转|到账|钱|款|充值|刷")
_MEASURE_WORDS = frozenset("次人个笔条件天年月日号分秒时名位家张单户步公里米")
_CN_AMOUNT = re.compile(
    rf"(?<![\d.,{NUMERAL[1:-1]}])"
    rf"(?:(?P<digits>\d+(?:\.\d+)?)(?P<unit>[千万亿])|(?P<words>{NUMERAL}+))"
    r"(?P<suf>元|块钱|块|塊钱|塊|人民币)?"
)
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


_DECIMAL_COMMA = re.compile(r"\d*,\d{1,2}")


def _decimal(number: str) -> Decimal | None:
    """``_NUMBER``'s text as a value: the separator before the last one or two digits is
    the decimal one, the others group thousands ("1.234,56", "1,234.56", "12,50", "1.234")."""
    if _DECIMAL_COMMA.fullmatch(number.replace(".", "")):
        number = number.replace(".", "").replace(",", ".")
    elif "." in number and "," not in number and not re.fullmatch(r"\d*\.\d{1,2}", number):
        number = number.replace(".", "")  # "1.234" and "1.234.567": thousands
    try:
        return Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None


# The categorizer (severity) and evidence extraction read the amounts of the same mail
# one after the other; the second gets the first's answer (equal texts, immutable result).
# Two entries: a worker analyses one mail at a time, and a long text is not kept long.
@lru_cache(maxsize=2)
def amounts_in(text: FoldedText) -> tuple[Amount, ...]:
    found: list[Amount] = list(_chinese_amounts(text.folded))
    for match in text.finditer(_AMOUNT):
        number = match.group("n1") or match.group("n2")
        code = match.group("pre") or match.group("suf")
        currency = (
            _PREFIX_CURRENCY.get(code.lower()) if match.group("pre") else _SUFFIX_CURRENCY[code.lower()]
        )
        value = _decimal(number)
        if value is not None and currency:
            found.append(Amount(value, currency, match.start(), match.end()))
    found = _without_overlaps(found)
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


def first_amount(amounts: Sequence[Amount]) -> Amount | None:
    """The amount to report: the first one with a currency, else the first bare one
    ("11.18 转账 200 元" is about 200 CNY, whatever 11.18 is)."""
    marked = [amount for amount in amounts if amount.currency]
    return (marked or list(amounts) or [None])[0]


def _chinese_amounts(folded: str) -> Iterator[Amount]:
    if not HAS_NUMERAL.search(folded):
        return
    for match in _CN_AMOUNT.finditer(folded):
        suffix, words = match.group("suf"), match.group("words")
        if words is not None:
            bare_kuai = suffix in ("块", "塊")  # "一块" is also "together"
            if not suffix or (bare_kuai and not any(ch in UNITS or ch in BIG for ch in words)):
                continue
            value = _cn_value(words)
        else:
            window = folded[max(0, match.start() - 25) : match.end() + 10]
            counted = folded[match.end() : match.end() + 1] in _MEASURE_WORDS  # "1.5万次", "2万人"
            if not suffix and (
                counted or not (_MONEY_WORDS.search(window) or _CN_MONEY_WORDS.search(window))
            ):
                continue
            unit = match.group("unit")
            value = _decimal(match.group("digits"))
            value = value * (BIG.get(unit) or UNITS["千"]) if value is not None else None
        if value:
            yield Amount(value, "CNY", match.start(), match.end())


def _cn_value(words: str) -> Decimal | None:
    value = chinese_value(words)
    return Decimal(value) if value else None


def _without_overlaps(amounts: list[Amount]) -> list[Amount]:
    """Where a Chinese amount and another overlap ("2千元" found twice), the longer wins."""
    kept: list[Amount] = []
    for amount in sorted(amounts, key=lambda a: (a.start, -(a.end - a.start))):
        if kept and amount.start < kept[-1].end:
            continue
        kept.append(amount)
    return kept


def _mark_expected(text: FoldedText, amount: Amount) -> Amount:
    line_start = max(text.folded.rfind("\n", 0, amount.start) + 1, amount.start - 30)
    before = text.folded[line_start : amount.start]
    if _EXPECTED_BEFORE.search(before):
        return Amount(amount.value, amount.currency, amount.start, amount.end, expected=True)
    return amount


def find_amounts(subject: str, text: str) -> tuple[Amount, ...]:
    """Every amount of money in subject and text, in order of appearance."""
    return amounts_in(FoldedText.of(subject, text))

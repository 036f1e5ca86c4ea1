"""Numbers written in Chinese characters: 十八, 二十八, 两千零五, 叁佰, 一万二.

Customers write amounts ("两千元"), days ("十八号"), hours ("下午三点") and spans
("三天前") this way as often as in digits; the evidence finders read both.
"""

from __future__ import annotations

import re

DIGITS = {
    **dict.fromkeys("零〇", 0),
    **dict.fromkeys("一壹", 1),
    **dict.fromkeys("二两贰貳", 2),
    **dict.fromkeys("三叁參", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆陸", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
}
UNITS = {**dict.fromkeys("十拾", 10), **dict.fromkeys("百佰", 100), **dict.fromkeys("千仟", 1000)}
BIG = {"万": 10_000, "亿": 100_000_000}
# One character class of every numeral character, for building patterns.
NUMERAL = "[" + "".join(DIGITS) + "".join(UNITS) + "".join(BIG) + "]"
HAS_NUMERAL = re.compile(NUMERAL)


def chinese_value(words: str) -> int:
    """The value of a written Chinese number: "两千五" 2500, "两千零五" 2005, "一万二"
    12000, "十五" 15, "二十八" 28; 0 for "零" (or nothing)."""
    total, section, number, last_unit = 0, 0, 0, 0
    for char in words:
        if char in DIGITS:
            number = DIGITS[char]
            if number == 0:  # "零": the digit that follows counts units, not a tenth
                last_unit = 0
        elif char in UNITS:
            unit = UNITS[char]
            section += (number or (1 if unit == 10 else 0)) * unit
            number, last_unit = 0, unit
        else:
            big = BIG[char]
            total += (section + number) * big
            section, number, last_unit = 0, 0, big
    if number and last_unit >= 100:  # "两千五": the digit after a unit counts a tenth of it
        number *= last_unit // 10
    return total + section + number

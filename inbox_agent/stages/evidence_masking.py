"""Card and identity-card numbers masked in every evidence value.

Customers paste full card numbers and identity numbers into complaints; the
evidence we store, log and show staff keeps only the last four characters (the
last three of a Hong Kong number, its check digit included). A card number is
recognised by the Luhn check, so most long transaction ids (which fail it) stay
readable. The identity numbers are mainland China's 18-character resident
number (with its check digit), Taiwan's and Hong Kong's.

The Luhn check is shared with :mod:`inbox_agent.domain.mask`, which masks log
lines and notifications, so both agree on what a card number is.
"""

from __future__ import annotations

import re

from inbox_agent.domain.mask import luhn_valid

_DIGIT_RUN = re.compile(r"(?<![\d*])\d(?:[ -]?\d){12,18}(?![\d*])")
_CN_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_TW_ID = re.compile(r"(?<![A-Za-z\d])[A-Z][12]\d{8}(?!\d)")
_HK_ID = re.compile(r"(?<![A-Za-z\d])[A-Z]{1,2}\d{6}\([\dA]\)")


def _cn_id_ok(number: str) -> bool:
    """ISO 7064 MOD 11-2 check digit of the 18-character resident identity number."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _keep_last4(text: str) -> str:
    """Star every letter and digit but the last four; separators stay ("**** **** **** 0366")."""
    keep_from = [i for i, char in enumerate(text) if char.isalnum()][-4:][0]
    return "".join("*" if char.isalnum() and i < keep_from else char for i, char in enumerate(text))


def mask_sensitive(text: str) -> str:
    """Mask card numbers (13-19 digits passing Luhn) and identity-card numbers.

    Every real card number passes the Luhn check, so it is always masked, while most
    long transaction ids (which do not) stay readable. The last four characters are
    kept so a customer and staff can still tell which card is meant.
    """

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return _keep_last4(match.group()) if luhn_valid(digits) else match.group()

    def cn_id(match: re.Match[str]) -> str:
        return _keep_last4(match.group()) if _cn_id_ok(match.group()) else match.group()

    text = _CN_ID.sub(cn_id, text)
    text = _DIGIT_RUN.sub(card, text)
    text = _TW_ID.sub(lambda m: _keep_last4(m.group()), text)
    return _HK_ID.sub(lambda m: "*" * (len(m.group()) - 3) + m.group()[-3:], text)


def is_card_or_id(token: str) -> bool:
    return mask_sensitive(token) != token

"""Card and identity-card numbers masked in every evidence value.

Customers paste full card numbers and identity numbers into complaints; the
evidence we store, log and show staff keeps only the last four characters (the
last three of a Hong Kong number, its check digit included), so a customer and
staff can still tell which card is meant.

What a card number or an identity number *is* is defined once, in
:mod:`inbox_agent.domain.mask` (``card_spans``, ``identity_spans``), which masks
what staff see: the same separators (line breaks, dots, slashes, dashes, commas),
full-width digits and digits written as Chinese numerals, the same identity
documents. This module only chooses how a found number looks here. Two choices
differ: here a card number must pass the Luhn check, as the staff masker asks
after an order or transaction keyword, since evidence values are mostly such ids
(a transaction id that fails the check stays readable), and a mainland ID number
without its keyword must pass its check digit, so an 18-digit order id with a date
inside stays readable.
"""

from __future__ import annotations

from inbox_agent.domain.mask import card_spans, fold, identity_spans
from inbox_agent.domain.mask_patterns import HKID


def _starred(text: str, folded: str, begin: int, end: int, keep: int) -> str:
    """``text`` with every letter and digit of ``begin:end`` starred but the last
    ``keep``; separators stay ("**** **** **** 0366"). Letters and digits are judged on
    the folded text, where a Chinese numeral is a digit."""
    positions = [i for i in range(begin, end) if folded[i].isalnum()]
    hidden = set(positions[: max(0, len(positions) - keep)])
    return "".join("*" if i in hidden else char for i, char in enumerate(text[begin:end], begin))


def _mask_spans(text: str, folded: str, spans: list[tuple[int, int]], hk_rule: bool) -> tuple[str, str]:
    """Both texts with the numbers at ``spans`` starred, still character for character."""
    for begin, end in spans:
        if hk_rule and HKID.fullmatch(folded, begin, end):
            # "A123456(7)" keeps its last three characters: the check digit in its brackets.
            text = text[:begin] + "*" * (end - begin - 3) + text[end - 3 :]
            folded = folded[:begin] + "*" * (end - begin - 3) + folded[end - 3 :]
            continue
        text = text[:begin] + _starred(text, folded, begin, end, 4) + text[end:]
        folded = folded[:begin] + _starred(folded, folded, begin, end, 4) + folded[end:]
    return text, folded


def mask_sensitive(text: str) -> str:
    """Mask card numbers (13-19 digits passing Luhn) and identity-card numbers.

    Every real card number passes the Luhn check, so it is always masked, while most
    long transaction ids (which do not) stay readable. The last four characters are
    kept so a customer and staff can still tell which card is meant.
    """
    folded = fold(text)  # the same length as text: a span in one is the span in the other
    text, folded = _mask_spans(text, folded, identity_spans(folded, checked=True), hk_rule=True)
    # The identity numbers are starred first, so none of their digits is read as a card.
    text, _ = _mask_spans(text, folded, card_spans(folded, luhn_only=True), hk_rule=False)
    return text


def is_card_or_id(token: str) -> bool:
    return mask_sensitive(token) != token

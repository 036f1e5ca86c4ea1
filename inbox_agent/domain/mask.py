"""Mask personal data in text that leaves the case file: logs, staff notifications,
the staff page and ``show``. The one masking module: every such output calls
``mask_text`` (the patterns are spelled in ``mask_patterns``).

Customers paste card numbers, ID numbers, one-time codes and even passwords into
complaints. The raw mail keeps them (it is evidence, stored 0600); everything we
*show* or *log* goes through ``mask_text`` first. Rules, chosen to mask too much
rather than too little:

- No ``\\b``: it does not fire between a CJK character and a digit ("验证码是482913"),
  so candidates are delimited by "no digit (or letter) next to it" instead.
- A card number is 13-19 digits that starts like a card (2-6: Mastercard, Amex/JCB/
  Diners, Visa, UnionPay/Discover) *or* passes the Luhn check — a mistyped card number
  is still a card number. Its groups may be apart by spaces, dashes, dots, slashes,
  underscores or a line break ("4111 1111\\n1111 1111"); every group but the last holds
  three digits or more, so two dates side by side are no card. Glued to a capital
  letter ("TX2026111900042") it is an id; after an order, transaction or reference keyword it
  is a card only if it passes the Luhn check.
- One-time codes, passwords, PINs, CVVs and expiry dates after their English or
  Chinese keyword, with or without a separator ("验证码482913", "password: x",
  "密码是Abc12345", "验证码| 918273", a value alone on the line after its keyword);
  a second code later in the same sentence; "code" alone only with "is"/"was"/a colon
  after it. A date, an amount, a length ("6 digits") or a count ("4 times") is no code.
- Mainland resident ID numbers (18 characters, 6-8-4 together or apart) anywhere,
  Hong Kong ID card numbers ("A123456(7)") anywhere, IBANs anywhere (mod-97 checked),
  and any identity document's number after its keyword (Taiwan ID, passport,
  home-return permit); mainland and international phone numbers, bank account numbers
  after their keyword.
- Full-width digits and letters count as the ASCII ones ("验证码：４８２９１３").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from inbox_agent.domain import mask_patterns as p

MASKED = "[masked]"
SECRET_BEFORE = p.SECRET_BEFORE
_MASKED_MORE = r"\1" + MASKED.replace("\\", "\\\\")

# Full-width digits, letters, "+" and "-" (U+FF0B-FF5A) and the ideographic space, as
# their ASCII twins: "手机号１３８１２３４５６７８", "密码：Ａｂｃ１２３４５".
_HALF_WIDTH = {
    **{code: code - 0xFEE0 for code in (0xFF0B, 0xFF0D)},
    **{code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)},
    **{code: code - 0xFEE0 for code in range(0xFF21, 0xFF3B)},
    **{code: code - 0xFEE0 for code in range(0xFF41, 0xFF5B)},
    0x3000: 0x20,
}


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_card(digits: str) -> bool:
    """13-19 digits that start like a card, or pass the Luhn check."""
    return 13 <= len(digits) <= 19 and (digits[0] in "23456" or luhn_valid(digits))


def iban_valid(iban: str) -> bool:
    """The ISO 13616 check: the country and check digits moved to the end, letters as
    10-35, the number mod 97 is 1."""
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


def _mask_iban(match: re.Match[str]) -> str:
    # A word after the number may have been taken as its last group: try without it.
    text = match.group(0)
    candidate = text
    while True:
        if iban_valid(candidate):
            compact = candidate.replace(" ", "")
            return f"[IBAN {compact[:2]} ****{compact[-4:]}]{text[len(candidate) :]}"
        if " " not in candidate:
            return text
        candidate = candidate.rsplit(" ", 1)[0]


def _card_at(groups: list[str], first: int, id_before: Callable[[], bool]) -> int:
    """The index after the last group of the longest card number starting at group
    ``first``, or -1: 13-19 digits, every group but the last three digits or more.
    After an order, transaction or reference keyword it must pass the Luhn check."""
    best, count = -1, 0
    for last in range(first, len(groups)):
        size = len(groups[last])
        count += size
        if count > 19:
            break
        if count >= 13:
            digits = "".join(groups[first : last + 1])
            if looks_like_card(digits) and (first > 0 or luhn_valid(digits) or not id_before()):
                best = last + 1
        if size < 3:
            break
    return best


def _mask_cards_in_run(run: re.Match[str]) -> str:
    text, start = run.group(0), run.start()
    if text.isdigit():  # one group, the common case
        if looks_like_card(text) and (luhn_valid(text) or not _id_before(run.string, start)):
            return f"[card ****{text[-4:]}]"
        return text
    spans = [group.span() for group in p.GROUP.finditer(text)]
    groups = [text[begin:end] for begin, end in spans]
    pieces: list[str] = []
    done, first = 0, 0
    while first < len(groups):
        end = _card_at(groups, first, lambda: _id_before(run.string, start))
        if end < 0:
            first += 1
            continue
        pieces.append(text[done : spans[first][0]])
        pieces.append(f"[card ****{''.join(groups[first:end])[-4:]}]")
        done, first = spans[end - 1][1], end
    pieces.append(text[done:])
    return "".join(pieces)


def _id_before(text: str, start: int) -> bool:
    return bool(p.ID_BEFORE.search(text, max(0, start - 30), start))


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[phone ***{digits[-4:]}]"


def _keyword_masked(match: re.Match[str]) -> str:
    return f"{match.group(1)} {MASKED}"


def _code_word_masked(match: re.Match[str]) -> str:
    if p.NOT_A_SECRET_CODE.search(match.string, max(0, match.start() - 20), match.start()):
        return match.group(0)
    return _keyword_masked(match)


def mask_text(text: str) -> str:
    """Every secret the module docstring lists replaced by a marker that keeps what
    staff need (the kind, the last four digits of a card or phone) and nothing more."""
    if not text:
        return text
    folded = text.translate(_HALF_WIDTH)
    if folded == text:
        return _masked(text)
    # Full-width letters and digits (a Chinese input method's full-width mode) are read
    # as the ASCII ones. The text comes back folded only where something was masked:
    # a text with nothing to mask is shown exactly as the customer wrote it.
    masked = _masked(folded)
    return text if masked == folded else masked


def _masked(text: str) -> str:
    if not p.DIGIT.search(text):
        # Every secret but a password holds a digit (subjects and notes often hold none).
        return p.PASSWORD.sub(_keyword_masked, text)
    lower = text.lower()
    text = p.OTP.sub(_keyword_masked, text)
    if "code" in lower:
        text = p.CODE_WORD.sub(_code_word_masked, text)
    if MASKED in text:
        for _ in range(3):  # a second and a third code in the same sentence as a code
            text, found = p.OTP_MORE.subn(_MASKED_MORE, text)
            if not found:
                break
    text = p.CVV.sub(_keyword_masked, text)
    if "exp" in lower or "valid" in lower or "good thru" in lower or "有效期" in text:
        text = p.EXPIRY.sub(_keyword_masked, text)
    text = p.OTP_FIRST.sub(MASKED, text)
    text = p.PASSWORD.sub(_keyword_masked, text)
    return _masked_numbers(text)


def _masked_numbers(text: str) -> str:
    text = p.CN_ID.sub("[id number masked]", text)
    text = p.ID_AFTER.sub(lambda m: f"{m.group(1)} [id number masked]", text)
    text = p.HKID.sub("[id number masked]", text)
    text = p.IBAN.sub(_mask_iban, text)
    text = p.BANK_ACCOUNT.sub(
        lambda m: f"{m.group(1)} [account ****{re.sub(r'[^0-9]', '', m.group(2))[-4:]}]", text
    )
    text = p.PHONE_CN.sub(_mask_phone, text)
    text = p.PHONE_INTL.sub(_mask_phone, text)
    return p.DIGIT_RUN.sub(_mask_cards_in_run, text)


class MaskingFilter(logging.Filter):
    """Attached to the root handlers: every record, from any library, is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = p.SECRET_KV.sub(lambda m: f"{m.group(1)}{m.group(2)}********", mask_text(message))
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, masked, so no credential in an exception text leaks.
            formatter = logging.Formatter()
            record.exc_text = mask_text(formatter.formatException(record.exc_info))
            record.exc_info = None
        record.msg = masked
        record.args = None
        return True

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
  Diners, Visa, UnionPay/Discover; not 20, where an id starting with a date does) *or*
  passes the Luhn check — a mistyped card number is still a card number. Its groups may
  be apart by spaces, dashes, dots, slashes, underscores or a line break ("4111
  1111\\n1111 1111"); every group but the last holds three digits or more, so two dates
  side by side are no card. Apart by commas, semicolons or "、" ("4111,1111,1111,1111")
  its groups hold four digits and it passes the Luhn check, so a list of numbers is no
  card. Glued to a capital letter ("TX2026111900042") it is an id;
  after an order, transaction or reference keyword it is a card only if it passes the
  Luhn check. ``card_spans`` and ``identity_spans`` are the one definition of a card and
  an identity number: the evidence extractor masks with them too.
- One-time codes (OTP, 2FA/MFA, token), passwords ("pass:" too), PINs, CVVs and expiry dates after their English or
  Chinese keyword, with or without a separator ("验证码482913", "password: x",
  "密码是Abc12345", "验证码| 918273", a value alone on the line after its keyword);
  a second code later in the same sentence; "code" alone only with "is"/"was"/a colon
  after it, or right before six digits ("the code 482913 did not work", "SMS 482913"),
  unless the word before makes it evidence ("error code", "promo code"); a code as its
  text message reads, pasted or retold ("Use 482913 to verify", "I received 482913 by
  SMS"). A date, an amount, a length ("6 digits") or a count ("4 times") is no code.
- A code named by its length alone ("the six digits 482913", "6位数字482913").
- Answers to secret questions (English and Chinese), recovery and backup codes, and a wallet's seed phrase
  (the rest of its line: every word of it is the secret).
- Mainland resident ID numbers (18 characters, 6-8-4 together or apart) anywhere,
  Hong Kong ID card numbers ("A123456(7)") anywhere, Taiwan ID card numbers anywhere
  (check digit checked), IBANs anywhere (mod-97 checked),
  and any identity document's number after its keyword (Taiwan ID, passport,
  home-return permit); mainland and international phone numbers, bank account numbers
  after their keyword.
- Full-width digits and letters count as the ASCII ones ("验证码：４８２９１３"), and so do
  digits written as Chinese numerals ("验证码是四八二九一三", "肆捌贰玖壹叁"), in runs of four or more.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from inbox_agent.domain import mask_patterns as p

MASKED = "[masked]"
SECRET_BEFORE = p.SECRET_BEFORE
_MASKED_MORE = r"\1" + MASKED.replace("\\", "\\\\")
_ID_MASKED = "[id number masked]"

# Full-width digits, letters, "+" and "-" (U+FF0B-FF5A) and the ideographic space, as
# their ASCII twins: "手机号１３８１２３４５６７８", "密码：Ａｂｃ１２３４５".
_HALF_WIDTH = {
    **{code: code - 0xFEE0 for code in (0xFF0B, 0xFF0D)},
    **{code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)},
    **{code: code - 0xFEE0 for code in range(0xFF21, 0xFF3B)},
    **{code: code - 0xFEE0 for code in range(0xFF41, 0xFF5B)},
    0x3000: 0x20,
}
_CN_DIGITS = str.maketrans(p.CN_NUMERALS, "001123456789122334566789")
# Taiwan ID: the first letter's two-digit value (not alphabetical: I, O, W, Z are late).
_TW_LETTERS = {letter: 10 + n for n, letter in enumerate("ABCDEFGHJKLMNPQRSTUVXYWZIO")}


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
    """13-19 digits that start like a card, or pass the Luhn check. No card number starts
    with 20 (Mastercard's 2-series is 2221-2720), while many ids start with a date
    ("2026111912345678"): those are cards only if they pass the check."""
    if not 13 <= len(digits) <= 19:
        return False
    return (digits[0] in "3456" or (digits[0] == "2" and digits[1] != "0")) or luhn_valid(digits)


def iban_valid(iban: str) -> bool:
    """The ISO 13616 check: the country and check digits moved to the end, letters as
    10-35, the number mod 97 is 1."""
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


def tw_id_valid(number: str) -> bool:
    """The check of a Taiwan ID card number ("A123456789"): the letter's value's two
    digits and the nine digits, weighted 1 9 8 7 6 5 4 3 2 1 1, sum to a multiple of 10."""
    value = _TW_LETTERS.get(number[:1].upper())
    if value is None or len(number) != 10 or not number[1:].isdigit():
        return False
    digits = [value // 10, value % 10, *map(int, number[1:])]
    return sum(d * w for d, w in zip(digits, (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1), strict=True)) % 10 == 0


def cn_id_valid(number: str) -> bool:
    """ISO 7064 MOD 11-2 check digit of a mainland resident identity number (18
    characters, its 6-8-4 parts together or apart)."""
    chars = number.replace(" ", "").replace("-", "")
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(chars[:17], weights, strict=True))
    return "10X98765432"[total % 11] == chars[17].upper()


def fold(text: str) -> str:
    """Full-width digits and letters as ASCII, and runs of digits written as Chinese
    numerals as digits; character for character, so a position in the folded text is
    the same position in ``text``."""
    if text.isascii():
        return text
    # (A search first: translating a text with nothing full-width costs more than it.)
    folded = text.translate(_HALF_WIDTH) if p.WIDE.search(text) else text
    return p.CN_NUMERAL_RUN.sub(_numerals_as_digits, folded)


def _numerals_as_digits(run: re.Match[str]) -> str:
    text, start = run.group(0), run.start()
    before = run.string[max(0, start - 3) : start]
    lead = len(before) - len(before.rstrip("0123456789"))  # "48二九": digits, then numerals
    # Four or more: "四八二九一三" is a code, "三四" ("three or four") a word.
    return text.translate(_CN_DIGITS) if lead + len(text) - text.count(" ") >= 4 else text


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


def _is_card(text: str, spans: list[tuple[int, int]], luhn_needed: Callable[[], bool]) -> bool:
    digits = "".join(text[begin:end] for begin, end in spans)
    if not looks_like_card(digits):
        return False
    between = text[spans[0][1] : spans[-1][0]]
    if any(separator in between for separator in p.LIST_SEPARATORS):
        # "4111,1111,1111,1111", not an amount (groups of three) nor a list of years that
        # happens to pass the check ("2015, 2016, 2017, 2018": no card starts with 19 or 20).
        return (
            all(end - begin == 4 for begin, end in spans[:-1])
            and digits[:2] not in ("19", "20")
            and luhn_valid(digits)
        )
    return luhn_valid(digits) or not luhn_needed()


def _card_at(text: str, spans: list[tuple[int, int]], first: int, luhn_needed: Callable[[], bool]) -> int:
    """The index after the last group of the longest card number starting at group
    ``first``, or -1: 13-19 digits, every group but the last three digits or more."""
    best, count = -1, 0
    for last in range(first, len(spans)):
        size = spans[last][1] - spans[last][0]
        count += size
        if count > 19:
            break
        if count >= 13 and _is_card(text, spans[first : last + 1], luhn_needed):
            best = last + 1
        if size < 3:
            break
    return best


def _cards_in_run(run: re.Match[str], luhn_only: bool) -> list[tuple[int, int]]:
    """The spans (in the whole text) of the card numbers in a run of digit groups. After
    an order, transaction or reference keyword (for the run's first card), or with
    ``luhn_only``, a card must pass the Luhn check."""
    text, start = run.group(0), run.start()

    def luhn_needed() -> bool:
        return luhn_only or _id_before(run.string, start)

    if text.isdigit():  # one group, the common case
        card = looks_like_card(text) and (luhn_valid(text) or not luhn_needed())
        return [run.span()] if card else []
    spans = [group.span() for group in p.GROUP.finditer(text)]
    found: list[tuple[int, int]] = []
    first = 0
    while first < len(spans):
        end = _card_at(text, spans, first, luhn_needed if first == 0 else lambda: luhn_only)
        if end < 0:
            first += 1
            continue
        found.append((start + spans[first][0], start + spans[end - 1][1]))
        first = end
    return found


def card_spans(text: str, *, luhn_only: bool = False) -> list[tuple[int, int]]:
    """Where the card numbers are in ``text`` (folded: see ``fold``), as the module
    docstring defines them; with ``luhn_only`` only those that pass the Luhn check (the
    evidence extractor's values are mostly ids, and an id that fails it stays readable)."""
    return [span for run in p.DIGIT_RUN.finditer(text) for span in _cards_in_run(run, luhn_only)]


def identity_spans(text: str, *, checked: bool = False) -> list[tuple[int, int]]:
    """Where the identity numbers are in ``text`` (folded), apart and in order: mainland,
    Hong Kong and Taiwan ID card numbers anywhere, any document's number after its keyword.
    With ``checked`` a mainland number without its keyword counts only when its check digit
    holds: an 18-digit order id with a date inside ("320102202611190456") stays an id."""
    spans = [match.span() for match in p.HKID.finditer(text)]
    spans += [match.span() for match in p.CN_ID.finditer(text) if not checked or cn_id_valid(match.group())]
    spans += [match.span() for match in p.TW_ID.finditer(text) if tw_id_valid(match.group())]
    spans += [match.span(2) for match in p.ID_AFTER.finditer(text)]
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if merged and begin < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def _mask_cards_in_run(run: re.Match[str]) -> str:
    spans = _cards_in_run(run, luhn_only=False)
    if not spans:
        return run.group(0)
    text, start = run.string, run.start()
    pieces: list[str] = []
    done = start
    for begin, end in spans:
        pieces.append(text[done:begin])
        pieces.append(f"[card ****{re.sub(r'[^0-9]', '', text[begin:end])[-4:]}]")
        done = end
    pieces.append(text[done : run.end()])
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


def _sms_code_masked(match: re.Match[str]) -> str:
    # "order no. 482913 by SMS": an order number the text message named, not a code.
    if _id_before(match.string, match.start()):
        return match.group(0)
    return MASKED


def mask_text(text: str) -> str:
    """Every secret the module docstring lists replaced by a marker that keeps what
    staff need (the kind, the last four digits of a card or phone) and nothing more."""
    if not text:
        return text
    folded = fold(text)
    if folded == text:
        return _masked(text)
    # Full-width letters and digits (a Chinese input method's full-width mode) and digits
    # as Chinese numerals are read as the ASCII ones. The text comes back folded only
    # where something was masked: a text with nothing to mask is shown exactly as the
    # customer wrote it.
    masked = _masked(folded)
    return text if masked == folded else masked


def _masked(text: str) -> str:
    lower = text.lower()
    if "phrase" in lower or "mnemonic" in lower or "助记词" in text or "助記詞" in text:
        text = p.SEED_PHRASE.sub(_keyword_masked, text)
    if "答案" in text:
        text = p.SECRET_ANSWER_ZH.sub(_keyword_masked, text)
    text = p.SPELLED_DIGITS.sub(MASKED, text)
    if not p.DIGIT.search(text):
        # Every secret but a password holds a digit (subjects and notes often hold none).
        return p.PASSWORD.sub(_keyword_masked, text)
    text = p.OTP.sub(_keyword_masked, text)
    if "use" in lower:
        text = p.USE_CODE.sub(_keyword_masked, text)
    if "digit" in lower or "位" in text:
        text = p.DIGITS_CODE.sub(_keyword_masked, text)
    if "sms" in lower or "text" in lower:
        text = p.CODE_BY_SMS.sub(_sms_code_masked, text)
    if "code" in lower:
        text = p.CODE_WORD.sub(_code_word_masked, text)
    if "sms" in lower or "短信" in text or "簡訊" in text or "简讯" in text:
        text = p.SMS_CODE.sub(_code_word_masked, text)
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
    text = p.CN_ID.sub(_ID_MASKED, text)
    text = p.ID_AFTER.sub(lambda m: f"{m.group(1)} {_ID_MASKED}", text)
    text = p.HKID.sub(_ID_MASKED, text)
    text = p.TW_ID.sub(lambda m: _ID_MASKED if tw_id_valid(m.group()) else m.group(), text)
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

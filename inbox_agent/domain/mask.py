"""Mask personal data in text that leaves the case file: logs, staff notifications,
the staff page and ``show``. The one masking module: every such output calls
``mask_text``.

Customers paste card numbers, ID numbers, one-time codes and even passwords into
complaints. The raw mail keeps them (it is evidence, stored 0600); everything we
*show* or *log* goes through ``mask_text`` first. Rules, chosen to mask too much
rather than too little:

- No ``\\b``: it does not fire between a CJK character and a digit ("验证码是482913"),
  so candidates are delimited by "no digit (or letter) next to it" instead.
- A card number is 13-19 digits (spaces or dashes between) that starts like a card
  (2-6: Mastercard, Amex/JCB/Diners, Visa, UnionPay/Discover) *or* passes the Luhn
  check — a mistyped card number is still a card number.
- One-time codes, passwords, PINs and CVVs after their English or Chinese keyword,
  with or without a separator ("验证码482913", "password: x", "密码是Abc12345").
- Mainland resident ID numbers (18 characters) anywhere, Hong Kong ID card numbers
  ("A123456(7)") anywhere, and any identity document's number after its keyword
  (Taiwan ID, passport, home-return permit); mainland and international phone
  numbers, bank account numbers after their keyword.
- Full-width digits and letters count as the ASCII ones ("验证码：４８２９１３").
"""

from __future__ import annotations

import logging
import re

MASKED = "[masked]"

_IS = r"(?:is|was|are|是|为|為)"
# Between a keyword and its value: "is", a colon or both ("验证码是：", "code was:"), a line
# break only after a colon ("Verification code:\n482913"), and an opening bracket or
# quote ("验证码：【482913】", "code (482913)").
_OPEN = "[\\[【(（「『\"“'‘<《]"
_CLOSE = "[\\]】)）」』\"”'’>》]"
_COLON = r"(?:[:：=][ \t]*(?:\r?\n[ \t]*)?)"  # a line break may follow a colon
_SEP = rf"[ \t]*(?:{_IS}[ \t]*)?(?:{_COLON}|[#-][ \t]*)?{_OPEN}?[ \t]*"
_EN = r"(?<![A-Za-z])"  # an English keyword starts at a non-letter (CJK, digit, start)
_OTP_WORDS = (
    rf"{_EN}(?:otp|one[- ]time (?:code|password|passcode)|verification code|sms code|security code|"
    rf"auth(?:entication)? code|confirmation code|dynamic code)|验证码|驗證碼|动态码|動態碼|校验码|校驗碼|短信码|确认码"
)
_PASSWORD_WORDS = rf"{_EN}(?:password|passwd|pwd|passcode|pin(?: code)?)|支付密码|登录密码|登錄密碼|交易密码|取款密码|密码|密碼"
_CVV_WORDS = rf"{_EN}(?:cvv2?|cvc2?|csc|card security code)|安全码|安全碼"
_CODE = r"(?:[A-Za-z]-?)?\d(?:[ -]?\d){3,7}"
_OTP = re.compile(rf"(?i)({_OTP_WORDS}){_SEP}({_CODE})(?!\d){_CLOSE}?")
# The code before its keyword, as most SMS put it: "482913 is your verification code",
# "482913（动态验证码）", "【钱包】482913为您的验证码", "482913 is your Wallet code". Only
# with a bracket or "is/为/是" in between, so an amount next to the word stays readable.
_YOURS = r"(?:your|the|my|您的|你的|我的|您|你)"
_BRAND = r"(?:(?!error|错误)[A-Za-z\u4e00-\u9fff]{1,12}[ \t]*)"
_OTP_FIRST = re.compile(
    rf"(?i)(?<![A-Za-z0-9.,$¥￥])(?<!\d[ -])({_CODE})(?![\d.,])(?=[ \t]*(?:"
    rf"[(（【\[][ \t]*{_BRAND}{{0,2}}?(?:{_OTP_WORDS})"
    rf"|{_IS}[ \t]*{_YOURS}?[ \t]*{_BRAND}{{0,2}}?(?:{_OTP_WORDS}|{_PASSWORD_WORDS})"
    rf"|{_IS}[ \t]*(?:your|您的|你的)[ \t]*{_BRAND}?(?:code|码)))"
)
_CVV = re.compile(rf"(?i)({_CVV_WORDS}){_SEP}(\d{{3,4}})(?!\d){_CLOSE}?")
# A password is any ASCII token after the keyword and a separator; without one it must
# hold a digit ("密码Abc12345"), so "password wrong", "密码错误" stay readable.
_PASSWORD = re.compile(
    rf"(?i)({_PASSWORD_WORDS})(?:[ \t]*(?:{_IS}[ \t]*{_COLON}?|{_COLON})[ \t]*{_OPEN}?[ \t]*"
    rf"(?![:：=])(?!(?:wrong|incorrect|invalid|not|expired|reset|changed|correct|right|blocked|locked)(?![A-Za-z]))"
    rf"([!-~]+)|[ \t]*{_OPEN}?[ \t]*(?=[!-~]*\d)([!-~]+)){_CLOSE}?"
)
_SECRET_KV = re.compile(r"(?i)(?<![A-Za-z])(password|token|secret|authorization)(\s*[=:]\s*)(\S+)")
_BANK_ACCOUNT = re.compile(
    r"(?i)((?<![A-Za-z])(?:account (?:number|no\.?)|acct(?: no\.?)?|iban)|银行账号|银行卡号|卡号|账号|帳號|账户|帳戶)"
    r"[ \t]*[:：=#]?[ \t]*(?:是|为)?[ \t]*(\d(?:[ -]?\d){7,29})(?!\d)"
)
# An identity document's number after its keyword: Hong Kong and Taiwan ID cards,
# passports, home-return permits, and a mainland number the pattern below misses.
_ID_WORDS = (
    rf"{_EN}(?:id (?:card )?(?:number|no\.?)|identity card(?: number| no\.?)?|hkid|passport(?: number| no\.?)?)"
    r"|身份证号码|身份证号|身份证|身份證號碼|身份證號|身份證|身分證字號|身分證號碼|身分證|证件号码|证件号|證件號碼|證件號"
    r"|护照号码|护照号|护照|護照號碼|護照號|護照|回乡证|回鄉證|通行证|通行證"
)
_ID_AFTER = re.compile(
    rf"(?i)({_ID_WORDS})[ \t]*(?:{_IS}[ \t]*)?{_COLON}?{_OPEN}?[ \t]*"
    r"([A-Za-z]{0,2}\d{5,17}[Xx]?(?:[(（][0-9Aa][)）])?)(?!\d)"
)
# A Hong Kong ID card number is unmistakable even without its keyword: "A123456(7)".
_HKID = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,2}\d{6}[(（][0-9A][)）]")
_CN_ID = re.compile(
    r"(?<!\d)\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\d])"
)
_DIGIT = re.compile(r"\d")
_CARD = re.compile(r"(?<![\d.,])\d(?:[ -]?\d){12,18}(?![\d])")
# Not inside a longer group of digits ("6222 13812345678 1"): that is a card, masked next.
_PHONE_CN = re.compile(r"(?<!\d)(?<!\d[ -])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)(?![ -]\d)")
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}[ -]?\(?\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}(?!\d)")
# Keywords right before a value that mean "this is a secret" (evidence never takes it).
SECRET_BEFORE = re.compile(
    rf"(?i)(?:{_OTP_WORDS}|{_PASSWORD_WORDS}|{_CVV_WORDS})\W{{0,3}}(?:is|是|为)?\W{{0,2}}$"
)


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


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[card ****{digits[-4:]}]" if looks_like_card(digits) else match.group(0)


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[phone ***{digits[-4:]}]"


def _keyword_masked(match: re.Match[str]) -> str:
    return f"{match.group(1)} {MASKED}"


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
    if not _DIGIT.search(text):
        # Every secret but a password holds a digit (subjects and notes often hold none).
        return _PASSWORD.sub(_keyword_masked, text)
    text = _CVV.sub(_keyword_masked, text)
    text = _OTP.sub(_keyword_masked, text)
    text = _OTP_FIRST.sub(MASKED, text)
    text = _PASSWORD.sub(_keyword_masked, text)
    text = _ID_AFTER.sub(lambda m: f"{m.group(1)} [id number masked]", text)
    text = _HKID.sub("[id number masked]", text)
    text = _CN_ID.sub("[id number masked]", text)
    text = _BANK_ACCOUNT.sub(
        lambda m: f"{m.group(1)} [account ****{re.sub(r'[^0-9]', '', m.group(2))[-4:]}]", text
    )
    text = _PHONE_CN.sub(_mask_phone, text)
    text = _PHONE_INTL.sub(_mask_phone, text)
    return _CARD.sub(_mask_card, text)


class MaskingFilter(logging.Filter):
    """Attached to the root handlers: every record, from any library, is masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECRET_KV.sub(lambda m: f"{m.group(1)}{m.group(2)}********", mask_text(message))
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, masked, so no credential in an exception text leaks.
            formatter = logging.Formatter()
            record.exc_text = mask_text(formatter.formatException(record.exc_info))
            record.exc_info = None
        record.msg = masked
        record.args = None
        return True

"""Mask personal data in text that leaves the case file: logs, staff notifications, pages.

Customers paste card numbers, ID numbers, one-time codes and even passwords into
complaints. The raw mail keeps them (it is evidence, stored 0600); everything we
*show* or *log* goes through ``mask_text`` first.
"""

from __future__ import annotations

import logging
import re

_CARD = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")
_CN_ID = re.compile(
    r"(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])"
)
_PHONE_CN = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}[ -]?\(?\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}(?!\d)")
_CVV = re.compile(r"(?i)\b(cvv2?|cvc2?|csc|security code|安全码|安全碼)\s*[:：=]?\s*(?:is\s+)?\d{3,4}\b")
_OTP = re.compile(
    r"(?i)\b(otp|one[- ]time (?:code|password)|verification code|sms code|验证码|驗證碼|动态码|校验码)"
    r"\s*(?:is|was|=|:|：)?\s*\d{4,8}\b"
)
_PASSWORD = re.compile(
    r"(?i)\b(password|passwd|pwd|passcode|pin|密码|密碼|支付密码|登录密码)\s*(?:is|was|=|:|：|是|为)\s*\S+"
)
_SECRET_KV = re.compile(r"(?i)\b(password|token|secret|authorization)(\s*[=:]\s*)(\S+)")


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


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return f"[card ****{digits[-4:]}]"
    return match.group(0)


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[phone ***{digits[-4:]}]"


def mask_text(text: str) -> str:
    """Card numbers (Luhn-valid 13-19 digits), CVVs, Chinese ID numbers, phone numbers,
    one-time codes and passwords replaced by a marker that keeps what staff need
    (last four digits) and nothing more."""
    if not text:
        return text
    text = _CVV.sub(lambda m: f"{m.group(1)} [masked]", text)
    text = _OTP.sub(lambda m: f"{m.group(1)} [masked]", text)
    text = _PASSWORD.sub(lambda m: f"{m.group(1)} [masked]", text)
    text = _CN_ID.sub("[id number masked]", text)
    text = _CARD.sub(_mask_card, text)
    text = _PHONE_CN.sub(_mask_phone, text)
    text = _PHONE_INTL.sub(_mask_phone, text)
    return text


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

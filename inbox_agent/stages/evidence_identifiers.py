"""Identifiers: the transaction id, the customer's account, the payment's recipient.

Each is found next to the words customers use for it, in English and Chinese.
A transaction id must look like one: a phone number, a card or identity number
or a bare date is not an id. Account phone numbers and e-mail addresses are
masked here the way wallets show them, since they identify the customer.
"""

from __future__ import annotations

import re

from inbox_agent.domain.mask import SECRET_BEFORE
from inbox_agent.stages.evidence_masking import is_card_or_id
from inbox_agent.stages.evidence_text import FoldedText

_TXN_KEYWORDS = (
    r"交易号|交易单号|交易编号|交易序号|订单号|订单编号|流水号|商户单号|(?<![工诉])单号|"
    r"transaction\s*(?:id|no\.?|number|ref(?:erence)?(?:\s*(?:number|no\.?|id|code))?|#)|order\s*(?:id|no\.?|number|#)|"
    r"(?<![A-Za-z])(?:utr|rrn)\s*(?:no\.?|number)?|"
    r"reference\s*(?:id|no\.?|number|code)?|ref\.?\s*(?:no\.?|#)?|txn\s*(?:id|no\.?|#)?|payment\s*id"
)
_TXN_NEAR = re.compile(
    rf"(?:{_TXN_KEYWORDS})码?\s*(?:is|was|为|是)?\s*[:#]?\s*(?P<id>[A-Za-z0-9][A-Za-z0-9_-]{{5,}})", re.I
)
_TXN_SHAPED = re.compile(
    r"(?<![A-Za-z0-9])(?P<id>(?:TXN|TRX|TX|ORD|PAY)[-_]?[A-Z0-9]{6,}(?:-[A-Z0-9]+)*)(?![A-Za-z0-9])"
)
_PHONE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$|^\+\d{8,15}$")


def _plausible_transaction_id(token: str) -> bool:
    if not re.search(r"\d", token) or len(token) < 6:
        return False
    digits = token.replace("-", "")
    if _PHONE.match(digits) or is_card_or_id(token):
        return False
    # A bare date such as 20240305 is not an id.
    return not re.fullmatch(r"20\d\d[01]\d[0-3]\d", digits)


def find_transaction_id(text: FoldedText) -> str | None:
    # Id-shaped tokens first: in "TXN8820349911" the "TXN" is part of the id, not a keyword.
    for pattern in (_TXN_SHAPED, _TXN_NEAR):
        for match in text.finditer(pattern):
            token = text.cut_normalised(*match.span("id")).rstrip("-_")
            if _plausible_transaction_id(token):
                return token
    return None


_EMAIL = r"[A-Za-z0-9._%+*-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
# Mainland mobiles (138 1234 5678), Taiwan mobiles (0912-345-678), masked forms (138****5678).
_PHONE_ANY = (
    r"(?:\+?\d{1,3}[ -]?)?(?:1\d{2}[ -]?(?:\d{4}|\*{4}|x{4})[ -]?\d{4}|09\d{2}-?\d{3}-?\d{3}"
    r"|\d{3}[*x]{3,5}\d{3,4})"
)
_ACCOUNT_KEYWORDS = (
    r"account|registered|login|log-in|sign in with|phone number|mobile|wallet id|user id|username|"
    r"账号|账户|用户名|手机号|手机号码|注册|绑定|登录邮箱|钱包id|用户id"
)
_ACCOUNT = re.compile(
    rf"(?:{_ACCOUNT_KEYWORDS})[^\n]{{0,40}}?(?P<value>{_EMAIL}|{_PHONE_ANY}"
    rf"|(?<=[:# ])(?:[A-Za-z]{{1,4}}-?)?\d{{6,12}}(?![\d]))",
    re.I,
)


def _mask_phone(value: str) -> str:
    digits = re.sub(r"[^\d*x]", "", value.lower())
    if "*" in digits or "x" in digits:
        return value
    # Keep the first three and last four digits, the way wallets show a phone number.
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def _mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return value if "*" in local else f"{local[:1]}***@{domain}"


def find_account_id(text: FoldedText) -> str | None:
    """The account the customer names — never a one-time code, password, PIN or CVV
    that happens to follow an account word ("my account ... 验证码 482913")."""
    match = next(
        (m for m in text.finditer(_ACCOUNT) if not SECRET_BEFORE.search(text.folded[: m.start("value")])),
        None,
    )
    if not match:
        return None
    value = text.cut_normalised(*match.span("value"))
    if "@" in value:
        return _mask_email(value)
    if re.fullmatch(_PHONE_ANY, value):
        return _mask_phone(value)
    return value


_RECIPIENT = re.compile(
    r"(?:recipient|payee|beneficiary)(?:'s (?:name|account))?\s*(?:is|was|:)?\s*(?P<a>[^\n,;.()?!]{2,40})"
    r"|(?:sent|send|transferred|transfer|paid|pay|wired|wire)\b[^\n.]{0,40}?\bto\s+(?P<b>[^\n,;.()?!]{2,40})"
    r"|(?:收款人|收款方|收款账户|对方(?:账户|账号)?(?=\s*(?:是|为|:))|转给|转账给|汇给|付给|打给|转到)\s*(?:是|为|:)?\s*(?P<c>[^\n,;.()，。；、（）!！?？]{1,30})"
    r"|(?:转账|转了|汇款|汇了|付了|transfer(?:red)?)(?:[^\n,;，。；]|(?<=\d),(?=\d)){0,20}?给\s*(?P<d>[^\n,;.()，。；、（）!！?？]{1,30})",
    re.I,
)
# "我给张三转了300元", "给我妈妈转了500块": the one paid stands between 给 and the verb. A
# pattern of its own, starting with its one character: the engine skips to each 给 in C
# (as a branch of the pattern above, it was tried at every character: +12 µs a mail).
_GIVEN_TO = re.compile(
    r"给\s*(?P<e>[^\n,;.()，。；、（）!！?？\d]{1,12}?)\s*(?:转|汇|打)(?:了|过)?"
    r"(?:\s*(?:\d|钱|款|账|[¥￥$]|[一两二三四五六七八九十百千万]+[元块]))"
)
_RECIPIENT_TAIL = re.compile(
    r"\s+(?:on|at|but|and|yesterday|today|last|via|using|with|from|for|because|which|who|it|in)\b.*$"
    r"|(?:的钱|的时候|时|后|但|却|可是|结果|了|，).*$",
    re.I,
)
# Chinese has no spaces: a name after 转给 / 给 ends where the amount or the complaint
# begins ("转给张三300元没到账"); an account number ("对方账号：6222…") is all digits.
_CHINESE_RECIPIENT_TAIL = re.compile(r"(?<=[^\d\s])\s*(?:\d|[¥￥$]|没|未|一直|还|已经|怎么|为什么|竟然).*$")


_NOT_A_RECIPIENT = re.compile(
    r"(?:me|you|us|him|her|them|it|this|that|these|those|the same|your|support|customer service|"
    r"my (?:own|bank|wallet|card|account|balance|data|details|information))\b"
    r"|(?:我|你|您|我们|你们|他|她|它|他们|自己|客服|对方|你们公司)$",
    re.I,
)


def find_recipient(text: FoldedText) -> str | None:
    """The first recipient named in the text, whichever way it is named."""
    matches = sorted((*text.finditer(_RECIPIENT), *text.finditer(_GIVEN_TO)), key=lambda match: match.start())
    for match in matches:
        found = match.groupdict()
        name = next(group for group in ("a", "b", "c", "d", "e") if found.get(group))
        start, end = match.span(name)
        folded = _RECIPIENT_TAIL.sub("", text.folded[start:end]).strip()
        if name in ("c", "d", "e"):
            folded = _CHINESE_RECIPIENT_TAIL.sub("", folded).strip()
        if folded and not _NOT_A_RECIPIENT.match(folded):
            return text.cut(start, start + len(folded))
    return None

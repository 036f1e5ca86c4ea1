"""Evidence extraction: what the customer already told us, normalised (pure).

Every finder works on the same prepared text: NFKC (full-width digits and
punctuation become ASCII) and Traditional -> Simplified folding. The folding maps
one character to one character, so offsets found in the folded text cut the values
out of the unfolded text: a Traditional name stays Traditional in the case.

Every value leaves through :func:`mask_sensitive`, so a full card number or an
identity-card number never reaches the store, a log or a staff notification.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache

from inbox_agent.config.rules import TRADITIONAL_TO_SIMPLIFIED, Rules
from inbox_agent.domain.model import Attachment

# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class _Text:
    original: str  # as written: messages and names are cut from here
    folded: str  # same length, NFKC per character and Traditional -> Simplified: patterns run on this

    @classmethod
    def of(cls, subject: str, body: str) -> _Text:
        original = f"{subject}\n{body}"
        folded = "".join(char if char.isascii() else _fold_char(char) for char in original)
        return cls(original=original, folded=folded)

    def cut(self, start: int, end: int) -> str:
        """Text as the customer wrote it (full-width punctuation kept in a quoted message)."""
        return self.original[start:end]

    def cut_normalised(self, start: int, end: int) -> str:
        """Half-width form, for identifiers: "ＴＸＮ１２３" and "TXN123" are the same id."""
        return self.folded[start:end] if self.folded[start:end].isascii() else self.original[start:end]


@cache
def _fold_char(char: str) -> str:
    """NFKC and Traditional folding of one character, always to exactly one character.

    NFKC of a whole string may change its length ("½" -> "1⁄2"); doing it per character
    and keeping the character when it would not stay a single one keeps offsets valid.
    """
    normal = unicodedata.normalize("NFKC", char).replace("\u2019", "'")
    return (normal if len(normal) == 1 else char).translate(TRADITIONAL_TO_SIMPLIFIED)


# --------------------------------------------------------------------------- masking

_DIGIT_RUN = re.compile(r"(?<![\d*])\d(?:[ -]?\d){12,18}(?![\d*])")
_CN_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_TW_ID = re.compile(r"(?<![A-Za-z\d])[A-Z][12]\d{8}(?!\d)")
_HK_ID = re.compile(r"(?<![A-Za-z\d])[A-Z]{1,2}\d{6}\([\dA]\)")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


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
        return _keep_last4(match.group()) if _luhn_ok(digits) else match.group()

    def cn_id(match: re.Match[str]) -> str:
        return _keep_last4(match.group()) if _cn_id_ok(match.group()) else match.group()

    text = _CN_ID.sub(cn_id, text)
    text = _DIGIT_RUN.sub(card, text)
    text = _TW_ID.sub(lambda m: _keep_last4(m.group()), text)
    return _HK_ID.sub(lambda m: "*" * (len(m.group()) - 3) + m.group()[-3:], text)


def _is_card_or_id(token: str) -> bool:
    return mask_sensitive(token) != token


# --------------------------------------------------------------------------- amounts

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


def _amounts_in(text: _Text) -> list[Amount]:
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
    return [_mark_expected(text, amount) for amount in found]


def _mark_expected(text: _Text, amount: Amount) -> Amount:
    line_start = max(text.folded.rfind("\n", 0, amount.start) + 1, amount.start - 30)
    before = text.folded[line_start : amount.start]
    if _EXPECTED_BEFORE.search(before):
        return Amount(amount.value, amount.currency, amount.start, amount.end, expected=True)
    return amount


def find_amounts(subject: str, text: str) -> list[Amount]:
    """Every amount of money in subject and text, in order of appearance."""
    return _amounts_in(_Text.of(subject, text))


# --------------------------------------------------------------------------- dates

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS_EN = {
    name: index
    for index, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}
_WEEKDAY_EN = "(?P<weekday>" + "|".join(sorted(_WEEKDAYS_EN, key=len, reverse=True)) + ")"
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_ORDINAL = r"(?:st|nd|rd|th)?"

_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ymd", re.compile(r"(?<!\d)(?P<y>20\d\d)\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)")),
    (
        "mdy",
        re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>20\d\d|\d\d)(?![\d/-])(?!\.\d)"),
    ),
    (
        "d_month",
        re.compile(rf"(?<!\d)(?P<d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?{_MONTH},?(?:\s+(?P<y>20\d\d))?\b", re.I),
    ),
    (
        "month_d",
        re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}}){_ORDINAL}(?![\d:])(?:,?\s+(?P<y>20\d\d)(?!\d))?", re.I),
    ),
    ("zh_md", re.compile(r"(?<![\d年])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]")),
    ("days_ago", re.compile(r"\b(?P<n>\d{1,2}) days? ago\b|(?P<zn>\d{1,2})\s*天前", re.I)),
    ("last_weekday", re.compile(rf"\blast\s+{_WEEKDAY_EN}\b", re.I)),
    ("zh_last_week", re.compile(r"上\s*(?:个)?(?:周|星期|礼拜|禮拜)\s*(?P<wd>[一二三四五六日天])")),
    ("zh_weekday", re.compile(r"(?<![上下本这])(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])")),
    ("on_weekday", re.compile(rf"\bon\s+{_WEEKDAY_EN}\b", re.I)),
    (
        "relative",
        re.compile(
            r"\b(?P<en>day before yesterday|yesterday|today|tonight|this morning)\b|(?P<zh>前天|昨天|昨日|昨晚|今天|今日|今早|今晚)",
            re.I,
        ),
    ),
)
_RELATIVE_DAYS = {
    "day before yesterday": 2,
    "yesterday": 1,
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "前天": 2,
    "昨天": 1,
    "昨日": 1,
    "昨晚": 1,
    "今天": 0,
    "今日": 0,
    "今早": 0,
    "今晚": 0,
}


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _without_year(month: int, day: int, today: date) -> date | None:
    """The most recent such date not after ``today`` (Feb 29 looks back to a leap year)."""
    for year in range(today.year, today.year - 8, -1):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate <= today:
            return candidate
    return None


def _resolve_date(kind: str, match: re.Match[str], today: date) -> date | None:
    group = match.groupdict()
    if kind == "ymd":
        return _safe_date(int(group["y"]), int(group["m"]), int(group["d"]))
    if kind == "mdy":
        first, second, year = int(group["a"]), int(group["b"]), int(group["y"])
        year = year + 2000 if year < 100 else year
        # US order (month/day) unless the first number cannot be a month.
        month, day = (second, first) if first > 12 else (first, second)
        return _safe_date(year, month, day)
    if kind in ("d_month", "month_d", "zh_md"):
        month = _MONTHS[group["month"].lower()] if "month" in group else int(group["m"])
        day = int(group["d"])
        if group.get("y"):
            return _safe_date(int(group["y"]), month, day)
        return _without_year(month, day, today)
    if kind == "days_ago":
        return today - timedelta(days=int(group["n"] or group["zn"]))
    if kind == "relative":
        return today - timedelta(days=_RELATIVE_DAYS[(group["en"] or group["zh"]).lower()])
    if kind == "last_weekday":
        # "last Friday": the most recent Friday strictly before today.
        back = (today.weekday() - _WEEKDAYS_EN[group["weekday"].lower()]) % 7 or 7
        return today - timedelta(days=back)
    if kind == "on_weekday":
        back = (today.weekday() - _WEEKDAYS_EN[group["weekday"].lower()]) % 7
        return today - timedelta(days=back)
    if kind == "zh_last_week":
        # 上周五: Friday of the previous calendar week (weeks start on Monday in China).
        previous_monday = today - timedelta(days=today.weekday() + 7)
        return previous_monday + timedelta(days=_WEEKDAYS_ZH[group["wd"]])
    if kind == "zh_weekday":
        back = (today.weekday() - _WEEKDAYS_ZH[group["wd"]]) % 7
        return today - timedelta(days=back)
    return None


def _first_match(
    text: str,
    patterns: Sequence[tuple[str, re.Pattern[str]]],
    resolve: Callable[[str, re.Match[str]], object],
) -> object | None:
    """The value of the earliest match; at one position the longest match wins."""
    hits: list[tuple[int, int, object]] = []
    for kind, pattern in patterns:
        for match in pattern.finditer(text):
            value = resolve(kind, match)
            if value is not None:
                hits.append((match.start(), -(match.end() - match.start()), value))
    return min(hits, key=lambda hit: hit[:2])[2] if hits else None


def find_date(text: str, today: date) -> date | None:
    result = _first_match(text, _DATE_PATTERNS, lambda kind, match: _resolve_date(kind, match, today))
    return result if isinstance(result, date) else None


# --------------------------------------------------------------------------- times

_TIME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "zh",
        re.compile(
            r"(?:(?P<period>上午|早上|早晨|凌晨|中午|下午|傍晚|晚上|夜里|夜间|晚)\s*)?(?<![\d.])(?P<h>\d{1,2})\s*"
            r"(?:[点时]\s*(?:(?P<m>\d{1,2})\s*分?|(?P<half>半))?|:(?P<m2>\d{2})(?!\d))"
        ),
    ),
    (
        "en",
        re.compile(
            r"(?<![\d.:])(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?::\d{2})?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?![a-z])"
            r"|(?<![\d.:])(?P<h24>\d{1,2}):(?P<m24>\d{2})(?![\d])",
            re.I,
        ),
    ),
)


def _resolve_time(kind: str, match: re.Match[str]) -> str | None:
    group = match.groupdict()
    if kind == "zh":
        hour = int(group["h"])
        minute = 30 if group["half"] else int(group["m"] or group["m2"] or 0)
        period = group["period"] or ""
        afternoon = period in ("下午", "傍晚", "晚上", "夜里", "夜间", "晚") and hour < 12
        if afternoon or (period == "中午" and hour < 3):
            hour += 12
        elif period in ("凌晨", "上午", "早上", "早晨") and hour == 12:
            hour = 0
    elif group.get("ampm"):
        hour, minute = int(group["h"]), int(group["m"] or 0)
        if not 1 <= hour <= 12:
            return None
        is_pm = group["ampm"].lower().startswith("p")
        hour = hour % 12 + (12 if is_pm else 0)
    else:
        hour, minute = int(group["h24"]), int(group["m24"])
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def find_time(text: str) -> str | None:
    result = _first_match(text, _TIME_PATTERNS, _resolve_time)
    return result if isinstance(result, str) else None


# --------------------------------------------------------------------------- ids

_TXN_KEYWORDS = (
    r"交易号|交易单号|交易编号|交易序号|订单号|订单编号|流水号|商户单号|(?<![工诉])单号|"
    r"transaction\s*(?:id|no\.?|number|ref(?:erence)?|#)|order\s*(?:id|no\.?|number|#)|"
    r"reference\s*(?:id|no\.?|number|code)?|ref\.?\s*(?:no\.?|#)?|txn\s*(?:id|no\.?|#)?|payment\s*id"
)
_TXN_NEAR = re.compile(
    rf"(?:{_TXN_KEYWORDS})码?\s*(?:is|was|为|是)?\s*[:#]?\s*(?P<id>[A-Za-z0-9][A-Za-z0-9_-]{{5,}})", re.I
)
_TXN_SHAPED = re.compile(r"(?<![A-Za-z0-9])(?P<id>(?:TXN|TRX|TX|ORD|PAY)[-_]?[A-Z0-9]{6,})(?![A-Za-z0-9])")
_PHONE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$|^\+\d{8,15}$")


def _plausible_transaction_id(token: str) -> bool:
    if not re.search(r"\d", token) or len(token) < 6:
        return False
    digits = token.replace("-", "")
    if _PHONE.match(digits) or _is_card_or_id(token):
        return False
    # A bare date such as 20240305 is not an id.
    return not re.fullmatch(r"20\d\d[01]\d[0-3]\d", digits)


def _transaction_id(text: _Text) -> str | None:
    # Id-shaped tokens first: in "TXN8820349911" the "TXN" is part of the id, not a keyword.
    for pattern in (_TXN_SHAPED, _TXN_NEAR):
        for match in pattern.finditer(text.folded):
            token = text.cut_normalised(*match.span("id")).rstrip("-_")
            if _plausible_transaction_id(token):
                return token
    return None


# --------------------------------------------------------------------------- error messages

_QUOTE_PAIRS = {'"': '"', "“": "”", "「": "」", "『": "』", "'": "'", "‘": "’", "《": "》"}
_ERROR_QUOTED = re.compile(
    r"(?:error|says|said|saying|shows|showed|showing|displays|displayed|message|reads|popped up|"
    r"提示|显示|报错|错误|写着|弹出|出现)"
    r"[^\n\"“「『'‘《]{0,30}?(?P<open>[\"“「『'‘《])(?P<msg>[^\n\"”」』'’》]{3,200})(?P<close>[\"”」』'’》])",
    re.I,
)
_ERROR_UNQUOTED = re.compile(
    r"(?:error message|the error|says|said|shows|showed|displays|提示|显示|报错|错误信息|错误提示)\s*[:]\s*"
    r"(?P<msg>[^\n。!！]{2,120}?)(?=[。!！]|\.\s|\.?$|\n)",
    re.I,
)
_ERROR_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?P<code>E\d{3,6}|ERR[_-][A-Z0-9_]+)(?![A-Za-z0-9])"
    r"|error\s*code\s*[:#]?\s*(?P<code2>[A-Za-z0-9_-]+)"
    r"|(?:错误码|错误代码|错误代号)\s*[:：]?\s*(?P<code3>[A-Za-z0-9_-]+)",
    re.I,
)


def _error_message(text: _Text) -> str | None:
    message = None
    for match in _ERROR_QUOTED.finditer(text.folded):
        if _QUOTE_PAIRS.get(match.group("open")) == match.group("close") or match.group("open") != "'":
            message = text.cut(*match.span("msg")).strip()
            break
    if message is None:
        match = _ERROR_UNQUOTED.search(text.folded)
        if match:
            message = text.cut(*match.span("msg")).strip()
    code_match = _ERROR_CODE.search(text.folded)
    code = None
    if code_match:
        name = next(g for g in ("code", "code2", "code3") if code_match.group(g))
        code = text.cut_normalised(*code_match.span(name))
    if message and code and code not in message:
        return f"{message} ({code})"
    return message or code


# --------------------------------------------------------------------------- accounts, people

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


def _account_id(text: _Text) -> str | None:
    match = _ACCOUNT.search(text.folded)
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
_RECIPIENT_TAIL = re.compile(
    r"\s+(?:on|at|but|and|yesterday|today|last|via|using|with|from|for|because|which|who|it|in)\b.*$"
    r"|(?:的钱|的时候|时|后|但|却|可是|结果|了|，).*$",
    re.I,
)


_NOT_A_RECIPIENT = re.compile(
    r"(?:me|you|us|him|her|them|it|this|that|these|those|the same|your|support|customer service|"
    r"my (?:own|bank|wallet|card|account|balance|data|details|information))\b",
    re.I,
)


def _recipient(text: _Text) -> str | None:
    for match in _RECIPIENT.finditer(text.folded):
        name = next(g for g in ("a", "b", "c", "d") if match.group(g))
        start, end = match.span(name)
        folded = _RECIPIENT_TAIL.sub("", text.folded[start:end]).strip()
        if folded and not _NOT_A_RECIPIENT.match(folded):
            return text.cut(start, start + len(folded))
    return None


# --------------------------------------------------------------------------- contacts, wishes

_TICKET = re.compile(
    r"(?P<kind>ticket|case|complaint|工单|投诉单|案件|投诉编号|受理号)\s*(?:number|no\.?|id|号|编号)?\s*"
    r"(?:is|was|为|是)?\s*[:#]?\s*(?P<id>[A-Za-z]{0,5}-?\d[A-Za-z0-9-]{3,})",
    re.I,
)
_CONTACTED = re.compile(
    r"(?:I|we)\s+(?:have\s+|had\s+|already\s+)*(?:called|contacted|phoned|emailed|e-mailed|wrote to|chatted with|"
    r"spoke (?:to|with)|talked to|reached out to|complained to)[^\n.!?]{0,80}"
    r"|(?:已经|已|之前|上次|曾经|多次|好几次|两次|三次)\s*(?:联系|致电|打电话给|打过|打了|找过|问过|投诉过|投诉|反映过|反馈过)[^\n。!！?？,，]{0,40}"
    r"|(?:联系过|投诉过|反映过|打过|打了|致电|联系了|联系|打)(?:[^\n。!！?？,，]{0,6})(?:客服|你们)[^\n。!！?？,，]{0,40}",
    re.I,
)


def _contact_history(text: _Text) -> str | None:
    ticket = _TICKET.search(text.folded)
    if ticket:
        return f"{ticket.group('kind').lower()} {text.cut_normalised(*ticket.span('id'))}"
    contacted = _CONTACTED.search(text.folded)
    if contacted:
        return text.cut(*contacted.span()).strip()
    return None


_RESOLUTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "refund",
        re.compile(
            r"refund|reimburs|money back|return (?:me )?(?:the |my )?(?:extra |excess )?money|"
            r"退款|退钱|退回|退还|返还|还钱|退给我",
            re.I,
        ),
    ),
    ("chargeback", re.compile(r"charge-?back", re.I)),
    ("compensation", re.compile(r"compensat|赔偿|补偿", re.I)),
    (
        "unlock",
        re.compile(
            r"\bunlock|unfreeze|unblock|reactivat|restore (?:my )?access|解封|解冻|解锁|恢复(?:我的)?(?:账户|账号|使用)",
            re.I,
        ),
    ),
    ("cancel", re.compile(r"\bcancel|取消", re.I)),
    ("reverse", re.compile(r"\brevers|撤销|撤回|追回", re.I)),
    (
        "delete_data",
        re.compile(
            r"delete (?:my|all my) (?:data|information|details)|删除(?:我的)?(?:个人)?(?:信息|资料|数据)",
            re.I,
        ),
    ),
    ("apology", re.compile(r"apolog|道歉", re.I)),
    (
        "explanation",
        re.compile(r"\bexplain|explanation|tell me why|给(?:我)?(?:一个)?(?:说法|解释)|说明原因|解释", re.I),
    ),
)


# A resolution word counts only in a sentence that asks for something: "the merchant
# refunded me" tells a story, "please refund me" states a wish.
_WISH = re.compile(
    r"please|want|would like|'d like|request|demand|expect|need|asking|ask for|can you|could you|"
    r"get my money back|return me|i hope|请|要求|希望|麻烦|尽快|必须|马上|立即|帮我|能不能|能否|务必",
    re.I,
)
# "Could you check where this refund is?" asks about a refund, not for one.
_WHERE = re.compile(r"\bwhere\b|到哪|去哪|在哪", re.I)
_SENTENCE = re.compile(r"[^.!?。！？\n]+")


def _desired_resolution(text: _Text) -> str | None:
    first_seen: dict[str, int] = {}
    for sentence in _SENTENCE.finditer(text.folded):
        if not _WISH.search(sentence.group()) or _WHERE.search(sentence.group()):
            continue
        for word, pattern in _RESOLUTIONS:
            match = pattern.search(sentence.group())
            if match and word not in first_seen:
                first_seen[word] = sentence.start() + match.start()
    return ", ".join(sorted(first_seen, key=first_seen.__getitem__)) or None


def describe_screenshots(attachments: Sequence[Attachment]) -> str | None:
    """Only real image/PDF attachments count: "screenshot attached" in the text does not."""
    names = [a.filename or a.safe_name for a in attachments if a.is_screenshot]
    if not names:
        return None
    noun = "file" if len(names) == 1 else "files"
    return f"{len(names)} {noun}: {', '.join(names)}"


# --------------------------------------------------------------------------- public API


def _found(text: _Text, attachments: Sequence[Attachment], today: date) -> Iterator[tuple[str, str | None]]:
    amounts = _amounts_in(text)
    actual = [a for a in amounts if not a.expected]
    expected = [a for a in amounts if a.expected]
    found_date = find_date(text.folded, today)
    yield "transaction_date", found_date.isoformat() if found_date else None
    yield "transaction_time", find_time(text.folded)
    yield "amount", str((actual or amounts)[0]) if amounts else None
    yield "transaction_id", _transaction_id(text)
    yield "error_message", _error_message(text)
    yield "screenshot", describe_screenshots(attachments)
    yield "account_id", _account_id(text)
    yield "recipient", _recipient(text)
    yield "expected_amount", str(expected[0]) if expected and actual else None
    yield "contact_history", _contact_history(text)
    yield "desired_resolution", _desired_resolution(text)


def extract_evidence(
    subject: str,
    text: str,
    attachments: Sequence[Attachment],
    *,
    reference: datetime,
    tz: tzinfo,
) -> dict[str, str]:
    """Evidence id -> normalised value, for the evidence this message supplies.

    ``reference`` is the message's date: relative dates ("yesterday", "上周五") and
    dates without a year are resolved against it, in the service's time zone ``tz``.
    """
    today = reference.astimezone(tz).date() if reference.tzinfo else reference.date()
    prepared = _Text.of(subject, text)
    return {
        evidence_id: mask_sensitive(value)
        for evidence_id, value in _found(prepared, attachments, today)
        if value
    }


def missing_evidence(category: str, found: Mapping[str, str], rules: Rules) -> tuple[str, ...]:
    """The required evidence still missing, in the configured order.

    For a group of alternatives ("transaction_id|screenshot") nothing is missing when
    any of them is present; otherwise the group's first id is reported, so the
    acknowledgement asks for the preferred item (each id has its own label).
    """
    missing: list[str] = []
    for group in rules.required_evidence.get(category, ()):
        if not any(found.get(item) for item in group):
            missing.append(group[0])
    return tuple(missing)

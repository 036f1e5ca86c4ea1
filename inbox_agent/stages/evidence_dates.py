"""When the transaction happened: a date and a time of day, as the customer wrote them.

Dates come in many shapes (2024-03-05, 3/5/24, 5 March, on the 18th, 3月5日,
十一月十八号) and relative forms (yesterday, last Friday, two days ago, 上周五,
三天前); relative dates and dates without a year are resolved against the message's
date, never the clock, so the result does not depend on when the mail is processed.
Times are found by ``evidence_times``. The earliest mention wins, except
that a weekday naming the date right after it ("Monday 16 November", "周一11月16日")
gives way to that date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from inbox_agent.domain.regex_needles import could_match, lowered
from inbox_agent.stages.chinese_numbers import NUMERAL, chinese_value

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
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH = rf"(?P<month>{_MONTH_NAMES})\.?"
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
# A day, month or hour in Chinese numerals ("十八", "二十八", "十一"), not the tail of a
# longer number ("一百二十八").
CN_SMALL = rf"(?<!{NUMERAL})[零〇一二两三四五六七八九十]{{1,3}}"
_EN_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_EN_COUNTS.update({"eight": 8, "nine": 9, "ten": 10})
_EN_COUNT = "|".join(_EN_COUNTS)

_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # The first three test what comes before their first character just after it
    # ("2(?<!\d2)" is "(?<!\d)2"): the same matches, but a pattern that starts with a
    # character (set) lets the engine skip to the next one in C instead of trying
    # every position (ymd 13x, mdy 2x faster on the benchmark corpus).
    ("ymd", re.compile(r"(?P<y>2(?<!\d2)0\d\d)\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)")),
    (
        "mdy",
        re.compile(r"(?P<a>\d(?<![\d/.-]\d)\d?)[/.-](?P<b>\d{1,2})[/.-](?P<y>20\d\d|\d\d)(?![\d/-])(?!\.\d)"),
    ),
    (
        "d_month",
        re.compile(rf"(?P<d>\d(?<!\d\d)\d?){_ORDINAL}\s+(?:of\s+)?{_MONTH},?(?:\s+(?P<y>20\d\d))?\b", re.I),
    ),
    (
        "month_d",
        re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}}){_ORDINAL}(?![\d:])(?:,?\s+(?P<y>20\d\d)(?!\d))?", re.I),
    ),
    (
        "zh_md",
        re.compile(
            rf"(?P<m>(?<![\d年])\d{{1,2}}|{CN_SMALL})\s*(?:月|[./])\s*(?P<d>\d{{1,2}}|{CN_SMALL})\s*[日号]"
        ),
    ),
    # A day alone, "18号" / "上个月28号" / "本月3日" / "十八号": in this month, or the last
    # one when it is still to come. Not a numbered thing ("3号线", "5号楼", "工号12号",
    # "第2号"), nor a span of days ("3日内到账", "7日后"), nor "同一日".
    (
        "zh_day",
        re.compile(
            r"(?P<which>上个?月|本月|这个?月|(?<![\d年月第编工单账帐户卡号同每某当这那哪]))\s*"
            rf"(?P<d>\d{{1,2}}|{CN_SMALL})\s*[号日]"
            r"(?![线楼店机台窗柜门床位座码游]|三餐)(?!\s*(?:之?内|以内|之?后|以后|左右|之?前|以前|多))"
        ),
    ),
    # "on the 18th", "since the 3rd", "the 28th of last month" (not "the 2nd payment",
    # nor "the 18th of November", which is a whole date). Lower-case "the" and no
    # leading word boundary: a literal start lets the engine skip ahead (4x faster);
    # what comes before "the" is read by the resolver.
    (
        "en_day",
        re.compile(
            r"the\s+(?P<d>\d{1,2})(?i:st|nd|rd|th)\b"
            rf"(?i:\s+of\s+(?P<which>this|last)\s+month\b|(?!\s+(?:of\s+)?(?:{_MONTH_NAMES})\b))"
        ),
    ),
    # "on 11/18": month/day without a year only after "on" or "since" ("24/7", "1/2" are not dates).
    ("md_on", re.compile(r"\b(?:on|since)\s+(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![/\d])", re.I)),
    (
        "days_ago",
        re.compile(
            rf"\b(?P<n>\d{{1,2}}|{_EN_COUNT})\s+(?P<unit>days?|weeks?)\s+ago\b"
            rf"|(?P<zn>(?<!\d)\d{{1,2}}|{CN_SMALL})\s*(?P<zunit>天|个?(?:周|星期|礼拜))(?:之|以)?前(?!后)",
            re.I,
        ),
    ),
    ("last_weekday", re.compile(rf"\blast\s+{_WEEKDAY_EN}\b", re.I)),
    ("zh_last_week", re.compile(r"上\s*(?:个)?(?:周|星期|礼拜|禮拜)\s*(?P<wd>[一二三四五六日天])")),
    ("zh_weekday", re.compile(r"(?<![上下本这])(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])")),
    # 本周二 / 这周一下午: that day of this week ("这周一直没到账" is "all this week").
    (
        "zh_this_week",
        re.compile(r"(?:本|这个?)(?:周|星期|礼拜)(?P<wd>[二三四五六日天]|一(?![直定般共些切样旦再次]))"),
    ),
    ("on_weekday", re.compile(rf"\bon\s+{_WEEKDAY_EN}\b", re.I)),
    (
        "relative",
        re.compile(
            r"\b(?P<en>day before yesterday|yesterday|last night|today|tonight|this morning)\b"
            r"|(?P<zh>前天|昨天|昨日|昨晚|昨夜|昨晩|今天|今日|今早|今晚)",
            re.I,
        ),
    ),
)
_RELATIVE_DAYS = {
    "day before yesterday": 2,
    "yesterday": 1,
    "last night": 1,
    "today": 0,
    "tonight": 0,
    "this morning": 0,
    "前天": 2,
    "昨天": 1,
    "昨日": 1,
    "昨晚": 1,
    "昨夜": 1,
    "昨晩": 1,  # the traditional/Japanese form of 晚
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


def _day_of_month(day: int, which: str, today: date) -> date | None:
    """ "上个月28号": that day of last month; "本月3日": of this month, if it has come
    ("本月20号会还款" is a promise, not a transaction); "18号": the most recent 18th not
    after ``today``."""
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if which.startswith("上"):
        return _safe_date(last_month.year, last_month.month, day)
    this_month = _safe_date(today.year, today.month, day)
    if this_month is not None and this_month <= today:
        return this_month
    return None if which else _safe_date(last_month.year, last_month.month, day)


def small_number(number: str) -> int:
    """A day, month, hour or count in digits or in Chinese numerals."""
    return int(number) if number.isdigit() else chinese_value(number)


def _month_day(first: int, second: int) -> tuple[int, int]:
    # US order (month/day) unless the first number cannot be a month.
    return (second, first) if first > 12 else (first, second)


def _named_date(group: dict[str, str], today: date) -> date | None:
    month = _MONTHS[group["month"].lower()] if "month" in group else small_number(group["m"])
    day = small_number(group["d"])
    if group.get("y"):
        return _safe_date(int(group["y"]), month, day)
    return _without_year(month, day, today)


def _mdy(group: dict[str, str], today: date) -> date | None:
    """Month first, unless only day first is not after the mail (12/11/2026 on 1 Dec 2026: 12 Nov)."""
    first, second, year = int(group["a"]), int(group["b"]), int(group["y"])
    year += 2000 if year < 100 else 0
    us_order = _safe_date(year, *_month_day(first, second))
    day_first = _safe_date(year, second, first) if first <= 12 else None
    late = us_order is not None and us_order > today and day_first is not None and day_first <= today
    return day_first if late else us_order


_ON_BEFORE_THE = re.compile(r"(?<![a-z])(?:on|since)\s+$", re.I)


def _en_day(match: re.Match[str], today: date) -> date | None:
    group = match.groupdict()
    before = match.string[max(0, match.start() - 8) : match.start()]
    if before[-1:].isalpha():  # "breathe 18th": not the word "the"
        return None
    if not (group["which"] or _ON_BEFORE_THE.search(before)):  # "the 2nd payment": an ordinal
        return None
    which = {"last": "上", "this": "本"}.get((group["which"] or "").lower(), "")
    return _day_of_month(int(group["d"]), which, today)


def _ago(group: dict[str, str], today: date) -> date | None:
    count = group["n"] or group["zn"]
    number = _EN_COUNTS[count.lower()] if count.lower() in _EN_COUNTS else small_number(count)
    unit = (group["unit"] or group["zunit"]).lower()
    return today - timedelta(days=number * (1 if unit.startswith(("day", "天")) else 7))


def _last_weekday(group: dict[str, str], today: date) -> date:
    # "last Friday": the most recent Friday strictly before today.
    back = (today.weekday() - _WEEKDAYS_EN[group["weekday"].lower()]) % 7 or 7
    return today - timedelta(days=back)


def _on_weekday(group: dict[str, str], today: date) -> date:
    return today - timedelta(days=(today.weekday() - _WEEKDAYS_EN[group["weekday"].lower()]) % 7)


def _zh_last_week(group: dict[str, str], today: date) -> date:
    # 上周五: Friday of the previous calendar week (weeks start on Monday in China).
    previous_monday = today - timedelta(days=today.weekday() + 7)
    return previous_monday + timedelta(days=_WEEKDAYS_ZH[group["wd"]])


def _zh_this_week(group: dict[str, str], today: date) -> date | None:
    day = today - timedelta(days=today.weekday()) + timedelta(days=_WEEKDAYS_ZH[group["wd"]])
    return day if day <= today else None  # a complaint is not about a day still to come


_DATE_RESOLVERS: dict[str, Callable[[dict[str, str], date], date | None]] = {
    "ymd": lambda g, today: _safe_date(int(g["y"]), int(g["m"]), int(g["d"])),
    "mdy": _mdy,
    "d_month": _named_date,
    "month_d": _named_date,
    "zh_md": _named_date,
    "zh_day": lambda g, today: _day_of_month(small_number(g["d"]), g["which"], today),
    "md_on": lambda g, today: _without_year(*_month_day(int(g["a"]), int(g["b"])), today),
    "days_ago": _ago,
    "relative": lambda g, today: today - timedelta(days=_RELATIVE_DAYS[(g["en"] or g["zh"]).lower()]),
    "last_weekday": _last_weekday,
    "on_weekday": _on_weekday,
    "zh_last_week": _zh_last_week,
    "zh_weekday": lambda g, today: today - timedelta(days=(today.weekday() - _WEEKDAYS_ZH[g["wd"]]) % 7),
    "zh_this_week": _zh_this_week,
}


def _resolve_date(kind: str, match: re.Match[str], today: date) -> date | None:
    if kind == "en_day":  # reads the words before its match too
        return _en_day(match, today)
    return _DATE_RESOLVERS[kind](match.groupdict(), today)


# What the text must contain (lower-cased) for a pattern to match at all: a pattern
# none of whose needles is in the text is not run. Each of these patterns starts with
# a look-behind or a word boundary, which the regex engine tries at every position;
# a substring test runs in C and rules most of them out (the date and time finders
# were a third of the evidence stage). Needles avoid "i" and "k", which case-
# insensitive matching also finds as "ı" and "K" (Kelvin); the text has been
# NFKC-folded ("ſ" is "s" by then, full-width digits and letters plain ASCII).
_MONTH_NEEDLES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
NEEDLES: dict[str, tuple[str, ...]] = {
    "ymd": ("20",),
    "mdy": ("/", ".", "-"),
    "d_month": _MONTH_NEEDLES,
    "month_d": _MONTH_NEEDLES,
    "zh_md": ("月", "号", "日"),
    "zh_day": ("号", "日"),
    "en_day": ("the",),
    "md_on": ("/",),
    "days_ago": ("ago", "前"),
    "last_weekday": ("last",),
    "zh_last_week": ("上",),
    "zh_weekday": ("周", "星期", "礼拜"),
    "on_weekday": ("on",),
    "zh_this_week": ("本", "这"),
    "relative": ("yesterday", "last", "today", "ton", "morn", "前天", "昨", "今"),
}


# A weekday written just before the date it names ("Monday 16th November", "周一
# 11月16日") gives way to that date: the date is what the customer means.
_WEEKDAY_KINDS = frozenset({"on_weekday", "last_weekday", "zh_weekday", "zh_this_week", "zh_last_week"})
_NAMED_DATE_KINDS = frozenset({"ymd", "mdy", "d_month", "month_d", "zh_md", "zh_day", "en_day", "md_on"})
_WEEKDAY_TO_DATE = re.compile(r"[\s,，、(（]*(?:the\s+)?", re.I)


def first_match(
    text: str,
    patterns: Sequence[tuple[str, re.Pattern[str]]],
    resolve: Callable[[str, re.Match[str]], object],
    needles: dict[str, tuple[str, ...]] = NEEDLES,
) -> object | None:
    """The value of the earliest match; at one position the longest match wins."""
    hits = matches_in_order(text, patterns, resolve, needles)
    return hits[0][2] if hits else None


def matches_in_order(
    text: str,
    patterns: Sequence[tuple[str, re.Pattern[str]]],
    resolve: Callable[[str, re.Match[str]], object],
    needles: dict[str, tuple[str, ...]] = NEEDLES,
) -> list[tuple[int, int, object, str, int]]:
    """(start, -length, value, kind, end) of every match, earliest (then longest) first."""
    hits: list[tuple[int, int, object, str, int]] = []
    lowered_text = lowered(text)
    for kind, pattern in patterns:
        wanted = needles.get(kind)
        if wanted and not any(needle in lowered_text for needle in wanted):
            continue
        if not could_match(pattern, lowered_text):
            continue
        for match in pattern.finditer(text):
            value = resolve(kind, match)
            if value is not None:
                hits.append((match.start(), -(match.end() - match.start()), value, kind, match.end()))
    named_starts = [hit[0] for hit in hits if hit[3] in _NAMED_DATE_KINDS]
    kept = [
        hit
        for hit in hits
        if hit[3] not in _WEEKDAY_KINDS
        or not any(
            start >= hit[4] and _WEEKDAY_TO_DATE.fullmatch(text, hit[4], start) for start in named_starts
        )
    ]
    return sorted(kept, key=lambda hit: hit[:2])


# A date the customer gives about the account, not the incident: "customer since
# 2015", "I opened the account on 3 May 2019", "2019年注册的", a birth date, a card's
# expiry. Taken for the transaction date, it made every such complaint "older than the
# complaint window". Bare "since"/"自从" is not here: "since 28 Nov I cannot log in"
# dates the incident.
_ACCOUNT = r"(?:(?:my|the|an?|our|this)\s+)?(?:wallet\s+|e-?wallet\s+)?account"
_ABOUT_THE_ACCOUNT = re.compile(
    r"(?:customer|member|user|client|account holder|with (?:you|your \w+))\s+since|"
    rf"\b(?:opened|registered|created|set up|signed up for)\s+{_ACCOUNT}|{_ACCOUNT}\s+(?:was\s+)?(?:opened|registered|created)|"
    r"\b(?:signed up|(?:registered|joined) (?:with )?(?:you|your))\b|\bdate of birth\b|\bborn\b|"
    r"\b(?:expir\w*|valid (?:until|thru|through))\b|"
    r"开户|注册|开通账|出生|有效期",
    re.I,
)
_CLAUSE_END = re.compile(r"[.;!?。；！？，,\n]")
_CONTEXT = 30


def _about_the_account(text: str, start: int, end: int) -> bool:
    """Whether the clause around text[start:end] (up to 30 characters each side) dates
    the account rather than the incident."""
    before = _CLAUSE_END.split(text[max(0, start - _CONTEXT) : start])[-1]
    after = _CLAUSE_END.split(text[end : end + _CONTEXT])[0]
    return bool(_ABOUT_THE_ACCOUNT.search(before) or _ABOUT_THE_ACCOUNT.search(after))


def find_date(text: str, today: date, needles: dict[str, tuple[str, ...]] = NEEDLES) -> date | None:
    """The transaction date: the earliest date that is not about the account itself."""
    hits = matches_in_order(
        text, _DATE_PATTERNS, lambda kind, match: _resolve_date(kind, match, today), needles
    )
    set_aside_until = -1  # a shorter reading inside a date set aside is set aside too
    for start, _length, value, _kind, end in hits:
        if start < set_aside_until or not isinstance(value, date):
            continue
        if not _about_the_account(text, start, end):
            return value
        set_aside_until = max(set_aside_until, end)
    return None

"""When the transaction happened: a date and a time of day, as the customer wrote them.

Dates come in many shapes (2024-03-05, 3/5/24, 5 March, 3月5日) and relative
forms (yesterday, last Friday, 上周五, 3 days ago); relative dates and dates
without a year are resolved against the message's date, never the clock, so the
result does not depend on when the mail is processed. Times come as 14:30,
2:30 pm or 下午2点半. The earliest mention wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, timedelta

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
    ("zh_md", re.compile(r"(?<![\d年])(?P<m>\d{1,2})\s*(?:月|[./])\s*(?P<d>\d{1,2})\s*[日号]")),
    # A day alone, "18号" / "上个月28号" / "本月3日": in this month, or the last one when it
    # is still to come. Not a numbered thing ("3号线", "5号楼", "工号12号", "第2号"), nor a
    # span of days ("3日内到账", "7日后").
    (
        "zh_day",
        re.compile(
            r"(?P<which>上个?月|本月|这个?月|(?<![\d年月第编工单账帐户卡号]))\s*(?P<d>\d{1,2})\s*[号日]"
            r"(?![线楼店机台窗柜门床位座码])(?!\s*(?:之?内|以内|之?后|以后|左右|之?前|以前|多))"
        ),
    ),
    ("days_ago", re.compile(r"\b(?P<n>\d{1,2}) days? ago\b|(?P<zn>\d{1,2})\s*天前", re.I)),
    ("last_weekday", re.compile(rf"\blast\s+{_WEEKDAY_EN}\b", re.I)),
    ("zh_last_week", re.compile(r"上\s*(?:个)?(?:周|星期|礼拜|禮拜)\s*(?P<wd>[一二三四五六日天])")),
    ("zh_weekday", re.compile(r"(?<![上下本这])(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])")),
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
    """ "上个月28号": that day of last month; "本月3日": of this month; "18号": the most
    recent 18th not after ``today``."""
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if which.startswith("上"):
        return _safe_date(last_month.year, last_month.month, day)
    this_month = _safe_date(today.year, today.month, day)
    if which or (this_month is not None and this_month <= today):
        return this_month
    return _safe_date(last_month.year, last_month.month, day)


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
    if kind == "zh_day":
        return _day_of_month(int(group["d"]), group["which"], today)
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
    "days_ago": ("ago", "天前"),
    "last_weekday": ("last",),
    "zh_last_week": ("上",),
    "zh_weekday": ("周", "星期", "礼拜"),
    "on_weekday": ("on",),
    "relative": ("yesterday", "last", "today", "ton", "morn", "前天", "昨", "今"),
    "zh": ("点", "时", ":"),
    "en": ("m", ":"),
}


def _first_match(
    text: str,
    patterns: Sequence[tuple[str, re.Pattern[str]]],
    resolve: Callable[[str, re.Match[str]], object],
    needles: dict[str, tuple[str, ...]] = NEEDLES,
) -> object | None:
    """The value of the earliest match; at one position the longest match wins."""
    hits: list[tuple[int, int, object]] = []
    lowered = text.lower()
    for kind, pattern in patterns:
        wanted = needles.get(kind)
        if wanted and not any(needle in lowered for needle in wanted):
            continue
        for match in pattern.finditer(text):
            value = resolve(kind, match)
            if value is not None:
                hits.append((match.start(), -(match.end() - match.start()), value))
    return min(hits, key=lambda hit: hit[:2])[2] if hits else None


def find_date(text: str, today: date) -> date | None:
    result = _first_match(text, _DATE_PATTERNS, lambda kind, match: _resolve_date(kind, match, today))
    return result if isinstance(result, date) else None


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

"""The time of day a transaction happened, as the customer wrote it: 14:30, 2:30 pm,
下午2点半, 下午三点, 十点一刻. The earliest mention wins (``evidence_dates.first_match``).
"""

from __future__ import annotations

import re

from inbox_agent.stages.evidence_dates import CN_SMALL, first_match, small_number

# What the text must contain for a pattern to run at all (see evidence_dates.NEEDLES).
NEEDLES: dict[str, tuple[str, ...]] = {"zh": ("点", "时", ":"), "zh_words": ("点",), "en": ("m", ":")}

_TIME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "zh",
        re.compile(
            r"(?:(?P<period>上午|早上|早晨|凌晨|中午|下午|傍晚|晚上|夜里|夜间|晚)\s*)?(?<![\d.])(?P<h>\d{1,2})\s*"
            r"(?:[点时]\s*(?:(?P<m>\d{1,2})\s*分?|(?P<half>半))?|:(?P<m2>\d{2})(?!\d))"
        ),
    ),
    # "下午三点", "晚上八点半", "十一点一刻", "三点十五分": an hour in Chinese numerals counts
    # only with a part of the day or minutes ("快一点", "三点建议" are not times).
    (
        "zh_words",
        re.compile(
            r"(?:(?P<period>上午|早上|早晨|凌晨|中午|下午|傍晚|晚上|夜里|夜间)\s*)?"
            rf"(?P<h>{CN_SMALL})\s*点\s*(?:(?P<m>\d{{1,2}}|{CN_SMALL})\s*分|(?P<half>半)|(?P<quarter>[一三])刻|钟|整)?"
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


def _zh_clock(hour: int, minute: int, period: str) -> tuple[int, int]:
    afternoon = period in ("下午", "傍晚", "晚上", "夜里", "夜间", "晚") and hour < 12
    if afternoon or (period == "中午" and hour < 3):
        hour += 12
    elif period in ("凌晨", "上午", "早上", "早晨") and hour == 12:
        hour = 0
    return hour, minute


def _resolve_time(kind: str, match: re.Match[str]) -> str | None:
    group = match.groupdict()
    if kind == "zh":
        minute = 30 if group["half"] else int(group["m"] or group["m2"] or 0)
        hour, minute = _zh_clock(int(group["h"]), minute, group["period"] or "")
    elif kind == "zh_words":
        if match.group(0).endswith("点") and not group["period"]:
            return None  # "三点" alone: as often "three points" as three o'clock
        quarter = {"一": 15, "三": 45}.get(group["quarter"] or "", 0)
        minute = 30 if group["half"] else quarter or small_number(group["m"] or "0")
        hour, minute = _zh_clock(small_number(group["h"]), minute, group["period"] or "")
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
    result = first_match(text, _TIME_PATTERNS, _resolve_time, NEEDLES)
    return result if isinstance(result, str) else None

"""The language test and the evidence text fold run as C loops (regexes, translate);
they must agree with the plain per-character definitions on any text."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.stages import evidence_dates as dates
from inbox_agent.stages import evidence_times as times
from inbox_agent.stages.chinese_script import SIMPLIFIED_ONLY, TRADITIONAL_ONLY
from inbox_agent.stages.evidence_text import FoldedText, _fold_char
from inbox_agent.stages.language import _without_a_name_below, detect_language


def _reference(text: str) -> str:
    """The definition, one character at a time (the implementation before it was sped up)."""
    sample = text[:20_000]

    def is_cjk(char: str) -> bool:
        code = ord(char)
        return (
            0x3400 <= code <= 0x4DBF
            or 0x4E00 <= code <= 0x9FFF
            or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x2FFFF
        )

    cjk = sum(1 for char in sample if is_cjk(char))
    letters = sum(1 for char in sample if char.isalpha())
    if not (cjk >= 30 or (letters and cjk / letters >= 0.10)):
        return "en"
    window = sample[:4_000]
    traditional = sum(1 for char in window if char in TRADITIONAL_ONLY)
    simplified = sum(1 for char in window if char in SIMPLIFIED_ONLY)
    return "zh-Hant" if traditional >= 3 and traditional > 2 * simplified else "zh"


_MIXED = st.text(
    alphabet=st.sampled_from(
        list("abcXYZ 123,.!é\n\tАБß")
        + list("中文字账户冻结")
        + list("帳戶凍結們這")  # Traditional only: the script decides zh or zh-Hant
        + ["\U00020000", "\uf900"]
    ),
    max_size=200,
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_MIXED, st.text(max_size=200)))
def test_language_agrees_with_the_plain_definition(text: str) -> None:
    # The counting is what is compared; the name line below English is left out alike.
    assert detect_language(text) == _reference(_without_a_name_below(text[:20_000]))


def test_a_chinese_complaint_with_english_words_is_chinese() -> None:
    assert detect_language("我的 PayPal 账户被冻结了 since Monday, please help") == "zh"
    assert detect_language("I was charged twice for order 12345 (订单)") == "en"
    assert (
        detect_language(
            "转账失败，提示 Error code E1024: insufficient balance, please retry. 但是我的余额是够的。"
        )
        == "zh"
    )


def test_an_english_complaint_signed_with_a_chinese_name_and_address_is_english() -> None:
    # Before: five Chinese characters anywhere made the reply Chinese.
    text = (
        "Hello, my transfer of 500 USD to my sister never arrived. It has been five days and "
        "the app still says processing. Please help me find it.\n\nBest regards,\n"
        "Wang Xiaoming 王小明\n北京市朝阳区建国路88号"
    )
    assert detect_language(text) == "en"


def test_a_short_english_complaint_signed_with_only_a_chinese_name_is_english() -> None:
    # Three characters were over a tenth of the letters of a one-line mail.
    assert detect_language("My account is locked, please help.\n\n王小明") == "en"
    assert detect_language("Account locked, cannot log in.\n— 陈大文") == "en"
    assert detect_language("我的账户被冻结了\n王小明") == "zh"  # Chinese above: Chinese
    assert detect_language("Hi\n王小明") == "zh"  # no English sentence above the name


@settings(max_examples=300, deadline=None)
@given(st.one_of(_MIXED, st.text(max_size=200)), st.text(max_size=30))
def test_folded_evidence_text_is_the_per_character_fold(body: str, subject: str) -> None:
    """The evidence finders' folded text (one translate call) is, character by
    character, NFKC + Traditional -> Simplified where that stays one character."""
    text = FoldedText.of(subject, body)
    assert text.folded == "".join(c if c.isascii() else _fold_char(c) for c in text.original)
    assert len(text.folded) == len(text.original)


_DATE_WORDS = st.sampled_from(
    [
        " ",
        "\n",
        ",",
        "/",
        ".",
        "-",
        ":",
        "2024",
        "20",
        "3",
        "12",
        "05",
        "31",
        "jan",
        "March",
        "Sept",
        "sep",
        "last",
        "Last",
        "Friday",
        "on",
        "mon",
        "yesterday",
        "Today",
        "tonight",
        "this morning",
        "days ago",
        "am",
        "p.m.",
        "PM",
        "月",
        "日",
        "号",
        "年",
        "点",
        "时",
        "半",
        "分",
        "下午",
        "上",
        "周",
        "星期",
        "礼拜",
        "五",
        "天前",
        "昨天",
        "今晚",
        "前天",
        "ı",
        "K",
        "the",
        "th",
        "of this month",
        "since",
        "two",
        "a week",
        " ago",
        "本",
        "这",
        "十",
        "二",
        "一",
        "两",
        "前",
        "后",
        "刻",
        "钟",
        "三餐",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_DATE_WORDS, max_size=25).map("".join))
def test_date_and_time_needles_never_hide_a_match(text: str) -> None:
    """The substring prefilter of the date and time finders only skips patterns that
    cannot match: the same answer as running every pattern."""
    today = date(2026, 12, 1)
    expected_date = dates.first_match(
        text, dates._DATE_PATTERNS, lambda kind, match: dates._resolve_date(kind, match, today), needles={}
    )
    expected_time = dates.first_match(text, times._TIME_PATTERNS, times._resolve_time, needles={})
    assert (
        dates.first_match(text, dates._DATE_PATTERNS, lambda k, m: dates._resolve_date(k, m, today))
        == expected_date
    )
    assert dates.find_date(text, today) == dates.find_date(text, today, needles={})
    assert times.find_time(text) == expected_time

"""The language test counts with regular expressions; it must agree with the plain
definition (share of CJK ideographs among letters) on any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.stages.language import detect_language


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
    return "zh" if cjk >= 5 or (letters and cjk / letters >= 0.10) else "en"


_MIXED = st.text(
    alphabet=st.sampled_from(list("abcXYZ 123,.!é\n\tАБß") + list("中文字账户冻结") + ["\U00020000", "\uf900"]),
    max_size=200,
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_MIXED, st.text(max_size=200)))
def test_language_agrees_with_the_plain_definition(text: str) -> None:
    assert detect_language(text) == _reference(text)


def test_a_chinese_complaint_with_english_words_is_chinese() -> None:
    assert detect_language("我的 PayPal 账户被冻结了 since Monday, please help") == "zh"
    assert detect_language("I was charged twice for order 12345 (订单)") == "en"

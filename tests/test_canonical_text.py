"""The canonical form of text (config/rules_text.py) is computed token by token from a
cache; it must equal the plain definition on any text: ``tokens()`` (fold, find the
tokens, expand contractions, stem, one token at a time) joined by single spaces."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.config.rules_text import canonical, tokens

WORDS = st.sampled_from(
    ["I", "can't", "cannot", "won't", "didn't", "n't", "wallet's", "charged", "charges", "ＣＨＡＲＧＥＤ",
     "帳戶", "凍結", "don\u2019t", "it's", "payments", "'s", "ok'd", "123", "¥50", "Re:", "!!!", "  ", "\n"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=30).map(" ".join))
def test_canonical_is_the_plain_definition(text: str) -> None:
    assert canonical(text) == " " + " ".join(tokens(text)) + " "


def test_examples() -> None:
    assert canonical("I can't pay, charges doubled!") == " i can not pay charg doubl "
    assert canonical("帳戶被凍結") == " 账 户 被 冻 结 "

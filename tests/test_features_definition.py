"""The model's n-grams (stages/features.py) are built with regex passes over the whole
mail; they must be the n-grams of the plain definition, one token and one window at a
time, on any text: Chinese, English, mixed, with generic words."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.config.categorizer import generic_phrases, surface_tokens
from inbox_agent.config.char_grams import CHAR_GRAMS, LEGACY_CHAR_GRAMS, CharGrams
from inbox_agent.config.rules_text import cached_stem
from inbox_agent.stages.features import mail_features, without_generic

GENERIC = generic_phrases(("help", "please help", "紧急", "re"))


def _is_cjk(character: str) -> bool:
    return any(
        low <= character <= high
        for low, high in (("\u3400", "\u4dbf"), ("\u4e00", "\u9fff"), ("\uf900", "\ufaff"))
    )


def _plain_without_generic(tokens: list[str], generic: tuple[tuple[str, ...], ...]) -> list[str]:
    """One token at a time: a phrase starting here (the longest first) is cut, else the token kept."""
    kept: list[str] = []
    index = 0
    while index < len(tokens):
        phrase = next((p for p in generic if tuple(tokens[index : index + len(p)]) == p), None)
        if phrase is None:
            kept.append(tokens[index])
            index += 1
        else:
            index += len(phrase)
    return kept


def _plain_part(text: str, grams: CharGrams, counts: Counter[str]) -> None:
    tokens = _plain_without_generic(surface_tokens(text), GENERIC)
    if not tokens:
        return
    words = [cached_stem(token) for token in tokens]
    for word in words:
        counts["w:" + word] += 1
    for left, right in zip(words, words[1:], strict=False):
        counts[f"b:{left} {right}"] += 1
    chars = " "
    for previous, token in zip([""] + tokens, tokens, strict=False):
        if previous and not (_is_cjk(previous[0]) and _is_cjk(token[0])):
            chars += " "
        chars += token
    chars += " "
    for size in range(1, 9):
        for end in range(size, len(chars) + 1):
            gram = chars[end - size : end]
            if size in (grams.chinese if any(_is_cjk(c) for c in gram) else grams.latin):
                counts["c:" + gram] += 1


def _plain_features(subject: str, text: str, grams: CharGrams) -> Counter[str]:
    counts: Counter[str] = Counter()
    _plain_part(subject[:3000], grams, counts)
    _plain_part(text[: 3000 - len(subject[:3000])], grams, counts)
    return counts


PIECES = st.sampled_from(
    ["账户", "被冻结了", "帳戶", "help", "please help", "紧急", "re", "Re:", "refund", "card 1234",
     "我的money没到", "a", "中", "x中y", "  ", "\n", "ok", "转账失败 transfer failed", "¥50"]
)  # fmt: skip


SIZES = st.lists(st.integers(1, 8), max_size=3).map(lambda sizes: tuple(sorted(set(sizes))))
GRAMS = st.one_of(
    st.just(CHAR_GRAMS), st.just(LEGACY_CHAR_GRAMS), st.builds(CharGrams, chinese=SIZES, latin=SIZES)
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=40).map("".join), st.text(max_size=12), GRAMS
)
def test_features_are_the_plain_definition(text: str, subject: str, grams: CharGrams) -> None:
    # The same n-grams, counted alike and in the same order (ties in the model's cap are
    # broken by name, but float sums follow the order).
    found = mail_features(subject, text, GENERIC, grams)
    assert list(found.items()) == list(_plain_features(subject, text, grams).items())


def test_examples() -> None:
    counts = mail_features("", "中文 ab 中")
    assert counts["c: 中文"] == 1 and counts["c:中文 "] == 1 and counts["b:中 文"] == 1
    assert "c:中文" not in counts and "c:ab" not in counts  # no 2-grams: the pair is b:
    assert counts["c: ab "] == 1  # Latin 4-grams are kept whole words apart
    assert "c:文 ab" not in counts  # 4-grams are Latin alone
    assert counts["c: 中 "] == 1 and "c: 中" not in counts
    # A model fitted before (formats 1-5) reads the n-grams it was fitted on: Chinese 2-
    # to 4-grams, and 4-grams holding Chinese and Latin characters.
    legacy = mail_features("", "中文 ab 中", (), LEGACY_CHAR_GRAMS)
    assert legacy["c:中文"] == 1 and legacy["c:文 ab"] == 1 and legacy["c: 中"] == 2
    assert set(legacy) > set(counts)


# Phrases that overlap, share a start, nest and repeat: where cutting one decides the next.
OVERLAPPING = generic_phrases(("a b c", "a b", "b a", "c", "a", "d d"))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "x"]), max_size=16))
def test_generic_phrases_are_cut_as_the_plain_definition_cuts_them(tokens: list[str]) -> None:
    for generic in (OVERLAPPING, OVERLAPPING[1:], GENERIC, ()):
        assert without_generic(list(tokens), generic) == _plain_without_generic(tokens, generic)

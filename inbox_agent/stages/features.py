"""The features the category model sees: word and character n-grams of one mail (pure).

One function serves training (bench/train_model.py, services/training.py hand it to
scikit-learn as the analyzer) and run time (stages/category_model.py), so a feature
means the same thing on both sides. Text is first brought to the canonical tokens
of ``config.rules`` (full-width folded, Traditional folded to Simplified, English
lightly stemmed, every CJK character a token), then:

- ``w:`` word unigrams and ``b:`` bigrams of the stemmed tokens (for Chinese: single
  characters and character pairs, so no segmenter is needed);
- ``c:`` character n-grams of the unstemmed tokens, Chinese characters written
  together and words apart: 3-grams with a Chinese character in them (three-character
  Chinese words, and a two-character word with the space where it starts or ends,
  without a segmenter), and 4-grams of Latin letters, digits and spaces alone
  (misspellings, word forms).
  Latin 2- and 3-grams ("th", " th") are left out: they occur in every English
  mail and carry a weight for nearly every class (the 3-grams alone were half of
  the (feature, class) products per BANKING77 mail, the 2-grams more), for no
  accuracy (5-fold CV on the training part, macro-F1 BANKING77 / hand-written en /
  zh: 0.942 / 0.891 / 0.948 with Latin 3- and 4-grams, 0.941 / 0.898 / 0.948 with
  4-grams only, 0.935 / 0.916 / 0.940 with none).
  Chinese 2- and 4-grams are left out too: a Chinese 2-gram repeats the ``b:`` pair
  of its two characters, and the model had a weight for one in thirteen of a Chinese
  mail's 4-grams; with both, a Chinese character made five n-grams, now three, and
  longer Chinese mail cost more than issue 13's 1 ms. 5-fold CV on the training part,
  the linear model plus its network, macro-F1 BANKING77 / hand-written en / zh, fold
  seeds 77 and 78: 0.951 / 0.923 / 0.957 and 0.950 / 0.922 / 0.960 without them,
  0.952 / 0.926 / 0.951 and 0.950 / 0.922 / 0.950 with them. The sizes are the
  model's (``config/char_grams.py``): a model fitted before reads its own.

Generic words ("help", "urgent", "紧急", "please", "Re:") are removed before any
n-gram is formed: they say how the customer feels, not what went wrong, and must
never decide a category (issue 13). Punctuation ("!!!") never makes a token.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from inbox_agent.config.categorizer import generic_phrases, surface_tokens
from inbox_agent.config.char_grams import CHAR_GRAMS, CharGrams
from inbox_agent.config.rules_text import cached_stem as _stem

__all__ = ["CHAR_GRAMS", "generic_phrases", "mail_features", "surface_tokens", "without_generic"]

# Long mail says what it is about early; the rest (logs, pasted statements) only
# costs time. Characters of subject + text looked at.
MAX_CHARS = 3000
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
_NON_CJK_RUN = re.compile(f"[^{_CJK}]+")


def without_generic(tokens: list[str], generic: Sequence[tuple[str, ...]]) -> list[str]:
    """``tokens`` with every occurrence of a generic phrase cut out (at one position,
    the first phrase of ``generic`` that is there: longest first)."""
    by_first = _phrases_by_first_token(tuple(generic))
    if by_first.keys().isdisjoint(tokens):
        return tokens
    # Only where a phrase can start is a phrase looked for, and only the phrases that
    # start with that token; the runs between are kept by slices (most mails hold
    # "please" or "help", few hold many of them).
    kept: list[str] = []
    resume = 0  # the first token not yet kept or cut
    for index in [i for i, token in enumerate(tokens) if token in by_first]:
        if index < resume:  # inside a phrase just cut
            continue
        phrases = by_first[tokens[index]]
        phrase = next((p for p in phrases if tuple(tokens[index : index + len(p)]) == p), None)
        if phrase is not None:
            kept += tokens[resume:index]
            resume = index + len(phrase)
    kept += tokens[resume:]
    return kept


@lru_cache(maxsize=8)
def _phrases_by_first_token(generic: tuple[tuple[str, ...], ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The phrases grouped by their first token, each group in the order of ``generic``."""
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for phrase in generic:
        grouped.setdefault(phrase[0], []).append(phrase)
    return {first: tuple(phrases) for first, phrases in grouped.items()}


def _char_string(tokens: list[str]) -> str:
    """Tokens as one string: Chinese characters stay adjacent, words are space-separated.

    A CJK token is one character and no other token holds one, so the spaces to drop
    are exactly those with a CJK character on both sides: one regex pass in C."""
    return f" {_CJK_GAP.sub('', ' '.join(tokens))} "


def _grams_with_cjk(chars: str, size: int, prefix: str = "") -> list[str]:
    """Every ``size``-gram of ``chars`` holding a CJK character, in order, after
    ``prefix``: all windows but those lying inside a run of other characters (no
    per-window test)."""
    grams: list[str] = []
    end = size  # the next window end not yet taken or skipped
    for run in _NON_CJK_RUN.finditer(chars):
        first, last = run.span()
        if last - first >= size:  # windows ending in first+size..last lie inside the run
            grams += [prefix + chars[stop - size : stop] for stop in range(end, first + size)]
            end = last + 1
    grams += [prefix + chars[stop - size : stop] for stop in range(end, len(chars) + 1)]
    return grams


def _grams_without_cjk(chars: str, size: int, prefix: str = "") -> list[str]:
    """Every ``size``-gram of ``chars`` holding no CJK character, in order, after ``prefix``:
    the windows lying inside a run of other characters."""
    grams: list[str] = []
    for run in _NON_CJK_RUN.finditer(chars):
        first, last = run.span()
        grams += [prefix + chars[stop - size : stop] for stop in range(first + size, last + 1)]
    return grams


def _part(text: str, generic: Sequence[tuple[str, ...]], grams: CharGrams, counts: Counter[str]) -> None:
    # Counter.update over a list counts in C, not one Python ``counts[gram] += 1`` per
    # n-gram (a long mail has ~1,000); the same counts, in the same insertion order.
    tokens = without_generic(surface_tokens(text), generic)
    if not tokens:
        return
    words = [_stem(token) for token in tokens]
    counts.update(["w:" + word for word in words])
    counts.update([f"b:{left} {right}" for left, right in zip(words, words[1:], strict=False)])
    # Tokens are separated by single spaces, so no n-gram of 2 characters or more is blank.
    chars = _char_string(tokens)
    chinese = _CJK_CHAR.search(chars) is not None
    for size in grams.sizes:  # size after size, each in text order
        with_cjk, latin = size in grams.chinese, size in grams.latin
        if latin and (with_cjk or not chinese):  # every window of this size
            counts.update(["c:" + chars[end - size : end] for end in range(size, len(chars) + 1)])
        elif with_cjk and chinese:
            counts.update(_grams_with_cjk(chars, size, "c:"))
        elif latin:
            counts.update(_grams_without_cjk(chars, size, "c:"))


def mail_features(
    subject: str, text: str, generic: Sequence[tuple[str, ...]] = (), grams: CharGrams = CHAR_GRAMS
) -> Counter[str]:
    """Feature counts of one mail. ``generic``: from :func:`generic_phrases`
    (``rules.categorizer.generic_tokens``); ``grams``: the character n-grams formed, those
    the model at hand was fitted on (``CategoryModel.char_grams``).

    Subject and text are featurized apart, so no n-gram spans the two and a word
    added at the start of either leaves the other's n-grams as they were.
    """
    counts: Counter[str] = Counter()
    subject = subject[:MAX_CHARS]
    _part(subject, generic, grams, counts)
    _part(text[: MAX_CHARS - len(subject)], generic, grams, counts)
    return counts

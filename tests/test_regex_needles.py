"""The needles a pattern cannot match without: never a skipped match, and a real cut.

The evidence finders skip a pattern's scan when the text lacks all of its needles
(domain/regex_needles). Skipping must never lose a match: every pattern of every finder
is checked against texts made to match it (hypothesis' from_regex), against the
repository's labelled texts, and against the letters re.IGNORECASE folds to ASCII.
"""

from __future__ import annotations

import csv
import importlib
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox_agent.domain import mask_patterns
from inbox_agent.domain.regex_needles import could_match, lowered, needles

DATA = Path(__file__).parent / "data"
FINDER_MODULES = (
    "inbox_agent.stages.evidence_amounts",
    "inbox_agent.stages.evidence_dates",
    "inbox_agent.stages.evidence_times",
    "inbox_agent.stages.evidence_identifiers",
    "inbox_agent.stages.evidence_error_message",
    "inbox_agent.stages.evidence_history_and_resolution",
)


def _patterns_in(value: object) -> list[re.Pattern[str]]:
    if isinstance(value, re.Pattern):
        return [value]
    if isinstance(value, list | tuple):
        return [p for item in value for p in _patterns_in(item)]
    return []


def _all_patterns() -> list[re.Pattern[str]]:
    found: dict[int, re.Pattern[str]] = {}
    for module in (*map(importlib.import_module, FINDER_MODULES), mask_patterns):
        for value in vars(module).values():
            for pattern in _patterns_in(value):
                if isinstance(pattern.pattern, str):
                    found[id(pattern)] = pattern
    return list(found.values())


PATTERNS = _all_patterns()


def test_the_finders_patterns_are_all_checked_here() -> None:
    # A finder module whose patterns moved elsewhere would make the checks below vacuous.
    assert len(PATTERNS) >= 80
    assert sum(needles(p) is not None for p in PATTERNS) >= 40


def test_the_letters_ignorecase_folds_to_ascii_are_the_four_lowered_knows() -> None:
    letter = re.compile("[a-z]", re.IGNORECASE)
    odd = {c for c in map(chr, range(128, sys.maxunicode + 1)) if letter.fullmatch(c)}
    assert odd == {"\u0130", "\u0131", "\u017f", "\u212a"}
    assert lowered("SİGN İN ıd ſent \u212aey") == "sign in id sent key"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"refund", {"refund"}),
        (r"(?i)Refund|Money back", {"refund", "money back"}),
        (r"pay(?:ee)?|paid", {"pa"}),  # re's parser takes the common "pa" out of the branches
        (r"payee|pay", {"pay"}),  # "payee" holds "pay": one test serves both
        (r"(?<!\d)20\d\d", {"20"}),
        (r"\bunlock\b", {"unlock"}),
        (r"[ab]cd", {"cd"}),
        (r"(?:recipient|payee)\s*(?:is|was)", {"recipient", "payee"}),  # the longer ones decide
        (r"x?y*", None),
        (r"refund|\d+", None),  # one branch needs no string
        (r"收款人|转给", {"收款人", "转给"}),
        (r"(?i)Σ", None),  # a cased non-ASCII letter may fold unlike str.lower()
    ],
)
def test_needles_of_small_patterns(pattern: str, expected: set[str] | None) -> None:
    found = needles(re.compile(pattern))
    assert found == (None if expected is None else frozenset(expected))


def test_a_pattern_without_needles_is_always_scanned() -> None:
    assert could_match(re.compile(r"\d+"), "no digits at all")
    assert not could_match(re.compile(r"(?i)refund"), lowered("Please call me"))
    assert could_match(re.compile(r"(?i)refund"), lowered("REFUND me"))


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.pattern[:40])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(data=st.data())
def test_text_made_to_match_is_never_skipped(pattern: re.Pattern[str], data: st.DataObject) -> None:
    text = data.draw(st.from_regex(pattern))
    if pattern.search(text):  # look-arounds may make a drawn text fail: nothing to check then
        assert could_match(pattern, lowered(text)), text


def _labelled_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA.rglob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts += [row[key] for key in ("subject", "text", "body") if row.get(key)]
    return texts


def test_no_match_in_the_labelled_texts_is_skipped() -> None:
    texts = _labelled_texts()
    assert len(texts) > 10_000
    skipped_scans = 0
    for text in texts:
        low = lowered(text)
        for pattern in PATTERNS:
            if could_match(pattern, low):
                continue
            skipped_scans += 1
            assert pattern.search(text) is None, (pattern.pattern, text)
    # The point of the needles: most scans of most texts are skipped.
    assert skipped_scans > len(texts) * len(PATTERNS) // 3


# Patterns whose look-behind was moved after their first character, so the engine can
# skip ahead to it (evidence_dates, evidence_amounts), against their plain form.
_PLAIN_FORMS = {
    "ymd": r"(?<!\d)(?P<y>20\d\d)\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)",
    "mdy": r"(?<![\d/.-])(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>20\d\d|\d\d)(?![\d/-])(?!\.\d)",
}
_PIECES = st.sampled_from(
    [
        *"0123456789",
        "20",
        "2026",
        "19",
        ".",
        ",",
        ":",
        "/",
        "-",
        " ",
        "\n",
        "年",
        "月",
        "日",
        "号",
        "a",
        "th",
        " of ",
        "Nov",
        " november",
        "March ",
        "1,234",
        ".50",
        "x",
    ]
)


def _rewritten() -> list[tuple[str, re.Pattern[str], re.Pattern[str]]]:
    from inbox_agent.stages import evidence_amounts, evidence_dates

    dates = dict(evidence_dates._DATE_PATTERNS)
    plain = {kind: re.compile(form) for kind, form in _PLAIN_FORMS.items()}
    plain["d_month"] = re.compile(
        rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{evidence_dates._MONTH},?(?:\s+(?P<y>20\d\d))?\b",
        re.I,
    )
    bare = re.compile(r"(?<![\d.,:/-])(\d{1,3}(?:,\d{3})+(?:\.\d{2})?|\d+\.\d{2})(?![\d:/-]|\.\d|[号日])")
    return [
        *((kind, plain[kind], dates[kind]) for kind in ("ymd", "mdy", "d_month")),
        ("bare amount", bare, evidence_amounts._BARE_AMOUNT),
    ]


REWRITTEN = _rewritten()


@pytest.mark.parametrize(("kind", "plain", "fast"), REWRITTEN, ids=[r[0] for r in REWRITTEN])
@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=30))
def test_a_moved_look_behind_finds_the_same_matches(
    kind: str, plain: re.Pattern[str], fast: re.Pattern[str], pieces: list[str]
) -> None:
    text = "".join(pieces)
    assert [(m.span(), m.groups()) for m in fast.finditer(text)] == [
        (m.span(), m.groups()) for m in plain.finditer(text)
    ]


@pytest.mark.parametrize(("kind", "plain", "fast"), REWRITTEN, ids=[r[0] for r in REWRITTEN])
def test_a_moved_look_behind_finds_the_same_matches_in_the_labelled_texts(
    kind: str, plain: re.Pattern[str], fast: re.Pattern[str]
) -> None:
    found = 0
    written = [  # the labelled texts hold few written-out dates
        "2026-11-18 14:02 转账失败, 2026/11/3 again, 2026年11月3日, 2026. 11. 3",
        "on 18/11/2026 and 3.11.26, 11-18-26, not 24/7 or 1/2/3/4, the 3rd of November 2026, 28 Feb",
        "charged 1,234.50 then 99.00, on 2026.11.18 at 11.18号, ref 12345.678",
    ]
    for text in [*written, *_labelled_texts()]:
        expected = [(m.span(), m.groups()) for m in plain.finditer(text)]
        assert [(m.span(), m.groups()) for m in fast.finditer(text)] == expected, text
        found += len(expected)
    assert found >= 3  # the texts exercise the pattern

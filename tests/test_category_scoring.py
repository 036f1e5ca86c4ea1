"""The category model's scores: the packed big-integer sums (stages/category_model.py)
give what the plain loop over every (n-gram, class) weight gives."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from inbox_agent.adapters.training_corpus import labelled_mails, load_corpus
from inbox_agent.config.model_file import CategoryModel
from inbox_agent.config.rules import default_rules
from inbox_agent.stages.category_model import (
    MAX_FEATURES,
    PACKED_LIMIT,
    PACKED_MIN_ROWS,
    PACKED_MIN_WEIGHTS,
    PACKED_ONE,
    _packed,
    model_verdict,
    pack,
)
from inbox_agent.stages.features import mail_features

DATA = Path(__file__).resolve().parent / "data"


def _plain_scores(model: CategoryModel, counts: Mapping[str, int]) -> list[float]:
    """scikit-learn's arithmetic written out: sublinear tf-idf of the MAX_FEATURES highest
    known n-grams, scaled to length 1, one multiply-add per weight."""
    rows = sorted(
        (-(1.0 + math.log(c)) * model.features[n][0], n) for n, c in counts.items() if n in model.features
    )[:MAX_FEATURES]
    norm = math.sqrt(math.fsum(v * v for v, _ in rows)) or 1.0
    scores = list(model.intercepts)
    for value, name in rows:
        for index, weight in model.features[name][1].items():
            scores[index] += -value / norm * weight
    return scores


def test_pack_is_the_sum_of_the_shifted_signed_fields() -> None:
    rng = random.Random(13)
    for _ in range(500):
        fields = [
            rng.choice((0, rng.randint(-9, 9), rng.randint(-(2**62), 2**62)))
            for _ in range(rng.randint(1, 90))
        ]
        assert pack(fields) == sum(field << (64 * index) for index, field in enumerate(fields))


def test_scores_are_those_of_the_plain_loop_on_long_and_short_mail() -> None:
    rules = default_rules()
    model = rules.model
    assert model is not None
    generic = rules.categorizer.generic_tokens
    mails = [(m.subject, m.text) for m in labelled_mails(DATA / "labelled")]
    corpus = load_corpus(DATA, corrections_file=None)
    mails += [(e.subject, e.text) for e in corpus.heldout[::40]]
    packed_groups = 0
    for subject, text in mails:
        counts = mail_features(subject, text, generic)
        verdict = model_verdict(model, counts)
        plain = _plain_scores(model, counts)
        assert max(abs(a - b) for a, b in zip(verdict.scores, plain, strict=True)) < 1e-9
        seen_once = [n for n in verdict.vector if counts[n] == 1 and n in _packed(model)]
        packed_groups += len(seen_once) >= PACKED_MIN_ROWS
    assert packed_groups >= 10  # the packed sums were used, not only the loop


def test_a_weight_too_large_to_pack_safely_is_scored_by_the_loop() -> None:
    weights = {index: 0.5 for index in range(PACKED_MIN_WEIGHTS)}
    huge = PACKED_LIMIT / PACKED_ONE / MAX_FEATURES * 2  # one more field of it could overflow
    features = {f"w:{i}": (1.0, dict(weights)) for i in range(20)} | {"w:huge": (1.0, weights | {0: huge})}
    model = CategoryModel(
        version="t",
        classes=tuple(f"c{i}" for i in range(PACKED_MIN_WEIGHTS)),
        class_category=("other",) * PACKED_MIN_WEIGHTS,
        intercepts=(0.0,) * PACKED_MIN_WEIGHTS,
        temperature=1.0,
        features=features,
    )
    assert "w:huge" not in _packed(model) and "w:0" in _packed(model)
    counts = Counter({name: 1 for name in features}) + Counter({"w:3": 2, "w:4": 1})
    scores = model_verdict(model, counts).scores
    plain = _plain_scores(model, counts)
    assert max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(scores, plain, strict=True)) < 1e-9
    # A model derived with replace() builds its own tables: they belong to its features.
    assert replace(model, temperature=2.0).derived == {}

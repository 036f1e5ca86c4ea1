"""The category model's scores: the array arithmetic over the feature table
(config/feature_table.py) gives what the plain loop over every (n-gram, class) weight
gives, and the explanation what sorting every share gives."""

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
    best_class,
    category_logits,
    contributions,
    mail_verdict,
    model_verdict,
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


def test_scores_are_those_of_the_plain_loop_on_long_and_short_mail() -> None:
    rules = default_rules()
    model = rules.model
    assert model is not None
    generic = rules.categorizer.generic_tokens
    mails = [(m.subject, m.text) for m in labelled_mails(DATA / "labelled")]
    corpus = load_corpus(DATA, corrections_file=None)
    mails += [(e.subject, e.text) for e in corpus.heldout[::40]]
    capped = 0
    for subject, text in mails:
        counts = mail_features(subject, text, generic, model.char_grams)
        verdict = model_verdict(model, counts)
        plain = _plain_scores(model, counts)
        assert max(abs(a - b) for a, b in zip(verdict.scores, plain, strict=True)) < 1e-9
        capped += sum(n in model.features for n in counts) > MAX_FEATURES
    assert capped >= 5  # long mails were among them: the cap and its tie-break were used


def _plain_category_logits(model: CategoryModel, scores: list[float]) -> dict[str, float]:
    """softmax(scores / temperature) written out, each category the sum of its classes."""
    tempered = [s / model.temperature for s in scores]
    top = max(tempered)
    exps = [math.exp(s - top) for s in tempered]
    totals: dict[str, float] = {}
    for category, e in zip(model.class_category, exps, strict=True):
        totals[category] = totals.get(category, 0.0) + e / math.fsum(exps)
    return {c: math.log(max(p, 1e-12)) for c, p in totals.items()}


def test_category_probabilities_and_best_classes_are_those_of_the_plain_loops() -> None:
    rules = default_rules()
    model = rules.model
    assert model is not None
    mails = [(m.subject, m.text) for m in labelled_mails(DATA / "labelled")] + [("", "")]
    for subject, text in mails:
        verdict = mail_verdict(model, subject, text, rules.categorizer.generic_tokens)
        scores = [float(s) for s in verdict.scores]
        logits = category_logits(model, verdict)
        plain = _plain_category_logits(model, scores)
        assert list(logits) == list(plain)  # categories in the order of their first class
        assert max(abs(logits[c] - plain[c]) for c in plain) < 1e-9
        for category in plain:
            members = [i for i, c in enumerate(model.class_category) if c == category]
            assert best_class(model, verdict, category) == max(members, key=lambda i: scores[i])
    assert best_class(model, verdict, "no_such_category") == -1
    tied = replace(model, intercepts=(0.0,) * len(model.classes))  # every class ties on ""
    verdict = model_verdict(tied, Counter())
    first = model.class_category.index("security")
    assert best_class(tied, verdict, "security") == first  # a tie goes to the lowest index


def _tied_model(size: int) -> CategoryModel:
    """``size`` n-grams of one idf (ties everywhere), each raising class 1 by its own weight."""
    features = {f"w:{i:03d}": (2.0, {1: 0.01 * (i % 7 + 1), 0: -0.001}) for i in range(size)}
    return CategoryModel(
        version="t",
        classes=("c0", "c1"),
        class_category=("other", "other"),
        intercepts=(0.0, 0.5),
        temperature=1.0,
        features=features,
    )


def test_tied_ngrams_beyond_the_cap_are_kept_by_name() -> None:
    model = _tied_model(MAX_FEATURES + 60)
    names = list(model.features)
    rng = random.Random(5)
    rng.shuffle(names)  # the mail's order is not the model's
    counts = Counter({name: 1 for name in names} | {"w:unknown": 3})
    verdict = model_verdict(model, counts)
    assert sorted(verdict.vector) == sorted(names)[:MAX_FEATURES]
    plain = _plain_scores(model, counts)
    assert max(abs(a - b) for a, b in zip(verdict.scores, plain, strict=True)) < 1e-12


def _plain_contributions(model: CategoryModel, vector: Mapping[str, float], index: int, top: int) -> list:
    shares = [(value * model.features[n][1].get(index, 0.0), n) for n, value in vector.items()]
    return [(n, -s) for s, n in sorted((-round(s, 3), n) for s, n in shares if s > 0)][:top]


def test_the_explanation_is_the_top_of_every_share_sorted() -> None:
    rules = default_rules()
    model = rules.model
    assert model is not None
    mails = [(m.subject, m.text) for m in labelled_mails(DATA / "labelled")]
    mails += [("", ""), ("x", "zzzz qqqq")]  # nothing known: nothing to explain
    for subject, text in mails:
        verdict = mail_verdict(model, subject, text, rules.categorizer.generic_tokens)
        for index in range(0, len(model.classes), 7):
            for top in (0, 1, 5, 12):
                expected = _plain_contributions(model, verdict.vector, index, top)
                assert list(contributions(model, verdict, index, top)) == expected
    tied = _tied_model(40)
    verdict = model_verdict(tied, Counter(dict.fromkeys(tied.features, 1)))
    assert list(contributions(tied, verdict, 1, 5)) == _plain_contributions(tied, verdict.vector, 1, 5)


def test_the_table_reads_back_as_the_rows_it_was_made_from() -> None:
    rows = {"w:b": (1.5, {3: 0.25, 0: -1.0}), "w:a": (2.0, {}), "c:中文": (0.5, {1: 2.0})}
    model = CategoryModel(
        version="t",
        classes=("a", "b", "c", "d"),
        class_category=("other",) * 4,
        intercepts=(0.0,) * 4,
        temperature=1.0,
        features=rows,
    )
    assert dict(model.features) == rows
    assert list(model.features) == sorted(rows)  # rows in name order: ties break by row
    assert "w:a" in model.features and "w:z" not in model.features
    assert model == replace(model, features=dict(rows))

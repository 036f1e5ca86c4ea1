"""Measure a category model: accuracy, macro-F1, per-category P/R/F1, confusion, calibration.

Pure Python, shared by ``inbox-agent train`` (new model beside the current one),
``bench/train_model.py`` and ``bench/eval_categories.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from inbox_agent.config.model_file import CategoryModel, ModelRef
from inbox_agent.config.rules import Rules
from inbox_agent.domain.model import CATEGORIES
from inbox_agent.services.model_fit import Example, expected_calibration_error
from inbox_agent.stages.categorize import categorize


def metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Per-category precision/recall/F1, macro-F1 over the categories present in ``gold``."""
    pairs = list(zip(gold, predicted, strict=True))
    labels = [c for c in CATEGORIES if c in set(gold) | set(predicted)]
    per: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(g == p == label for g, p in pairs)
        fp = sum(p == label != g for g, p in pairs)
        fn = sum(g == label != p for g, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    present = [label for label in labels if per[label]["support"]]
    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g, p in pairs:
        confusion[g][p] += 1
    return {
        "n": len(pairs),
        "accuracy": sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0,
        "macro_f1": sum(per[label]["f1"] for label in present) / len(present) if present else 0.0,
        "per_category": per,
        "confusion": {g: dict(row) for g, row in confusion.items()},
    }


def rules_for(
    rules: Rules, model: CategoryModel | None, mode: str | None = None, weight: float | None = None
) -> Rules:
    """``rules`` with another model, rule mode or rule weight (for measuring)."""
    settings = rules.categorizer
    settings = replace(
        settings,
        rules=mode or settings.rules,
        rule_weight=settings.rule_weight if weight is None else weight,
    )
    return replace(rules, model_ref=ModelRef.of(model) if model else None, categorizer=settings)


def evaluate(rules: Rules, examples: Sequence[Example]) -> dict[str, Any]:
    """Metrics of ``rules`` (its model and settings) on ``examples``, with calibration.

    The category compared is the decided one before needs_triage moves it to
    "other": the model is measured, the triage threshold is a separate choice
    (``triaged`` says how many would go to staff, ``triaged_accuracy`` how many of
    the rest are right).
    """
    results = [categorize(e.subject, e.text, rules) for e in examples]
    decided = [r.guess or r.category for r in results]
    gold = [e.category for e in examples]
    report = metrics(gold, decided)
    confident = [(g, d) for g, d, r in zip(gold, decided, results, strict=True) if not r.needs_triage]
    report["ece"] = expected_calibration_error(
        [r.confidence for r in results], [g == d for g, d in zip(gold, decided, strict=True)]
    )
    report["triaged"] = len(results) - len(confident)
    report["triaged_accuracy"] = sum(g == d for g, d in confident) / len(confident) if confident else 0.0
    report["predicted"] = decided
    report["mistakes"] = [
        {"subject": e.subject[:60], "text": e.text[:100], "labelled": g, "predicted": d}
        for e, g, d in zip(examples, gold, decided, strict=True)
        if g != d
    ]
    return report


def summary_line(name: str, report: dict[str, Any]) -> str:
    return (
        f"{name:<34} n={report['n']:>5}  accuracy={report['accuracy']:.3f}  macro-F1={report['macro_f1']:.3f}"
        f"  ECE={report.get('ece', float('nan')):.3f}"
    )

"""Categorize a complaint by the weighted terms of the rules (pure).

Every decision is explainable: the result lists the (category, term) pairs that
matched, and a category's score is just the sum of their weights (a term in the
subject counts ``scoring.subject_weight`` times) plus the category's bias. The
terms and weights are configuration (``default_rules.toml``), partly learned from
BANKING77 by ``bench/train_terms.py``, never hidden in code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from inbox_agent.config.rules import CategoryRule, Rules, canonical
from inbox_agent.domain.model import Categorization
from inbox_agent.stages.evidence import find_amounts

OTHER = "other"


@dataclass(frozen=True)
class Scores:
    """Per-category term scores of one mail, before the bias; the raw material of a decision."""

    terms: Mapping[str, float]  # category -> sum of matched term weights
    matched: tuple[tuple[str, str], ...]


def _cancel_negatives(text: str, rule: CategoryRule) -> str:
    """Blank the negative phrases, so "not hacked" no longer contains the term "hacked"."""
    for pattern in rule.negative_patterns:
        text = text.replace(f" {pattern} ", " | " * (pattern.count(" ") + 1))
    return text


def score_terms(subject: str, text: str, rules: Rules) -> Scores:
    """Sum the weights of each category's terms found in subject and text."""
    subject_form, body_form = canonical(subject), canonical(text)
    totals: dict[str, float] = {}
    matched: list[tuple[str, str]] = []
    for category, rule in rules.categories.items():
        subject_here = _cancel_negatives(subject_form, rule)
        body_here = _cancel_negatives(body_form, rule)
        total = 0.0
        for term in rule.terms:
            needle = f" {term.pattern} "
            if needle in subject_here:
                total += term.weight * rules.scoring.subject_weight
            elif needle in body_here:
                total += term.weight
            else:
                continue
            matched.append((category, term.text))
        totals[category] = total
    return Scores(terms=totals, matched=tuple(matched))


def _softmax_share(scores: Mapping[str, float], winner: str) -> float:
    top = max(scores.values())
    exps = {c: math.exp(s - top) for c, s in scores.items()}
    return exps[winner] / sum(exps.values())


def decide(scores: Scores, rules: Rules) -> tuple[str, tuple[str, ...], float]:
    """Primary category, all categories (primary first) and confidence from term scores."""
    if sum(scores.terms.values()) < rules.scoring.min_score:
        # Nothing (or next to nothing) matched: "other" by default, not by evidence.
        return OTHER, (OTHER,), 0.0
    final = {c: scores.terms.get(c, 0.0) + rule.bias for c, rule in rules.categories.items()}
    primary = max(final, key=lambda c: (final[c], scores.terms.get(c, 0.0)))
    if primary == OTHER:
        decisive = _decisive_categories(scores, rules)
        if decisive:
            primary = max(decisive, key=lambda c: (final[c], scores.terms.get(c, 0.0)))
    floor = rules.scoring.secondary_fraction * scores.terms.get(primary, 0.0)
    secondary = sorted(
        (c for c, s in scores.terms.items() if c not in (primary, OTHER) and s > 0 and s >= floor),
        key=lambda c: -scores.terms[c],
    )
    return primary, (primary, *secondary), round(_softmax_share(final, primary), 3)


def _decisive_categories(scores: Scores, rules: Rules) -> list[str]:
    """Specific categories with at least one matched term of decisive weight."""
    threshold = rules.scoring.decisive_weight
    found = []
    for category, text in scores.matched:
        rule = rules.categories.get(category)
        if category == OTHER or rule is None or category in found:
            continue
        if any(term.text == text and term.weight >= threshold for term in rule.terms):
            found.append(category)
    return found


def severity_of(categories: tuple[str, ...], subject: str, text: str, rules: Rules) -> str:
    """ "urgent" for an urgent category, "high" for a large amount, else "normal"."""
    if any(c in rules.severity.urgent_categories for c in categories):
        return "urgent"
    thresholds = rules.severity.high_amount
    for amount in find_amounts(subject, text):
        limit = thresholds.get(amount.currency)
        if limit is not None and amount.value >= limit:
            return "high"
    return "normal"


def categorize(subject: str, text: str, rules: Rules) -> Categorization:
    """Categorize one complaint (Simplified/Traditional Chinese, English, or mixed)."""
    scores = score_terms(subject, text, rules)
    primary, categories, confidence = decide(scores, rules)
    # The "why": the matched terms of the categories the mail was filed under, primary
    # first. Terms of categories that lost are left out: they explain nothing to staff.
    rank = {category: index for index, category in enumerate(categories)}
    matched = tuple(sorted((pair for pair in scores.matched if pair[0] in rank), key=lambda p: rank[p[0]]))
    return Categorization(
        category=primary,
        categories=categories,
        confidence=confidence,
        matched=matched,
        severity=severity_of(categories, subject, text, rules),
    )

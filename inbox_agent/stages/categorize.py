"""Categorize a complaint: the learned model, helped by the curated rules (pure).

The model (``stages/category_model.py``) gives each category a calibrated
probability from the mail's word and character n-grams; the curated terms of the
rules (``default_rules.toml``, editable by ops) add their score as a prior, decide
outright, or stay out (``[categorizer] rules``). Every decision is explainable: the
result lists the curated terms that matched and the n-grams that pushed the model
hardest. Below ``min_confidence`` the mail is filed as ``other`` and flagged
``needs_triage`` rather than confidently wrong. Generic words ("help", "紧急") are
cut out before the model looks (``stages/features.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from inbox_agent.config.model_file import CategoryModel
from inbox_agent.config.rules import CategoryRule, Rules, canonical
from inbox_agent.domain.model import CATEGORIES, Categorization
from inbox_agent.stages.category_model import (
    best_class,
    category_logits,
    contributions,
    mail_verdict,
    second_opinion_logits,
    softmax,
)
from inbox_agent.stages.evidence import Amount, find_amounts

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
    # Most terms hold a token the mail lacks: a set test rules them out before any
    # search (cancelling negatives only removes tokens, so this set is never short).
    present = frozenset(subject_form.split()).union(body_form.split())
    totals: dict[str, float] = {}
    matched: list[tuple[str, str]] = []
    for category, rule in rules.categories.items():
        candidates = [term for term in rule.terms if term.tokens <= present]
        if not candidates:
            totals[category] = 0.0
            continue
        subject_here = _cancel_negatives(subject_form, rule)
        body_here = _cancel_negatives(body_form, rule)
        # One search per term in both; the double space where they meet lets no term
        # span the two.
        both = subject_here + body_here
        total = 0.0
        for term in candidates:
            needle = term.needle
            if needle not in both:
                continue
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


def severity_of(
    categories: tuple[str, ...],
    subject: str,
    text: str,
    rules: Rules,
    amounts: tuple[Amount, ...] | None = None,
) -> str:
    """ "urgent" for an urgent category, "high" for a large amount, else "normal".
    ``amounts``: ``find_amounts(subject, text)`` when the caller has it already."""
    if any(c in rules.severity.urgent_categories for c in categories):
        return "urgent"
    thresholds = rules.severity.high_amount
    for amount in find_amounts(subject, text) if amounts is None else amounts:
        limit = thresholds.get(amount.currency)
        if limit is not None and amount.value >= limit:
            return "high"
    return "normal"


@dataclass(frozen=True)
class ModelDecision:
    category: str
    probabilities: Mapping[str, float]  # per category, rules applied
    explanation: tuple[tuple[str, float], ...]
    overridden: bool = False  # a decisive curated term decided against the model (mode "override")
    # The network's own probability of each category, when the model has one: its
    # share of the decision, shown beside the n-grams (which explain the linear part).
    second_opinion: Mapping[str, float] | None = None


def decide_with_model(
    subject: str, text: str, scores: Scores, rules: Rules, model: CategoryModel
) -> ModelDecision:
    """The category the model and the curated terms settle on, per ``[categorizer] rules``."""
    settings = rules.categorizer
    verdict = mail_verdict(model, subject, text, settings.generic_tokens)
    logits = category_logits(model, verdict)
    if settings.rules == "prior":
        logits = {c: v + settings.rule_weight * scores.terms.get(c, 0.0) for c, v in logits.items()}
    second = second_opinion_logits(model, verdict) if settings.second_opinion else None
    if second is not None and model.network is not None:
        # The two opinions' log-probabilities summed, then scaled by their own fitted
        # temperature so the confidence stays calibrated (config/second_opinion.py).
        scale = model.network.blend_temperature
        logits = {c: (v + second[c]) / scale for c, v in logits.items()}
    names = list(logits)
    probabilities = dict(zip(names, softmax([logits[c] for c in names]), strict=True))
    primary = max(names, key=lambda c: probabilities[c])
    overridden = False
    if settings.rules == "override":
        decisive = _decisive_categories(scores, rules)
        if decisive and primary not in decisive:
            primary = max(decisive, key=lambda c: scores.terms.get(c, 0.0))
            overridden = True
    explanation = contributions(model, verdict, best_class(model, verdict, primary), settings.explain_top)
    opinion = None if second is None else {c: math.exp(v) for c, v in second.items()}
    return ModelDecision(primary, probabilities, explanation, overridden, opinion)


def _secondary(primary: str, decision: ModelDecision, scores: Scores, rules: Rules) -> list[str]:
    """Other specific categories the mail is also about: likely by the model, or by
    curated terms scoring at least ``secondary_fraction`` of the primary's."""
    floor = rules.scoring.secondary_fraction * scores.terms.get(primary, 0.0)
    likely = {c for c, p in decision.probabilities.items() if p >= 0.15}
    termed = {c for c, s in scores.terms.items() if s > 0 and s >= floor}
    found = (likely | termed) - {primary, OTHER}
    return sorted(found, key=lambda c: -decision.probabilities.get(c, 0.0))


def _explained(scores: Scores, categories: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # The matched terms of the categories the mail was filed under, primary first.
    # Terms of categories that lost are left out: they explain nothing to staff.
    rank = {category: index for index, category in enumerate(categories)}
    return tuple(sorted((pair for pair in scores.matched if pair[0] in rank), key=lambda p: rank[p[0]]))


def categorize(
    subject: str, text: str, rules: Rules, amounts: tuple[Amount, ...] | None = None
) -> Categorization:
    """Categorize one complaint (Simplified/Traditional Chinese, English, or mixed).
    ``amounts``: ``find_amounts(subject, text)`` when the caller has it already."""
    scores = score_terms(subject, text, rules)
    if rules.model is None:
        primary, categories, confidence = decide(scores, rules)
        return Categorization(
            category=primary,
            categories=categories,
            confidence=confidence,
            matched=_explained(scores, categories),
            severity=severity_of(categories, subject, text, rules, amounts),
        )
    decision = decide_with_model(subject, text, scores, rules, rules.model)
    confidence = round(decision.probabilities[decision.category], 3)
    # Ops' decisive terms overrule the model knowingly: no triage for their decision.
    low = confidence < rules.categorizer.min_confidence and not decision.overridden
    triage = low and decision.category != OTHER
    primary = OTHER if triage else decision.category
    secondary = _secondary(decision.category, decision, scores, rules)
    categories = tuple(dict.fromkeys((primary, decision.category, *secondary)))
    return Categorization(
        category=primary,
        categories=categories,
        confidence=confidence,
        matched=_explained(scores, categories),
        severity=severity_of(categories, subject, text, rules, amounts),
        explanation=decision.explanation,
        needs_triage=triage,
        guess=decision.category if triage else "",
        model_version=rules.model.version,
        second_opinion=_second_opinion(decision),
    )


def _second_opinion(decision: ModelDecision) -> tuple[tuple[str, float], ...]:
    """The network's top category and, if another was decided, that one: each with the
    network's probability (rounded to 2 decimals, as shown)."""
    opinion = decision.second_opinion
    if not opinion:
        return ()
    top = max(opinion, key=lambda c: opinion[c])
    shown = dict.fromkeys((top, decision.category))
    return tuple((category, round(opinion[category], 2)) for category in shown)


def why_line(result: Categorization) -> str:
    """The decision in one line for the case's history: confidence, n-grams, triage."""
    parts = [f"confidence {result.confidence:.2f}"]
    if result.explanation:
        parts.append("n-grams " + ", ".join(f"{name} {weight:+.2f}" for name, weight in result.explanation))
    if result.second_opinion:
        opinion = ", ".join(f"{category} {p:.2f}" for category, p in result.second_opinion)
        parts.append(f"second opinion {opinion}")
    if result.matched:
        parts.append("terms " + ", ".join(f"{category}:{term}" for category, term in result.matched))
    if result.needs_triage:
        parts.append(f"needs triage (model's guess {result.guess})")
    if result.model_version:
        parts.append(f"model {result.model_version}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Explanation:
    """A decision read back from :func:`why_line` (what the case's "opened" event keeps)."""

    confidence: float | None = None
    features: tuple[tuple[str, float], ...] = ()  # n-gram, its contribution to the decided class
    needs_triage: bool = False
    guess: str = ""  # the model's category when the case went to triage
    model_version: str = ""
    second_opinion: tuple[tuple[str, float], ...] = ()  # the network's (category, probability)


def parse_why_line(detail: str) -> Explanation:
    """The inverse of :func:`why_line` on an event's detail (other segments are ignored;
    for each kind of segment the last one counts, so text before the line cannot pose as it)."""
    found: dict[str, str] = {}
    for segment in detail.split("; "):
        for key in ("confidence ", "n-grams ", "second opinion ", "needs triage (model's guess ", "model "):
            if segment.startswith(key):
                found[key] = segment[len(key) :]
    features = _named_numbers(found.get("n-grams ", ""))
    opinion = tuple(
        pair for pair in _named_numbers(found.get("second opinion ", "")) if pair[0] in CATEGORIES
    )
    try:
        confidence: float | None = float(found["confidence "])
    except (KeyError, ValueError):
        confidence = None
    guess = found.get("needs triage (model's guess ", "").rstrip(")")
    return Explanation(confidence, features, bool(guess), guess, found.get("model ", ""), opinion)


def _named_numbers(segment: str) -> tuple[tuple[str, float], ...]:
    """``"name 0.5, other -1.2"`` as pairs; a pair without a number is skipped."""
    pairs = []
    for pair in segment.split(", "):
        name, _, number = pair.rpartition(" ")
        try:
            pairs.append((name, float(number)))
        except ValueError:
            continue
    return tuple(pairs)

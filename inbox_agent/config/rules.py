"""Categorization and evidence rules: defaults shipped as TOML, overridable from the config.

Everything ops may want to tune (terms and their weights, negative phrases, the
evidence each category needs, what makes a case urgent or high) lives in
``default_rules.toml`` next to this module; the user's ``[categories.*]``,
``[evidence]`` and ``[severity]`` sections are merged over it by :func:`load_rules`.

Terms and mail text are compared in one *canonical form* (:func:`canonical`): NFKC
(full-width to half-width), case-folded, Traditional Chinese folded to Simplified for
the characters complaint words use, English words lightly stemmed, and every token
(a stemmed word, a number, or a single CJK character) separated by one space. A
term matches when its canonical form occurs in the text's canonical form on token
boundaries, which gives English word boundaries and Chinese substring matching with
one rule.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from inbox_agent.config.categorizer import CategorizerSettings, applied_model, load_categorizer
from inbox_agent.config.model_file import CategoryModel, ModelRef
from inbox_agent.config.rules_text import (
    _FOLDING_PAIRS,
    TRADITIONAL_TO_SIMPLIFIED,
    canonical,
    fold,
    stem,
    tokens,
)
from inbox_agent.domain.model import CATEGORIES, EVIDENCE_IDS

__all__ = [  # the text functions are re-exported: callers import them from here
    "_FOLDING_PAIRS",
    "TRADITIONAL_TO_SIMPLIFIED",
    "CategoryRule",
    "Rules",
    "ScoringRules",
    "SeverityRules",
    "Term",
    "canonical",
    "default_rules",
    "fold",
    "load_rules",
    "stem",
    "tokens",
]

DEFAULT_RULES_FILE = "default_rules.toml"

# A plain list of terms in the user's config gives each term this weight: the weight
# of a typical curated term in default_rules.toml.
LIST_TERM_WEIGHT = 4.0


@dataclass(frozen=True)
class Term:
    text: str  # as written in the configuration: what "matched" reports
    weight: float
    pattern: str  # canonical form, without padding
    # " pattern ": what score_terms looks for, built once (261 terms, every mail).
    needle: str = field(default="", init=False, repr=False, compare=False)
    # Its tokens: a mail lacking one of them cannot hold the term (a set test, no search).
    tokens: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needle", f" {self.pattern} ")
        object.__setattr__(self, "tokens", frozenset(self.pattern.split()))

    @classmethod
    def of(cls, text: str, weight: float) -> Term:
        return cls(text=text, weight=float(weight), pattern=canonical(text).strip())


@dataclass(frozen=True)
class CategoryRule:
    id: str
    terms: tuple[Term, ...]
    negative: tuple[str, ...] = ()  # phrases that cancel this category's terms they contain
    bias: float = 0.0  # added to the category's score when the mail is not "other" by default
    negative_patterns: tuple[str, ...] = field(default=(), compare=False)  # canonical forms

    def __post_init__(self) -> None:
        # Computed once here: categorize() uses them for every mail.
        patterns = tuple(canonical(phrase).strip() for phrase in self.negative)
        object.__setattr__(self, "negative_patterns", patterns)


@dataclass(frozen=True)
class SeverityRules:
    urgent_categories: tuple[str, ...]
    # currency code -> amount at or above which a case is "high"
    high_amount: Mapping[str, float]


@dataclass(frozen=True)
class ScoringRules:
    subject_weight: float = 1.5  # a term in the subject counts this many times its weight
    secondary_fraction: float = 0.5  # secondary categories score at least this share of the top
    min_score: float = 1.0  # below this (terms only, no bias), the mail is "other"
    # A matched term this heavy (a curated, unmistakable complaint word such as
    # "suspended" or "盗刷") keeps a mail out of "other": long real mail is full of
    # generic words ("wallet", "account", "send") that BANKING77 taught "other".
    decisive_weight: float = 6.0


@dataclass(frozen=True)
class Rules:
    categories: Mapping[str, CategoryRule]
    # category -> required items in order; each item is a group of alternatives
    required_evidence: Mapping[str, tuple[tuple[str, ...], ...]]
    severity: SeverityRules
    scoring: ScoringRules = ScoringRules()
    categorizer: CategorizerSettings = CategorizerSettings()
    # The learned model, parsed on first use (None: the curated terms alone decide,
    # as before issue 13). Swap it with ``replace(rules, model_ref=ModelRef.of(m))``.
    model_ref: ModelRef | None = field(default=None, repr=False, compare=False)

    @property
    def model(self) -> CategoryModel | None:
        """The learned model (parsed now if this is its first use)."""
        return self.model_ref.get() if self.model_ref is not None else None


@cache
def default_rules() -> Rules:
    """The shipped rules; a broken default file is a bug, so it raises."""
    errors: list[str] = []
    rules = load_rules(None, None, None, errors)
    if errors:
        raise ValueError(f"{DEFAULT_RULES_FILE} is invalid: " + "; ".join(errors))
    return rules


@cache
def _default_data() -> dict[str, Any]:
    text = resources.files("inbox_agent.config").joinpath(DEFAULT_RULES_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_rules(
    categories: Mapping[str, Any] | None,
    evidence: Mapping[str, Any] | None,
    severity: Mapping[str, Any] | None,
    errors: list[str],
    categorizer: Mapping[str, Any] | None = None,
    models_dir: Path | None = None,
) -> Rules:
    """Merge the user's sections over the defaults; one message per problem in ``errors``.

    Never raises for bad user input: a faulty entry is reported and the default kept,
    so the caller can list every problem at once. ``models_dir``: where
    ``inbox-agent train --apply`` keeps models (``<data_dir>/models``); None or no
    applied model there means the shipped model.
    """
    data = _default_data()
    category_rules = _categories(data["categories"], data.get("learned", {}), categories, errors)
    required = _evidence(data["evidence"], evidence, errors)
    severity_rules = _severity(data["severity"], severity, errors)
    scoring = ScoringRules(**data.get("scoring", {}))
    return Rules(
        categories=MappingProxyType(category_rules),
        required_evidence=MappingProxyType(required),
        severity=severity_rules,
        scoring=scoring,
        categorizer=load_categorizer(data.get("categorizer", {}), categorizer, errors),
        model_ref=applied_model(models_dir, errors),
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _table(value: object, path: str, errors: list[str]) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors.append(f"{path}: must be a table")
        return None
    return value


def _term_table(value: object, path: str, errors: list[str]) -> dict[str, float]:
    """A ``{term = weight}`` table, or a list of terms (each ``LIST_TERM_WEIGHT``)."""
    if isinstance(value, list):
        value = {}.fromkeys(value, LIST_TERM_WEIGHT) if all(isinstance(v, str) for v in value) else value
    if not isinstance(value, Mapping):
        errors.append(f"{path}: must be a table of term = weight, or a list of terms")
        return {}
    terms: dict[str, float] = {}
    for text, weight in value.items():
        if not _is_number(weight) or weight <= 0:
            errors.append(f"{path}.{text}: weight must be a number > 0")
        elif not canonical(text).strip():
            errors.append(f"{path}.{text}: term has no letters, digits or CJK characters")
        else:
            terms[text] = float(weight)
    return terms


def _phrase_list(value: object, path: str, errors: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{path}: must be a list of strings")
        return []
    return list(value)


def _unique_terms(terms: Mapping[str, float]) -> tuple[Term, ...]:
    """One term per canonical form; the later entry wins ("charges" after "charge")."""
    by_pattern: dict[str, Term] = {}
    for text, weight in terms.items():
        term = Term.of(text, weight)
        by_pattern.pop(term.pattern, None)
        by_pattern[term.pattern] = term
    return tuple(by_pattern.values())


_CATEGORY_KEYS = ("terms", "extra_terms", "negative", "extra_negative", "bias")


def _categories(
    defaults: Mapping[str, Any],
    learned: Mapping[str, Any],
    user: Mapping[str, Any] | None,
    errors: list[str],
) -> dict[str, CategoryRule]:
    user = _table(user, "categories", errors) or {}
    for category in user:
        if category not in CATEGORIES:
            errors.append(f"categories.{category}: unknown category (known: {', '.join(CATEGORIES)})")
    rules: dict[str, CategoryRule] = {}
    for category in CATEGORIES:
        default = defaults.get(category, {})
        taught = learned.get(category, {})
        # A curated term keeps its hand-set weight when training learned it too.
        terms = dict(taught.get("terms", {})) | dict(default.get("terms", {}))
        negative = list(default.get("negative", []))
        bias = float(default.get("bias", taught.get("bias", 0.0)))
        path = f"categories.{category}"
        section = _table(user.get(category), path, errors) or {}
        for key in section:
            if key not in _CATEGORY_KEYS:
                errors.append(f"{path}.{key}: unknown key (known: {', '.join(_CATEGORY_KEYS)})")
        # "terms" replaces every default term of the category;
        # "extra_terms" adds terms or changes the weight of existing ones.
        if "terms" in section:
            terms = _term_table(section["terms"], f"{path}.terms", errors)
        if "extra_terms" in section:
            terms |= _term_table(section["extra_terms"], f"{path}.extra_terms", errors)
        if "negative" in section:
            negative = _phrase_list(section["negative"], f"{path}.negative", errors)
        if "extra_negative" in section:
            negative += _phrase_list(section["extra_negative"], f"{path}.extra_negative", errors)
        if "bias" in section:
            if _is_number(section["bias"]):
                bias = float(section["bias"])
            else:
                errors.append(f"{path}.bias: must be a number")
        rules[category] = CategoryRule(
            id=category,
            terms=_unique_terms(terms),
            negative=tuple(dict.fromkeys(negative)),
            bias=bias,
        )
    return rules


def _evidence_items(value: object, path: str, errors: list[str]) -> tuple[tuple[str, ...], ...] | None:
    if not isinstance(value, list):
        errors.append(f"{path}: must be a list of evidence ids (alternatives joined by |)")
        return None
    items: list[tuple[str, ...]] = []
    ok = True
    for index, item in enumerate(value):
        if not isinstance(item, str):
            errors.append(f"{path}[{index}]: must be a string")
            ok = False
            continue
        group = tuple(part.strip() for part in item.split("|"))
        for part in group:
            if part not in EVIDENCE_IDS:
                errors.append(
                    f'{path}[{index}]: unknown evidence id "{part}" (known: {", ".join(EVIDENCE_IDS)})'
                )
                ok = False
        items.append(group)
    return tuple(items) if ok else None


def _evidence(
    defaults: Mapping[str, Any], user: Mapping[str, Any] | None, errors: list[str]
) -> dict[str, tuple[tuple[str, ...], ...]]:
    required: dict[str, tuple[tuple[str, ...], ...]] = {}
    for category in CATEGORIES:
        items = defaults["required"].get(category, [])
        required[category] = _evidence_items(items, f"evidence.required.{category}", errors) or ()
    user = _table(user, "evidence", errors) or {}
    for key in user:
        if key != "required":
            errors.append(f"evidence.{key}: unknown key (known: required)")
    user_required = _table(user.get("required"), "evidence.required", errors) or {}
    for category, items in user_required.items():
        path = f"evidence.required.{category}"
        if category not in CATEGORIES:
            errors.append(f"{path}: unknown category (known: {', '.join(CATEGORIES)})")
            continue
        # A category's list replaces the default list: the order is the order asked in.
        parsed = _evidence_items(items, path, errors)
        if parsed is not None:
            required[category] = parsed
    return required


_SEVERITY_KEYS = ("urgent_categories", "high_amount")


def _severity(
    defaults: Mapping[str, Any], user: Mapping[str, Any] | None, errors: list[str]
) -> SeverityRules:
    urgent = list(defaults["urgent_categories"])
    thresholds = {code.upper(): float(amount) for code, amount in defaults["high_amount"].items()}
    user = _table(user, "severity", errors) or {}
    for key in user:
        if key not in _SEVERITY_KEYS:
            errors.append(f"severity.{key}: unknown key (known: {', '.join(_SEVERITY_KEYS)})")
    if "urgent_categories" in user:
        listed = _phrase_list(user["urgent_categories"], "severity.urgent_categories", errors)
        unknown = [c for c in listed if c not in CATEGORIES]
        for category in unknown:
            errors.append(
                f"severity.urgent_categories: unknown category {category!r} (known: {', '.join(CATEGORIES)})"
            )
        if not unknown:
            urgent = listed
    # Per-currency thresholds are merged: the user sets only the currencies they care about.
    for code, amount in (_table(user.get("high_amount"), "severity.high_amount", errors) or {}).items():
        if not re.fullmatch(r"[A-Za-z]{3}", code):
            errors.append(f"severity.high_amount.{code}: not a three-letter currency code")
        elif not _is_number(amount) or amount <= 0:
            errors.append(f"severity.high_amount.{code}: must be a number > 0")
        else:
            thresholds[code.upper()] = float(amount)
    return SeverityRules(urgent_categories=tuple(urgent), high_amount=MappingProxyType(thresholds))

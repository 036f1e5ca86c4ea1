"""`inbox-agent train`: refit the category model, compare it with the current one, switch on request.

The corpus (shipped data plus staff corrections) is read by ``adapters/training_corpus``;
the models are kept by a :class:`ModelRepository` (``adapters/model_store``:
``<data_dir>/models``, every version kept with its metrics, ``current.json`` naming
the applied one and the ones before it for ``--rollback``). The daemon reads the
applied model when it starts (``config/categorizer.applied_model``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from inbox_agent.config.model_file import CategoryModel, model_to_json
from inbox_agent.config.rules import Rules
from inbox_agent.services.model_eval import evaluate, rules_for
from inbox_agent.services.model_fit import Example, Recipe, fit_model

# Hand-written mail, grouped by the first word of its source and its language:
# "written_heldout" and "written_heldout_en" both measure as "written_en" / "written_zh".
HAND_WRITTEN_SOURCES = frozenset(
    {
        "labelled",
        "written_train",
        "written_train_en",
        "written_train_en2",
        "written_train_en3",
        "written_train_zh",
        "written_heldout",
        "written_heldout_en",
        "blind_heldout",
        "blind2_heldout",
        "blind3_heldout",
    }
)


@dataclass(frozen=True)
class Corpus:
    training: tuple[Example, ...]
    heldout: tuple[Example, ...]

    @staticmethod
    def groups(examples: Sequence[Example]) -> dict[str, list[Example]]:
        """Examples by what they measure: BANKING77, complaint mails per language, hard cases."""
        grouped: dict[str, list[Example]] = {}
        for example in examples:
            if example.source in ("banking77", "banking77_style", "hard_cases", "correction"):
                group = example.source
            elif example.source in HAND_WRITTEN_SOURCES:
                group = f"{example.source.split('_')[0]}_{example.language}"
            else:
                group = f"mails_{example.language}"
            grouped.setdefault(group, []).append(example)
        return grouped


class ModelRepository(Protocol):
    def save(self, model: CategoryModel) -> str:
        """Keep ``model`` as a new version; its file name."""
        ...

    def apply(self, name: str) -> None:
        """Make the saved model ``name`` the current one; the current one becomes previous."""
        ...

    def rollback(self) -> str | None:
        """Go back to the previous model; its name, or None when there is none (shipped model)."""
        ...

    def current(self) -> str | None: ...


def model_version(created: datetime, model: CategoryModel) -> str:
    """``YYYYmmddTHHMMSSZ-<8 hex>``: when, and a digest of the weights."""
    digest = hashlib.sha256(
        model_to_json(replace(model, version="", metrics={}, training={})).encode()
    ).hexdigest()
    return f"{created.strftime('%Y%m%dT%H%M%SZ')}-{digest[:8]}"


@dataclass(frozen=True)
class TrainingOutcome:
    model: CategoryModel  # the new model, metrics included
    file: str  # where the repository keeps it
    current: dict[str, Any]  # held-out reports of the current model, per group
    new: dict[str, Any]  # held-out reports of the new model, per group
    applied: bool


def _heldout_reports(rules: Rules, corpus: Corpus) -> dict[str, Any]:
    return {group: evaluate(rules, members) for group, members in Corpus.groups(corpus.heldout).items()}


def _slim(reports: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "accuracy", "macro_f1", "ece")
    return {group: {k: r[k] for k in keys if k in r} for group, r in reports.items()}


def train(
    corpus: Corpus,
    rules: Rules,
    repository: ModelRepository,
    now: datetime,
    *,
    apply: bool,
    recipe: Recipe | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> TrainingOutcome:
    """Fit a model on ``corpus.training``; measure it and the current one on the held-out
    sets; keep it as a new version; make it current only when ``apply``."""
    model = fit_model(corpus.training, rules.categorizer.generic_tokens, recipe or Recipe(), progress)
    progress("measuring on the held-out mails")
    current = _heldout_reports(rules, corpus)
    new = _heldout_reports(rules_for(rules, model), corpus)
    model = replace(
        model,
        version=model_version(now, model),
        metrics={
            "heldout": _slim(new),
            "rules": rules.categorizer.rules,
            "rule_weight": rules.categorizer.rule_weight,
        },
        training=dict(model.training) | {"created": now.isoformat(timespec="seconds")},
    )
    name = repository.save(model)
    if apply:
        repository.apply(name)
    return TrainingOutcome(model=model, file=name, current=current, new=new, applied=apply)


def groups_fitted_on(model: CategoryModel | None, groups: Sequence[str]) -> list[str]:
    """The held-out ``groups`` whose mails ``model`` was fitted on: those a release refit
    (``bench/train_model.py --release``) names in ``training.heldout_fitted_on``; none
    for a model fitted on the training part (``train``)."""
    seen = set(model.training.get("heldout_fitted_on", ())) if model else set()
    return [group for group in groups if group in seen]

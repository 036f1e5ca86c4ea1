"""``[categorizer]``: how the learned model and the curated terms decide together.

Defaults live in ``default_rules.toml``; the user's ``[categorizer]`` section is merged
over them key by key. Also here: which model file is used — the one applied by
``inbox-agent train --apply`` (``<data_dir>/models/current.json`` names it) when
there is one, else the model shipped in the package.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbox_agent.config.model_file import (
    DENIED_ERRNOS,
    ModelFileError,
    ModelRef,
    check_model_file,
    model_at,
    shipped_model,
    unreadable_model,
)
from inbox_agent.config.rules_text import fold

RULE_MODES = ("prior", "override", "off")
CURRENT_POINTER = "current.json"  # in <data_dir>/models: {"current": FILE, "previous": [FILE, ...]}
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SURFACE = re.compile(rf"[{_CJK}]|[a-z0-9]+")


def surface_tokens(text: str) -> list[str]:
    """Folded, unstemmed tokens: English words and numbers, and single CJK characters."""
    return _SURFACE.findall(fold(text).replace("'", ""))


def generic_phrases(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The token sequences of the phrases to ignore, longest first; empty ones dropped."""
    sequences = {tuple(surface_tokens(phrase)) for phrase in phrases}
    return tuple(sorted((s for s in sequences if s), key=lambda s: (-len(s), s)))


@dataclass(frozen=True)
class CategorizerSettings:
    # "prior": the curated terms' scores are added to the model's log-probabilities
    # (times rule_weight); "override": a decisive curated term (scoring.decisive_weight)
    # decides; "off": the model alone.
    rules: str = "prior"
    rule_weight: float = 0.2
    # Below this confidence the mail is filed as "other" and flagged needs_triage.
    min_confidence: float = 0.4
    explain_top: int = 5  # contributing features shown per decision
    # The model's network takes part in the decision (when the model has one); false:
    # the linear model decides alone, its n-grams then the whole reason (calibrated
    # either way: each has its own fitted temperature).
    second_opinion: bool = True
    generic: tuple[str, ...] = ()  # words that never decide a category (cut before the model)
    generic_tokens: tuple[tuple[str, ...], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "generic_tokens", generic_phrases(self.generic))


_KEYS = (
    "rules",
    "rule_weight",
    "min_confidence",
    "explain_top",
    "second_opinion",
    "generic",
    "extra_generic",
)


def _number(value: object, path: str, low: float, high: float, errors: list[str]) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
        return float(value)
    errors.append(f"{path}: must be a number from {low:g} to {high:g}")
    return None


def _words(value: object, path: str, errors: list[str]) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    errors.append(f"{path}: must be a list of strings")
    return []


def load_categorizer(
    defaults: Mapping[str, Any], user: Mapping[str, Any] | None, errors: list[str]
) -> CategorizerSettings:
    """The shipped settings with the user's ``[categorizer]`` keys over them."""
    values: dict[str, Any] = dict(defaults)
    if user is not None and not isinstance(user, Mapping):
        errors.append("categorizer: must be a table")
        user = None
    for key, value in (user or {}).items():
        path = f"categorizer.{key}"
        if key not in _KEYS:
            errors.append(f"{path}: unknown key (known: {', '.join(_KEYS)})")
        elif key == "rules":
            if value in RULE_MODES:
                values[key] = value
            else:
                errors.append(f"{path}: must be one of {', '.join(RULE_MODES)}")
        elif key in ("rule_weight", "min_confidence"):
            number = _number(value, path, 0.0, 10.0 if key == "rule_weight" else 1.0, errors)
            values[key] = values[key] if number is None else number
        elif key == "explain_top":
            number = _number(value, path, 0, 50, errors)
            values[key] = values[key] if number is None else int(number)
        elif key == "second_opinion":
            if isinstance(value, bool):
                values[key] = value
            else:
                errors.append(f"{path}: must be true or false")
        elif key == "generic":
            values[key] = _words(value, path, errors)
        else:  # extra_generic
            values["generic"] = list(values.get("generic", [])) + _words(value, path, errors)
    values["generic"] = tuple(dict.fromkeys(values.get("generic", ())))
    values.pop("extra_generic", None)
    return CategorizerSettings(**values)


SHIPPED_REF = ModelRef("shipped", shipped_model)


def applied_model(models_dir: Path | None, errors: list[str]) -> ModelRef:
    """The model ``inbox-agent train --apply`` chose, else the shipped one; parsed on first use.

    Checked now, cheaply (the pointer, and the file's size and SHA-256 against what
    the pointer recorded when the model was applied and fully parsed): a pointer or
    model file that cannot be used is reported in ``errors`` (start-up refuses with
    its path and reason) rather than silently replaced by the shipped model. One that
    may not be read (permission denied) is no configuration error and no "no model":
    the reference raises that error when the model is used (:func:`unreadable_model`).
    """
    pointer = models_dir / CURRENT_POINTER if models_dir is not None else None
    try:
        if pointer is None or not pointer.is_file():
            return SHIPPED_REF
        recorded = json.loads(pointer.read_text(encoding="utf-8"))
        current = recorded.get("current")
        if current is None:  # rolled back past the first applied model
            return SHIPPED_REF
        if not isinstance(current, str) or "/" in current or not current.endswith(".json"):
            raise ModelFileError(f"{pointer}: 'current' must name a model file in {models_dir}")
        path = pointer.parent / current
        check_model_file(path, recorded.get("checksum"))
        return ModelRef(str(path), lambda: model_at(path))
    except (OSError, ValueError, AttributeError) as exc:
        if isinstance(exc, OSError) and exc.errno in DENIED_ERRNOS:
            return unreadable_model(exc)
        # No command runs with it refused, `train --rollback` included: say the way out.
        errors.append(f"category model: {exc} (restore the file, or remove {pointer} for the shipped model)")
        return SHIPPED_REF

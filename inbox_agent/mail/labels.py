"""The ops-editable words of the replies: ``labels.toml``, one table per language.

Also what a context builder needs of a template set (``TemplateSource``), so the
builders in ``compose`` and ``samples`` do not depend on ``render``, which imports
them for its check.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from inbox_agent.domain.languages import REPLY_LANGUAGES
from inbox_agent.domain.model import CATEGORIES, EVIDENCE_IDS

# One table per reply language; every one must be complete (``label_problems``).
LANGUAGES: tuple[str, ...] = REPLY_LANGUAGES
LABELS_FILE = "labels.toml"
# Phrases every language table in labels.toml must define (the templates use them).
REQUIRED_PHRASES: tuple[str, ...] = (
    "service_name",
    "default_subject",
    "change_password_path",
    "freeze_path",
)


class TemplateError(Exception):
    """A template or the labels file is missing, broken, or needs an undefined variable."""


@dataclass(frozen=True)
class EvidenceText:
    label: str  # what the customer calls it, e.g. "Transaction ID"
    help: str  # one line: where to find it in the wallet app


@dataclass(frozen=True)
class Labels:
    """The ops-editable words of one language, read from labels.toml."""

    language: str
    categories: Mapping[str, str]
    evidence: Mapping[str, EvidenceText]
    phrases: Mapping[str, str]

    def category(self, category_id: str) -> str:
        # An unknown id (a category added to the config but not yet to labels.toml)
        # must not stop the reply: "other" is the honest plain-word fallback.
        return self.categories.get(category_id) or self.categories.get("other", category_id)

    def evidence_text(self, evidence_id: str) -> EvidenceText:
        return self.evidence.get(evidence_id) or EvidenceText(label=evidence_id.replace("_", " "), help="")

    def phrase(self, key: str) -> str:
        try:
            return self.phrases[key]
        except KeyError:
            raise TemplateError(f"{LABELS_FILE}: [{self.language}.text] has no '{key}'") from None


class TemplateSource(Protocol):
    """What the context builders use of a template set (``render.TemplateSet`` is one)."""

    def render(self, name: str, **context: Any) -> str: ...

    def labels(self, language: str) -> Labels: ...


def read_labels(path: Path) -> dict[str, Labels]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"missing labels file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: {exc}") from exc
    tables: dict[str, Labels] = {}
    for language, table in data.items():
        if not isinstance(table, dict):
            raise TemplateError(f"{path}: '{language}' must be a table")
        evidence = {
            eid: EvidenceText(label=str(entry.get("label", "")), help=str(entry.get("help", "")))
            for eid, entry in table.get("evidence", {}).items()
            if isinstance(entry, dict)
        }
        tables[language] = Labels(
            language=language,
            categories=MappingProxyType({k: str(v) for k, v in table.get("categories", {}).items()}),
            evidence=MappingProxyType(evidence),
            phrases=MappingProxyType({k: str(v) for k, v in table.get("text", {}).items()}),
        )
    return tables


def label_problems(tables: Mapping[str, Labels]) -> list[str]:
    """Every category, evidence id and phrase each language must define but does not."""
    problems: list[str] = []
    for language in LANGUAGES:
        labels = tables.get(language)
        if labels is None:
            problems.append(f"{LABELS_FILE}: no [{language}] table")
            continue
        problems += [
            f"{LABELS_FILE}: [{language}.categories] has no '{cid}'"
            for cid in CATEGORIES
            if not labels.categories.get(cid)
        ]
        for eid in EVIDENCE_IDS:
            text = labels.evidence.get(eid)
            if text is None or not text.label or not text.help:
                problems.append(f"{LABELS_FILE}: [{language}.evidence.{eid}] needs a label and a help line")
        problems += [
            f"{LABELS_FILE}: [{language}.text] has no '{key}'"
            for key in REQUIRED_PHRASES
            if not labels.phrases.get(key)
        ]
    return problems

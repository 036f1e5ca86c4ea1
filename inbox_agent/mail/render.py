"""Reply templates: one Jinja2 environment over the ops-editable ``templates/`` folder.

User text (subjects, names, staff answers) only ever reaches a template as a
variable, never as template source, so ``{{ 7*7 }}`` typed by a customer stays
literal. HTML templates are autoescaped, text templates are not; every variable
must be defined (``StrictUndefined``) so a typo in a template fails loudly in
``check`` instead of silently leaving a hole in a customer's reply.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from inbox_agent.domain.model import CATEGORIES, EVIDENCE_IDS
from inbox_agent.mail import compose

LANGUAGES: tuple[str, ...] = ("zh", "en")
CUSTOMER_KINDS: tuple[str, ...] = ("ack_first", "ack_followup", "ack_complete", "staff_reply", "resolution")
STAFF_KINDS: tuple[str, ...] = ("staff_escalation",)
LABELS_FILE = "labels.toml"
# Shipped as package data, so an installed wheel finds them; `[templates] dir` overrides.
SHIPPED_TEMPLATES = Path(__file__).resolve().parent / "templates"
# Phrases every language table in labels.toml must define (the templates use them).
REQUIRED_PHRASES: tuple[str, ...] = (
    "service_name",
    "default_subject",
    "change_password_path",
    "freeze_path",
)
# Anything in an HTML reply that would make a mail client fetch from the network:
# tracking pixels, remote fonts and stylesheets are a privacy leak and get blocked.
_REMOTE_CONTENT = re.compile(r"https?://|src\s*=|url\s*\(|<link\b|@import|<script\b|<style\b", re.IGNORECASE)


class TemplateError(Exception):
    """A template or the labels file is missing, broken, or needs an undefined variable."""


def required_templates() -> tuple[str, ...]:
    """Every file the daemon renders; a folder without one of them is unusable."""
    names = [
        f"{kind}.{language}.{fmt}.j2"
        for kind in CUSTOMER_KINDS
        for language in LANGUAGES
        for fmt in ("txt", "html")
    ]
    names += [f"{kind}.{fmt}.j2" for kind in STAFF_KINDS for fmt in ("txt", "html")]
    return tuple(names)


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


class TemplateSet:
    """The template folder: renders named templates and reads labels.toml."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else SHIPPED_TEMPLATES
        if not self.folder.is_dir():
            raise TemplateError(f"template folder {self.folder} does not exist")
        self.env = Environment(
            loader=FileSystemLoader(str(self.folder)),
            autoescape=select_autoescape(["html", "html.j2"], default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._labels: dict[str, Labels] | None = None

    def render(self, name: str, **context: Any) -> str:
        try:
            return self.env.get_template(name).render(**context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template folder {self.folder} has no '{exc.name}'") from exc
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{name}: {exc.message}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{exc.name or name} line {exc.lineno}: {exc.message}") from exc

    def labels(self, language: str) -> Labels:
        tables = self._load_labels()
        try:
            return tables[language]
        except KeyError:
            raise TemplateError(f"{self.folder / LABELS_FILE} has no [{language}] table") from None

    def missing_templates(self) -> list[str]:
        return [name for name in required_templates() if not (self.folder / name).is_file()]

    def check_all(self) -> list[str]:
        """Render everything with sample cases; return the problems (empty = all good)."""
        problems = [f"missing template: {self.folder / name}" for name in self.missing_templates()]
        problems += self._label_problems()
        if problems:
            # Rendering would only repeat the same missing-file errors once per sample.
            return problems
        for description, render in _sample_renders(self):
            try:
                mail = render()
            except (TemplateError, ValueError) as exc:
                problems.append(f"{description}: {exc}")
                continue
            problems += [
                f"{description}: {issue}" for issue in _output_problems(mail, compose.SAMPLE_CASE_ID)
            ]
        problems += self._render_every_file()
        return problems

    def _render_every_file(self) -> list[str]:
        """Partials and extra files ops added get rendered on their own too."""
        problems: list[str] = []
        for path in sorted(self.folder.glob("*.j2")):
            context = compose.sample_context(self, path.name)
            try:
                self.render(path.name, **context)
            except TemplateError as exc:
                problems.append(f"{path.name}: {exc}")
        return problems

    def _label_problems(self) -> list[str]:
        try:
            tables = self._load_labels()
        except TemplateError as exc:
            return [str(exc)]
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
                    problems.append(
                        f"{LABELS_FILE}: [{language}.evidence.{eid}] needs a label and a help line"
                    )
            problems += [
                f"{LABELS_FILE}: [{language}.text] has no '{key}'"
                for key in REQUIRED_PHRASES
                if not labels.phrases.get(key)
            ]
        return problems

    def _load_labels(self) -> dict[str, Labels]:
        if self._labels is None:
            self._labels = _read_labels(self.folder / LABELS_FILE)
        return self._labels


def _read_labels(path: Path) -> dict[str, Labels]:
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


def _sample_renders(templates: TemplateSet) -> list[tuple[str, Any]]:
    """(description, zero-argument render) for every kind, language and sample case."""
    samples: list[tuple[str, Any]] = []
    for language in LANGUAGES:
        for request in compose.sample_ack_requests(language):
            description = f"{request.kind}.{language} ({request.category}, missing {len(request.missing)})"
            samples.append((description, lambda r=request: compose.render_ack(templates, r)))
        reply = compose.sample_staff_reply_request(language)
        samples.append((f"staff_reply.{language}", lambda r=reply: compose.render_staff_reply(templates, r)))
        resolution = compose.sample_resolution_request(language)
        samples.append(
            (f"resolution.{language}", lambda r=resolution: compose.render_resolution(templates, r))
        )
    for request in compose.sample_staff_notification_requests():
        samples.append(
            (
                f"staff_escalation ({request.level}, {request.category})",
                lambda r=request: compose.render_staff_notification(templates, r),
            )
        )
    return samples


def _output_problems(mail: compose.RenderedMail, case_id: str) -> list[str]:
    problems: list[str] = []
    if case_id not in mail.text or case_id not in mail.html:
        # Customers and staff quote the case id to reach the right case: it must be in the body.
        problems.append(f"the case id {case_id} is missing from the text or html part")
    if not mail.text.strip():
        problems.append("text part is empty")
    if "<html" not in mail.html.lower():
        problems.append("html part is not an HTML document")
    remote = _REMOTE_CONTENT.search(mail.html)
    if remote:
        problems.append(
            f"html part loads or links remote content ({remote.group(0)!r}); use inline styles only"
        )
    return problems

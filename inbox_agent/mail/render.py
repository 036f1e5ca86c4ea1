"""Reply templates: one Jinja2 environment over the ops-editable ``templates/`` folder.

User text (subjects, names, staff answers) only ever reaches a template as a
variable, never as template source, so ``{{ 7*7 }}`` typed by a customer stays
literal. HTML templates are autoescaped, text templates are not; every variable
must be defined (``StrictUndefined``) so a typo in a template fails loudly in
``check`` instead of silently leaving a hole in a customer's reply.

The words (``labels.toml``) are read in ``labels``; ``Labels``, ``EvidenceText`` and
``TemplateError`` are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from inbox_agent.domain.languages import SIMPLIFIED_CHINESE, TRADITIONAL_CHINESE
from inbox_agent.mail import samples
from inbox_agent.mail.compose import RenderedMail
from inbox_agent.mail.labels import (
    LABELS_FILE,
    LANGUAGES,
    REQUIRED_PHRASES,
    EvidenceText,
    Labels,
    TemplateError,
    label_problems,
    read_labels,
)

__all__ = [
    "CUSTOMER_KINDS",
    "LABELS_FILE",
    "LANGUAGES",
    "REQUIRED_PHRASES",
    "SHIPPED_TEMPLATES",
    "STAFF_KINDS",
    "EvidenceText",
    "Labels",
    "TemplateError",
    "TemplateSet",
    "required_templates",
]

CUSTOMER_KINDS: tuple[str, ...] = (
    "ack_first",
    "ack_followup",
    "ack_complete",
    "staff_reply",
    "resolution",
    "holding_reply",
)
STAFF_KINDS: tuple[str, ...] = ("staff_escalation",)
_FALLBACK = {TRADITIONAL_CHINESE: SIMPLIFIED_CHINESE}  # see TemplateSet.labels
# Shipped as package data, so an installed wheel finds them; `[templates] dir` overrides.
SHIPPED_TEMPLATES = Path(__file__).resolve().parent / "templates"
# Anything in an HTML reply that would make a mail client fetch from the network:
# tracking pixels, remote fonts and stylesheets are a privacy leak and get blocked.
# A template family -> the context that renders its files (see TemplateSet.check_all).
SampleProviders = Mapping[str, Callable[["TemplateSet"], dict[str, Any]]]
_REMOTE_CONTENT = re.compile(r"https?://|src\s*=|url\s*\(|<link\b|@import|<script\b|<style\b", re.IGNORECASE)


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


class _CompiledOnceEnvironment(Environment):
    """An environment whose templates are compiled once and whose globals never change.

    A reply renders two templates and about nine partials and layouts, and each
    ``{% include %}`` looks its template up and copies the globals into a new context.
    Jinja keeps a template's globals as a ``ChainMap`` over the environment's, so that
    globals set later still show; iterating it and the locked LRU look-up were over a
    third of rendering a reply. Nothing here sets globals after start and
    ``auto_reload`` is off, so a plain dict and a plain memo give the same output.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[tuple[str, str | None], Template] = {}

    def make_globals(self, d: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**self.globals, **(d or {})}

    def get_template(
        self, name: str | Template, parent: str | None = None, globals: Mapping[str, Any] | None = None
    ) -> Template:
        if globals is not None or not isinstance(name, str):
            return super().get_template(name, parent, globals)
        template = self._compiled.get((name, parent))
        if template is None:
            # A missing template raises here and is looked up again next time, as before.
            template = self._compiled[(name, parent)] = super().get_template(name, parent)
        return template


class TemplateSet:
    """The template folder: renders named templates and reads labels.toml."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else SHIPPED_TEMPLATES
        if not self.folder.is_dir():
            raise TemplateError(f"template folder {self.folder} does not exist")
        self.env = _CompiledOnceEnvironment(
            loader=FileSystemLoader(str(self.folder)),
            autoescape=select_autoescape(["html", "html.j2"], default_for_string=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            # Compiled once per process: checking every template file's time stamp for
            # every mail (a reply uses about eleven) cost more than rendering it. Edited
            # templates take effect when the daemon or the web app starts again.
            auto_reload=False,
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
        # A folder made before Traditional replies existed (a `[templates] dir` copy) has
        # neither the [zh-Hant] table nor the templates: its Traditional customers get the
        # Simplified reply they got before (the reply's templates follow the table's
        # language), and `check` names what is missing.
        found = tables.get(language) or tables.get(_FALLBACK.get(language, ""))
        if found is None:
            raise TemplateError(f"{self.folder / LABELS_FILE} has no [{language}] table")
        return found

    def missing_templates(self) -> list[str]:
        return [name for name in required_templates() if not (self.folder / name).is_file()]

    def check_all(self, extra_samples: SampleProviders | None = None) -> list[str]:
        """Render everything with sample cases; return the problems (empty = all good).

        The samples cover the mail templates. A template of a higher layer in the
        folder gets its context from ``extra_samples``, keyed by template family
        (``"report"`` covers ``report.html.j2`` and any ``_report.*`` partial); the
        staff page's is ``inbox_agent.views.page.TEMPLATE_SAMPLES``. Without it such a
        file is rendered with an acknowledgement's context and reported as broken.
        """
        problems = [f"missing template: {self.folder / name}" for name in self.missing_templates()]
        problems += self._label_problems()
        if problems:
            # Rendering would only repeat the same missing-file errors once per sample.
            return problems
        for description, render in samples.sample_renders(self):
            try:
                mail = render()
            except (TemplateError, ValueError) as exc:
                problems.append(f"{description}: {exc}")
                continue
            problems += [
                f"{description}: {issue}" for issue in _output_problems(mail, samples.SAMPLE_CASE_ID)
            ]
        problems += self._render_every_file(extra_samples or {})
        return problems

    def _render_every_file(self, extra_samples: SampleProviders) -> list[str]:
        """Partials and extra files ops added get rendered on their own too."""
        problems: list[str] = []
        for path in sorted(self.folder.glob("*.j2")):
            context = samples.sample_context(self, path.name, extra_samples)
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
        return label_problems(tables)

    def _load_labels(self) -> dict[str, Labels]:
        if self._labels is None:
            self._labels = read_labels(self.folder / LABELS_FILE)
        return self._labels


def _output_problems(mail: RenderedMail, case_id: str) -> list[str]:
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

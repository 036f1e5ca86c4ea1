"""Why a case has its category, for staff: the categorizer's decision read back from the case (pure).

Where it is stored (the web app reads it the same way, through :func:`case_explanation`):

- ``Case.confidence``, ``Case.matched`` (curated terms, ``(category, term)`` pairs) and
  the ``needs_triage`` flag in ``Case.flags`` are fields of the case;
- the n-grams that decided, the model's guess for a triaged case and the model
  version are in the detail of the case's ``opened`` event, written by
  ``stages.categorize.why_line`` and read back by ``parse_why_line``:
  ``"...; confidence 0.92; n-grams w:frozen +0.31, b:冻 结 +0.20;
  second opinion account_locked 0.97; terms ...;
  needs triage (model's guess security); model 2026-12-01T...-1a2b3c4d"``.

A staff correction (``recategorized`` event) changes the category, not the
explanation: it stays the model's reason for what it decided at intake.
"""

from __future__ import annotations

from typing import Any

from inbox_agent.domain.mask import mask_text
from inbox_agent.domain.model import Case
from inbox_agent.stages.categorize import parse_why_line

NEEDS_TRIAGE = "needs_triage"


def case_explanation(case: Case) -> dict[str, Any]:
    """The decision as data: ``{"category", "confidence", "needs_triage", "guess",
    "features": [{"feature", "weight"}], "second_opinion": [{"category", "probability"}], "terms": [{"category", "term"}], "model",
    "corrected_by"}`` (``corrected_by``: who recategorized it last, or "")."""
    opened = next((e for e in case.events if e.kind == "opened"), None)
    why = parse_why_line(opened.detail if opened else "")
    corrected = [e.actor for e in case.events if e.kind == "recategorized"]
    return {
        "category": case.category,
        "confidence": case.confidence if why.confidence is None else why.confidence,
        "needs_triage": NEEDS_TRIAGE in case.flags,
        "guess": why.guess,
        "features": [{"feature": name, "weight": weight} for name, weight in why.features],
        "second_opinion": [{"category": c, "probability": p} for c, p in why.second_opinion],
        "terms": [{"category": category, "term": term} for category, term in case.matched],
        "model": why.model_version,
        "corrected_by": corrected[-1] if corrected else "",
    }


def explanation_lines(case: Case) -> list[str]:
    """The decision in a few lines of text (``show`` and the staff page); masked."""
    data = case_explanation(case)
    lines = [f"confidence {data['confidence']:.2f}" + (f", model {data['model']}" if data["model"] else "")]
    if data["needs_triage"]:
        guess = f" (the model's guess: {data['guess']})" if data["guess"] else ""
        lines.append(f"needs triage: filed as other below the confidence threshold{guess}")
    if data["features"]:
        lines.append(
            "n-grams: " + ", ".join(f"{f['feature']!r} {f['weight']:+.2f}" for f in data["features"])
        )
    if data["second_opinion"]:
        # The n-grams explain the linear model; the network weighs them together and
        # gives only its verdict, so that is what is shown for its share.
        opinion = ", ".join(f"{o['category']} {o['probability']:.2f}" for o in data["second_opinion"])
        lines.append(f"second opinion (the network beside the n-grams): {opinion}")
    terms = ", ".join(f"{t['category']}:{t['term']}" for t in data["terms"])
    lines.append("curated terms: " + (terms or "none matched"))
    if data["corrected_by"]:
        lines.append(f"category corrected by {data['corrected_by']}")
    return [mask_text(line) for line in lines]

"""`inbox-agent classify`: the analysis stages of the intake pipeline — no side effects.

One function, shared by the CLI and the fuzzer (bench/fuzz.py, tests/test_fuzz.py).
It runs ``process.CLASSIFY``, the daemon's own stage objects cut short, against an
empty store with the file's receipt time ``now``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inbox_agent.config.loader import Config
from inbox_agent.pipeline.decision import BatchView, Incoming
from inbox_agent.pipeline.process import CLASSIFY
from inbox_agent.pipeline.steps import MailWork, run_stages, staff_like
from inbox_agent.stages.evidence import missing_evidence


def classify_bytes(raw: bytes, config: Config, now: datetime) -> dict[str, Any]:
    """The JSON shape of docs/ARCHITECTURE.md §4, or ``{"error": "would be quarantined: REASON"}``."""
    work = MailWork(Incoming(raw, "classify", now), BatchView.empty(), config, None, now)
    stopped = run_stages(CLASSIFY, work)
    if stopped is not None:
        where = "" if stopped.quarantine_stage == "parse" else f"{stopped.quarantine_stage} failed: "
        return {"error": f"would be quarantined: {where}{stopped.quarantine_reason}"}
    result, msg = work.categorization, work.parsed
    assert result is not None
    return {
        "category": result.category,
        "categories": list(result.categories),
        "confidence": round(result.confidence, 3),
        "matched": [list(pair) for pair in result.matched],
        "explanation": [{"feature": name, "weight": weight} for name, weight in result.explanation],
        # The network's share (a model with one): its probability of its top category
        # and of the one decided; the n-grams above explain the linear part.
        "second_opinion": [{"category": c, "probability": p} for c, p in result.second_opinion],
        "needs_triage": result.needs_triage,
        "model_guess": result.guess or result.category,
        "model": result.model_version,
        "language": msg.language,
        "severity": result.severity,
        "evidence": work.found,
        "missing": list(missing_evidence(result.category, work.found, config.rules)),
        "skip": None if work.skip is None else work.skip.reason,
        "encrypted": msg.encrypted or None,
        "sender": sender_checks(work),
    }


def sender_checks(work: MailWork) -> dict[str, Any]:
    """What the daemon would believe about the sender: our server's verdict and its
    rule, a look-alike of our domains, whether the From line claims staff (the claim is
    proven per action, on a case: pipeline/staff_trust.py), and the address the case
    is filed under (a web form's Reply-To when ``relayed_by`` names the form)."""
    auth = work.sender_auth
    return {
        **(auth.as_json() if auth is not None else {}),
        "lookalike_of": work.lookalike or None,
        "claims_staff": staff_like(work),
        "address": work.parsed.sender,
        "relayed_by": work.parsed.relayed_by or None,
    }

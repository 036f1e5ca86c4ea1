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
from inbox_agent.pipeline.steps import MailWork, run_stages
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
        "language": msg.language,
        "severity": result.severity,
        "evidence": work.found,
        "missing": list(missing_evidence(result.category, work.found, config.rules)),
        "skip": None if work.skip is None else work.skip.reason,
    }

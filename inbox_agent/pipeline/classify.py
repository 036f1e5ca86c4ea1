"""`inbox-agent classify`: parse, guard, categorize and find evidence — no side effects.

One function, shared by the CLI and the fuzzer (bench/fuzz.py, tests/test_fuzz.py), so
what the fuzzer proves is what the command does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from inbox_agent.config.loader import Config
from inbox_agent.mail.outgoing import LOOP_HEADER
from inbox_agent.stages.categorize import categorize
from inbox_agent.stages.evidence import extract_evidence, missing_evidence
from inbox_agent.stages.guard import loop_skip
from inbox_agent.stages.parse import ParseFailure, parse_message


def classify_bytes(raw: bytes, config: Config, now: datetime) -> dict[str, Any]:
    """The JSON shape of DESIGN.md §4, or ``{"error": "would be quarantined: REASON"}``."""
    try:
        msg = parse_message(raw, received_at=now)
    except ParseFailure as failure:
        return {"error": f"would be quarantined: {failure.reason}"}
    skip = loop_skip(
        msg,
        own_addresses=config.own_addresses,
        loop_header=LOOP_HEADER.lower(),
        loop_token=config.loop_token,
    )
    result = categorize(msg.subject, msg.new_text, config.rules)
    evidence = extract_evidence(
        msg.subject,
        msg.new_text,
        msg.attachments,
        reference=msg.date or now,
        tz=ZoneInfo(config.sla.timezone),
    )
    return {
        "category": result.category,
        "categories": list(result.categories),
        "confidence": round(result.confidence, 3),
        "matched": [list(pair) for pair in result.matched],
        "language": msg.language,
        "severity": result.severity,
        "evidence": evidence,
        "missing": list(missing_evidence(result.category, evidence, config.rules)),
        "skip": None if skip is None else skip.reason,
    }

"""Time per mail of each stage of the cycle, read from the end-to-end cProfile.

The profile run uses ``workers = 1`` so every stage runs in the profiled process, and
sends in the daemon's thread (not the sender thread of a normal run) so the profiler,
which follows one thread, sees the SMTP stage too.
Each stage is the cumulative time of the function that is that stage (below),
divided by the mails of the run. The figures are under the profiler, which slows
pure-Python code more than system calls: read them as shares of the cycle, not as
absolute costs. ``other`` is the rest of the cycle (threading, deciding, the
acknowledgement's composition outside the templates, the run table...).
"""

from __future__ import annotations

import pstats
from pathlib import Path
from typing import Any

# stage -> (file path suffix, function name); the first match of each counts.
STAGE_FUNCTIONS: dict[str, tuple[str, str]] = {
    "fetch": ("inbox_agent/adapters/imap.py", "fetch"),
    "parse": ("inbox_agent/stages/parse.py", "parse_message"),
    "categorize": ("inbox_agent/stages/categorize.py", "categorize"),
    "evidence": ("inbox_agent/stages/evidence.py", "extract_evidence"),
    "render": ("inbox_agent/mail/render.py", "render"),
    "store": ("inbox_agent/services/unit_of_work.py", "commit"),
    "send": ("inbox_agent/adapters/smtp.py", "send_batch"),
}
CYCLE = ("inbox_agent/entrypoints/daemon.py", "run_cycle")


def _cumulative(stats: dict[Any, Any], where: tuple[str, str]) -> float:
    suffix, name = where
    return sum(
        row[3] for (path, _line, function), row in stats.items() if function == name and path.endswith(suffix)
    )


def stage_times(profile: Path, mails: int) -> dict[str, Any]:
    """``{"ms_per_mail": {stage: ms}, "share": {stage: fraction of the cycle}}``."""
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    cycle = _cumulative(stats, CYCLE)
    per_stage = {stage: _cumulative(stats, where) for stage, where in STAGE_FUNCTIONS.items()}
    per_stage["other"] = max(0.0, cycle - sum(per_stage.values()))
    count = max(1, mails)
    return {
        "mails": mails,
        "cycle_ms_per_mail": round(cycle * 1000 / count, 3),
        "ms_per_mail": {stage: round(seconds * 1000 / count, 3) for stage, seconds in per_stage.items()},
        "share": {stage: round(seconds / cycle, 3) if cycle else 0.0 for stage, seconds in per_stage.items()},
    }

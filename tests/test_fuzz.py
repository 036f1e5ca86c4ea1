"""A short fuzzing round in the normal suite; `python bench/fuzz.py` runs long ones.

Mutated real mails through parse -> guard -> categorize -> evidence (exactly what
`inbox-agent classify` does): a result or a quarantine reason, never an exception,
bounded time per message, safe attachment names, nothing written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.fuzz import ROOT, mutate, run


def test_mutated_real_mails_end_in_a_result_or_a_quarantine_reason(shared_data: Path) -> None:
    report = run(examples=300, seed=1, data=shared_data)
    assert report["inputs"] >= 300
    assert report["seeds"] > 200  # the third-party corpus (tests/data/shared), not only our own examples
    assert report["outcomes"].get("result", 0) > 0  # mutations still reach the categorizer
    assert sum(report["outcomes"].values()) == report["inputs"]


def test_mutations_change_the_bytes() -> None:
    original = b"From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n"
    assert mutate(original, [(0, 0.5, b"\x00\xff")]) != original
    assert mutate(original, [(1, 0.0, b"X")]).startswith(b"X")
    assert len(mutate(original, [(2, 0.2, b"")])) < len(original)


def test_the_long_run_command_reports_how_many_inputs_it_tried() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fuzz.py"), "--examples", "30"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "mutated mails from" in done.stdout and "0 exceptions" in done.stdout

"""The quick evaluation, run the way a developer runs it: `python bench/eval_categories.py --quick`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
from conftest import DATA

from inbox_agent.domain.model import CATEGORIES

PROJECT = Path(__file__).resolve().parents[1]
SCRIPT = PROJECT / "bench" / "eval_categories.py"
LABELLED = PROJECT / "tests" / "data" / "labelled"


def run_eval(tmp_path: Path, *args: str) -> dict:
    report = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(report), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "macro-F1" in completed.stdout
    return json.loads(report.read_text(encoding="utf-8"))


def test_labelled_corpus_covers_every_category_in_both_languages() -> None:
    with (LABELLED / "labels.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 48
    per = Counter((row["category"], row["language"]) for row in rows)
    for category in CATEGORIES:
        for language in ("zh", "en"):
            assert per[(category, language)] >= 3, (category, language)
    charsets = Counter()
    for row in rows:
        message = message_from_bytes((LABELLED / row["file"]).read_bytes())
        charsets.update(
            part.get_content_charset() for part in message.walk() if part.get_content_type() == "text/plain"
        )
    assert charsets["gbk"] >= 3 and charsets["big5"] >= 3 and charsets["utf-8"] >= 30


def test_quick_evaluation_on_labelled_mails(tmp_path: Path) -> None:
    labelled = run_eval(tmp_path, "--corpus", "labelled")["labelled"]
    for category in CATEGORIES:
        for language in ("zh", "en"):
            correct = labelled["correct_by_language"][category].get(language, 0)
            assert correct >= 1, f"no {language} mail of {category} categorized correctly"
    assert labelled["accuracy"] >= 0.85, labelled["mistakes"]
    # Evidence the labels say a mail contains is found in most mails that contain it.
    for evidence_id, row in labelled["evidence"]["per_id"].items():
        assert row["recall"] >= 0.8, (evidence_id, labelled["evidence"]["mismatches"])


@pytest.mark.slow
def test_quick_evaluation_on_held_out_mail_per_language(tmp_path: Path) -> None:
    heldout = run_eval(tmp_path, "--corpus", "heldout", "--data", str(DATA))["heldout"]
    banking = heldout["BANKING77 held-out 20 % (en, one sentence)"]
    chinese = heldout["complaint mails held out, zh"]
    # A fifth of the held-out BANKING77 part; the full run is `python bench/eval_categories.py`.
    # The bars are below the measured figures (0.944, 0.936): they catch a broken model,
    # the targets are reported by the bench, not asserted on noise.
    assert banking["macro_f1"] >= 0.9
    assert chinese["macro_f1"] >= 0.9
    assert set(chinese["per_category"]) == set(CATEGORIES)
    for report in (banking, chinese):
        assert report["per_second"] > 0 and "confusion" in report

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
    chinese = heldout["generated mails held out (phrase bank B), zh"]
    written = [heldout[f"hand-written mails held out, {language}"] for language in ("en", "zh")]
    # A fifth of the held-out BANKING77 part; the full run is `python bench/eval_categories.py`.
    # The bars are below the measured figures: they catch a broken model, the issue's
    # targets are reported by the bench, not asserted on noise.
    assert banking["macro_f1"] >= 0.9
    assert chinese["macro_f1"] >= 0.9
    assert [report["n"] for report in written] == [48 + 320, 48]
    assert all(report["macro_f1"] >= 0.8 for report in written)
    blind = [
        heldout[f"hand-written blind (no training mail or code seen), {language}"]
        for language in ("en", "zh")
    ]
    assert all(report["macro_f1"] >= 0.8 and report["n"] == 96 for report in blind)
    assert set(chinese["per_category"]) == set(CATEGORIES)
    for report in (banking, chinese):
        assert report["per_second"] > 0 and "confusion" in report


def test_any_labelled_csv_or_mail_folder_is_measured_per_language(tmp_path: Path) -> None:
    sets = tmp_path / "mine.csv"
    with sets.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])  # no subject, no language: detected
        writer.writerow(["I was charged twice for one coffee", "wrong_charge"])
        writer.writerow(["我的账户被盗了，钱被转走了", "security"])
        writer.writerow(["my card payment was declined", "declined_card_payment"])  # a BANKING77 intent
    report = run_eval(tmp_path, "--set", str(sets), "--set", str(LABELLED))
    assert set(report) == {"mine.csv, en", "mine.csv, zh", "labelled, en", "labelled, zh"}
    assert report["mine.csv, en"]["n"] == 2 and report["mine.csv, zh"]["n"] == 1
    assert set(report["mine.csv, en"]["per_category"]) >= {"wrong_charge", "transaction_failed"}
    assert report["labelled, zh"]["n"] == 26 and report["labelled, en"]["ms_per_mail"] > 0


def test_an_unknown_label_in_a_set_is_named(tmp_path: Path) -> None:
    sets = tmp_path / "bad.csv"
    sets.write_text("text,category\nhello,not_a_category\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--set", str(sets)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode != 0
    assert "bad.csv:2: unknown category 'not_a_category'" in completed.stderr


def test_the_issues_baseline_is_measured_beside_the_model_on_the_same_held_out_part() -> None:
    """bench/baseline_banking77.py: four baseline rows and the shipped figure, each a
    real fit and measurement (a broken split or a label mix-up reads far below 0.9)."""
    completed = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "baseline_banking77.py")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rows = [line for line in completed.stdout.splitlines() if "macro-F1" in line and "accuracy" in line]
    assert len(rows) == 5 and "shipped recipe" in rows[0]
    for row in rows:
        assert 0.9 < float(row.rsplit("macro-F1", 1)[1]) <= 1.0, row


def second_opinion_table(*args: str, title: str) -> list[str]:
    """bench/second_opinion_cv.py on a tenth of the training part: its table's header
    (the line starting with ``title``) and rows."""
    completed = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "second_opinion_cv.py"), "--sample", "0.1", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith(title))
    return lines[header:]


def test_the_second_opinion_is_measured_on_the_same_folds_as_the_linear_recipe() -> None:
    """3-fold CV: every row a real fit per fold; the linear recipe's row is read as
    `train_model.py` reads it (a fold or label mix-up reads near chance, 1/8 of the
    categories, far below 0.5). A tenth holds 54 hand-written Chinese mails, 18 a fold:
    0.66-0.78 on fold seeds 77 and 78 with the shipped n-grams, 0.72-0.78 with the ones
    before (on a fifth 0.815 against 0.818; on the whole part, docs/MEASUREMENTS.md)."""
    header, *lines = second_opinion_table("--folds", "3", title="CV macro-F1")
    assert header.split()[2:] == ["banking77", "written_en", "written_zh"]
    table = {line[:24].strip(): [float(cell) for cell in line[24:].split()] for line in lines}
    assert list(table) == [
        "linear recipe",
        "network alone",
        "linear + 0.5 x network",
        "linear + 1.0 x network",
        "linear + 1.5 x network",
        "linear + 2.0 x network",
    ]
    assert all(0.5 < cell <= 1.0 for cell in table["linear recipe"]), table
    assert all(0.0 <= cell <= 1.0 for cells in table.values() for cell in cells), table


def test_the_second_opinion_is_measured_held_out_per_group() -> None:
    """`--heldout`: every held-out group is a row, and the linear recipe fitted on a
    tenth of the training part still reads BANKING77 well above chance."""
    _, *lines = second_opinion_table("--heldout", title="held-out macro-F1")
    rows = {line.split()[0]: line.split()[1:] for line in lines}
    groups = {"banking77", "written_en", "written_zh", "blind_en", "blind_zh", "blind2_en", "blind3_zh"}
    assert groups <= set(rows)
    assert int(rows["banking77"][0]) > 1500  # the held-out part is never sampled
    assert 0.7 < float(rows["banking77"][1]) <= 1.0, rows["banking77"]
    assert all(0.0 <= float(cell) <= 1.0 for cells in rows.values() for cell in cells[1:]), rows


def test_a_learning_curve_fits_each_fold_on_a_stratified_share_of_its_mails() -> None:
    # `second_opinion_cv.py --fit-share 0.8`: the held folds stay, each fold's training
    # mails lose a fifth, every label about the same share of itself.
    from bench.second_opinion_cv import Example, fitted_share

    inner = [Example("", f"text {n}", label, label, "en", "banking77") for label in "abc" for n in range(50)]
    for share, kept in ((1.0, 150), (0.8, 120), (0.6, 90), (0.2, 30)):
        fitted = fitted_share(inner, share, 77)
        assert len(fitted) == kept and set(fitted) <= set(inner)
        assert Counter(e.label for e in fitted) == {label: kept // 3 for label in "abc"}
    assert fitted_share(inner, 0.8, 77) == fitted_share(inner, 0.8, 77)  # the same mails each run
    with pytest.raises(SystemExit, match="--fit-share 0.1"):
        fitted_share(inner, 0.1, 77)

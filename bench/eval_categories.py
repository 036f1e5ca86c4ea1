"""Evaluate the categorizer (and evidence extraction) on real and labelled mail.

1. BANKING77 (tests/data/shared/banking77): real one-sentence customer messages, their
   77 intents mapped to our categories. The shipped term weights are learned from
   this very file, so it is evaluated by 5-fold cross-validation: train on four
   folds (bench/train_terms.py), evaluate on the fifth, pool the five predictions.
   The curated terms alone (nothing learned) are evaluated straight, as a baseline.
2. tests/data/labelled: complaint mails written for this project in Chinese
   (Simplified and Traditional) and English, with the shipped rules; also the
   evidence found compared with the evidence the labels say each mail contains.

    python bench/eval_categories.py [--quick] [--json FILE] [--data DIR] [--corpus all|banking77|labelled]

``--quick``: a stratified sample of BANKING77 and one fold instead of five (< 20 s).
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import json
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from inbox_agent.config.rules import Rules, default_rules  # noqa: E402
from inbox_agent.domain.model import CATEGORIES, EVIDENCE_IDS, Attachment  # noqa: E402
from inbox_agent.stages.categorize import categorize  # noqa: E402
from inbox_agent.stages.evidence import extract_evidence  # noqa: E402

LABELLED_DIR = PROJECT / "tests" / "data" / "labelled"
# The third-party corpora kept in the repository (tests/data/shared/README.md); --data DIR
# points at another copy with the same layout (banking77/train.csv, ...).
DEFAULT_DATA = PROJECT / "tests" / "data" / "shared"
SERVICE_TZ = ZoneInfo("Asia/Shanghai")
FOLDS = 5
QUICK_SAMPLE = 5000
SEED = 77


# --------------------------------------------------------------------------- metrics


def metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Per-category precision/recall/F1, macro-F1 over the categories present in ``gold``."""
    labels = [c for c in CATEGORIES if c in set(gold) | set(predicted)]
    per: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    present = [label for label in labels if per[label]["support"]]
    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    return {
        "n": len(gold),
        "accuracy": sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0,
        "macro_f1": sum(per[label]["f1"] for label in present) / len(present) if present else 0.0,
        "per_category": per,
        "confusion": {g: dict(row) for g, row in confusion.items()},
    }


def print_report(title: str, result: dict[str, Any]) -> None:
    print(
        f"\n== {title}: n={result['n']}  accuracy={result['accuracy']:.3f}  macro-F1={result['macro_f1']:.3f}"
    )
    print(f"{'category':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for label, row in result["per_category"].items():
        print(
            f"{label:<20}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>9}"
        )
    labels = list(result["per_category"])
    short = {label: label[:6] for label in labels}
    print("confusion (rows: labelled, columns: predicted)")
    print(" " * 20 + "".join(f"{short[label]:>8}" for label in labels))
    for gold in labels:
        row = result["confusion"].get(gold, {})
        if row:
            print(f"{gold:<20}" + "".join(f"{row.get(p, 0):>8}" for p in labels))


# --------------------------------------------------------------------------- BANKING77


def stratified_folds(labels: Sequence[str], folds: int, seed: int = SEED) -> list[int]:
    """A fold number per example, each category spread evenly over the folds."""
    order = list(range(len(labels)))
    random.Random(seed).shuffle(order)
    seen: Counter[str] = Counter()
    fold_of = [0] * len(labels)
    for index in order:
        fold_of[index] = seen[labels[index]] % folds
        seen[labels[index]] += 1
    return fold_of


def stratified_sample(labels: Sequence[str], size: int, seed: int = SEED) -> list[int]:
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    chosen: list[int] = []
    for indices in by_label.values():
        rng.shuffle(indices)
        chosen.extend(indices[: max(1, round(size * len(indices) / len(labels)))])
    return sorted(chosen)


def evaluate_banking77(data_dir: Path, quick: bool) -> dict[str, Any]:
    from bench.train_terms import curated_rules, load_banking77, rules_with, train

    texts, labels = load_banking77(data_dir)
    if quick:
        keep = stratified_sample(labels, QUICK_SAMPLE)
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    base = curated_rules()
    baseline = metrics(labels, [categorize("", t, base).category for t in texts])
    fold_of = stratified_folds(labels, FOLDS)
    gold: list[str] = []
    predicted: list[str] = []
    for fold in range(1 if quick else FOLDS):
        train_idx = [i for i, f in enumerate(fold_of) if f != fold]
        test_idx = [i for i, f in enumerate(fold_of) if f == fold]
        learned = train([texts[i] for i in train_idx], [labels[i] for i in train_idx])
        rules = rules_with(learned)
        gold.extend(labels[i] for i in test_idx)
        predicted.extend(categorize("", texts[i], rules).category for i in test_idx)
    learned_result = metrics(gold, predicted)
    learned_result["folds_evaluated"] = 1 if quick else FOLDS
    return {"curated_only": baseline, "learned_cv": learned_result}


# --------------------------------------------------------------------------- labelled mails


@dataclass(frozen=True)
class LabelledMail:
    file: str
    category: str
    language: str
    expected_evidence: frozenset[str]
    subject: str
    text: str
    attachments: tuple[Attachment, ...]
    date: datetime


def _stdlib_parse(raw: bytes) -> tuple[str, str, tuple[Attachment, ...], datetime | None]:
    """Fallback when inbox_agent.stages.parse is not available: subject, plain text, attachments, date."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    attachments = tuple(
        Attachment(
            filename=part.get_filename() or "",
            safe_name=part.get_filename() or "",
            content_type=part.get_content_type(),
            declared_type=part.get_content_type(),
            size=len(part.get_payload(decode=True) or b""),
            sha256="",
        )
        for part in message.iter_attachments()
    )
    date = message["Date"].datetime if message["Date"] else None
    return str(message["Subject"] or ""), text, attachments, date


def _parse(raw: bytes) -> tuple[str, str, tuple[Attachment, ...], datetime | None]:
    try:
        from inbox_agent.stages.parse import parse_message
    except ImportError:
        return _stdlib_parse(raw)
    parsed = parse_message(raw)
    return parsed.subject, parsed.new_text, parsed.attachments, parsed.date


def load_labelled(folder: Path = LABELLED_DIR) -> list[LabelledMail]:
    mails = []
    with (folder / "labels.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            subject, text, attachments, date = _parse((folder / row["file"]).read_bytes())
            mails.append(
                LabelledMail(
                    file=row["file"],
                    category=row["category"],
                    language=row["language"],
                    expected_evidence=frozenset(e for e in row["evidence"].split(";") if e),
                    subject=subject,
                    text=text,
                    attachments=attachments,
                    date=date or datetime(2024, 1, 1, tzinfo=UTC),
                )
            )
    return mails


def evaluate_labelled(rules: Rules | None = None, folder: Path = LABELLED_DIR) -> dict[str, Any]:
    rules = rules or default_rules()
    mails = load_labelled(folder)
    predicted = [categorize(m.subject, m.text, rules).category for m in mails]
    result = metrics([m.category for m in mails], predicted)
    result["mistakes"] = [
        {"file": m.file, "labelled": m.category, "predicted": p}
        for m, p in zip(mails, predicted, strict=True)
        if m.category != p
    ]
    correct_by: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for mail, guess in zip(mails, predicted, strict=True):
        correct_by[mail.category][mail.language] += int(mail.category == guess)
    result["correct_by_language"] = {c: dict(v) for c, v in correct_by.items()}
    result["evidence"] = _evidence_scores(mails)
    return result


def _evidence_scores(mails: Sequence[LabelledMail]) -> dict[str, Any]:
    """Per evidence id: how often it was found when the mail has it, and found when it has not."""
    counts = {e: Counter() for e in EVIDENCE_IDS}
    misses: list[str] = []
    for mail in mails:
        found = extract_evidence(
            mail.subject, mail.text, mail.attachments, reference=mail.date, tz=SERVICE_TZ
        )
        for evidence_id in EVIDENCE_IDS:
            has, got = evidence_id in mail.expected_evidence, evidence_id in found
            counts[evidence_id]["tp" if has and got else "fn" if has else "fp" if got else "tn"] += 1
            if has != got:
                misses.append(
                    f"{mail.file}: {evidence_id} {'missed' if has else 'spurious: ' + found[evidence_id]}"
                )
    per = {}
    for evidence_id, c in counts.items():
        found_total = c["tp"] + c["fp"]
        present_total = c["tp"] + c["fn"]
        per[evidence_id] = {
            "recall": c["tp"] / present_total if present_total else 1.0,
            "precision": c["tp"] / found_total if found_total else 1.0,
            "present": present_total,
        }
    return {"per_id": per, "mismatches": misses}


def print_evidence(result: dict[str, Any]) -> None:
    print(f"\n{'evidence':<20}{'precision':>10}{'recall':>10}{'present':>9}")
    for evidence_id, row in result["per_id"].items():
        print(f"{evidence_id:<20}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['present']:>9}")
    for line in result["mismatches"]:
        print(f"  {line}")


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate categorization and evidence extraction.")
    parser.add_argument("--quick", action="store_true", help="stratified BANKING77 sample, one fold")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder holding banking77/ (default: tests/data/shared)",
    )
    parser.add_argument("--corpus", choices=("all", "banking77", "labelled"), default="all")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {"quick": args.quick}
    if args.corpus in ("all", "banking77"):
        if not (args.data / "banking77" / "train.csv").is_file():
            print(f"BANKING77 not found under {args.data}; pass --data DIR", file=sys.stderr)
            return 2
        banking = evaluate_banking77(args.data, args.quick)
        report["banking77"] = banking
        print_report("BANKING77, curated terms only (no learning)", banking["curated_only"])
        folds = banking["learned_cv"]["folds_evaluated"]
        print_report(f"BANKING77, curated + learned terms, held-out folds: {folds}", banking["learned_cv"])
    if args.corpus in ("all", "labelled"):
        labelled = evaluate_labelled()
        report["labelled"] = labelled
        print_report("labelled complaint mails (tests/data/labelled), shipped rules", labelled)
        for mistake in labelled["mistakes"]:
            print(f"  {mistake['file']}: labelled {mistake['labelled']}, predicted {mistake['predicted']}")
        print_evidence(labelled["evidence"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

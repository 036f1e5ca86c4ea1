"""Read the labelled mail the category model learns from and is measured on.

Layout of a corpus folder (the repository's ``tests/data`` is one)::

    shared/banking77/train.csv, intent_to_category.csv   BANKING77 (CC BY 4.0), mapped
    complaints/{zh,en}_{train,heldout}.csv, hard_cases.csv   generated for this project
    complaints/banking77_style_train.csv                 one-sentence queries written in BANKING77's style
    complaints/written_train*.csv, written_heldout*.csv   written by hand, one mail at a time
    complaints/blind*_heldout.csv                        written blind, one mail at a time
    labelled/labels.csv + *.eml                          hand-written complaint mails

Held out, never trained on or tuned on: a fixed, stratified 20 % of BANKING77
(:func:`split_banking77`), ``complaints/*_heldout.csv`` (written from other phrase
banks than the training mails), ``written_heldout.csv`` and ``written_heldout_en.csv`` (written apart
from ``written_train.csv``, in other words), ``blind_heldout.csv``,
``blind2_heldout.csv`` and ``blind3_heldout.csv`` (written by someone who read neither
the training mails nor the code) and ``hard_cases.csv``.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from inbox_agent.services.model_fit import Example
from inbox_agent.services.training import Corpus
from inbox_agent.stages.parse import ParseFailure, parse_message

HELD_OUT_FRACTION = 0.2
# Held-out mail that no model is ever fitted on, not even a release refit on the
# held-out part: the shipped model can then still be measured on mail it never saw.
NEVER_TRAINED = frozenset({"blind_heldout", "blind2_heldout", "blind3_heldout"})
# Hand-written files under complaints/ (bench/eval_categories.py reads the held-out ones too).
WRITTEN_TRAINING = (
    "written_train.csv",
    "written_train_en.csv",
    "written_train_en2.csv",
    "written_train_en3.csv",
    "written_train_zh.csv",
)
WRITTEN_HELDOUT = ("written_heldout.csv", "written_heldout_en.csv")
BLIND_HELDOUT = ("blind_heldout.csv", "blind2_heldout.csv", "blind3_heldout.csv")
# Training only: written for the BANKING77 intents that 5-fold CV confused across categories.
BANKING77_STYLE = "banking77_style_train.csv"
SPLIT_SEED = 13


class CorpusError(Exception):
    """A corpus file is missing or malformed; the message names it."""


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror}") from None


def banking77(folder: Path) -> list[Example]:
    """BANKING77's train.csv, each intent mapped to a category (the intent stays the class)."""
    mapping = {row["intent"]: row["category"] for row in _rows(folder / "intent_to_category.csv")}
    examples = []
    for row in _rows(folder / "train.csv"):
        if row["category"] not in mapping:
            raise CorpusError(f"{folder / 'train.csv'}: intent {row['category']!r} has no category mapping")
        examples.append(
            Example("", row["text"], row["category"], mapping[row["category"]], "en", "banking77")
        )
    return examples


def banking77_style(path: Path, mapping_file: Path) -> list[Example]:
    """Queries written for this project in BANKING77's style, each labelled with a BANKING77
    intent (the class) and that intent's category, which must agree with the mapping."""
    mapping = {row["intent"]: row["category"] for row in _rows(mapping_file)}
    examples = []
    for number, row in enumerate(_rows(path), 2):
        if mapping.get(row["intent"]) != row["category"]:
            raise CorpusError(
                f"{path}:{number}: intent {row['intent']!r} with category {row['category']!r}, "
                f"the mapping says {mapping.get(row['intent'])!r}"
            )
        examples.append(Example("", row["text"], row["intent"], row["category"], "en", "banking77_style"))
    return examples


def split_banking77(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(training, held-out): the same fixed 20 % of every intent held out, always."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_label[example.label].append(index)
    held: set[int] = set()
    rng = random.Random(SPLIT_SEED)
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        held.update(indices[: round(len(indices) * HELD_OUT_FRACTION)])
    training = [e for i, e in enumerate(examples) if i not in held]
    return training, [e for i, e in enumerate(examples) if i in held]


def complaints(path: Path) -> list[Example]:
    """A CSV of generated or hand-written mails (subject, text, category, language)."""
    return [
        Example(row["subject"], row["text"], row["category"], row["category"], row["language"], path.stem)
        for row in _rows(path)
    ]


def labelled_mails(folder: Path) -> list[Example]:
    """The hand-written .eml complaint mails of ``labels.csv``, parsed as the daemon would."""
    examples = []
    for row in _rows(folder / "labels.csv"):
        try:
            parsed = parse_message((folder / row["file"]).read_bytes())
        except (OSError, ParseFailure) as exc:
            raise CorpusError(f"{folder / row['file']}: {exc}") from None
        examples.append(
            Example(
                parsed.subject, parsed.new_text, row["category"], row["category"], row["language"], "labelled"
            )
        )
    return examples


def corrections(path: Path) -> list[Example]:
    """Staff corrections (``inbox-agent recategorize``), one JSON object a line."""
    if not path.is_file():
        return []
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            examples.append(
                Example(
                    row["subject"],
                    row["text"],
                    row["category"],
                    row["category"],
                    row["language"],
                    "correction",
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CorpusError(f"{path}:{number}: not a correction record ({exc})") from None
    return examples


def load_corpus(folder: Path, corrections_file: Path | None) -> Corpus:
    """Every corpus under ``folder`` (layout above), split into training and held-out."""
    bank_training, bank_heldout = split_banking77(banking77(folder / "shared" / "banking77"))
    mails = folder / "complaints"
    training = [*bank_training, *complaints(mails / "zh_train.csv"), *complaints(mails / "en_train.csv")]
    training += banking77_style(
        mails / BANKING77_STYLE, folder / "shared" / "banking77" / "intent_to_category.csv"
    )
    training += [e for name in WRITTEN_TRAINING for e in complaints(mails / name)]
    training += labelled_mails(folder / "labelled")
    if corrections_file is not None:
        training += corrections(corrections_file)
    heldout = [*bank_heldout, *complaints(mails / "zh_heldout.csv"), *complaints(mails / "en_heldout.csv")]
    heldout += [e for name in WRITTEN_HELDOUT for e in complaints(mails / name)]
    heldout += [e for name in BLIND_HELDOUT for e in complaints(mails / name)]
    heldout += complaints(mails / "hard_cases.csv")
    return Corpus(training=tuple(training), heldout=tuple(heldout))


def release_examples(corpus: Corpus) -> list[Example]:
    """What a release model is fitted on: the training part and :func:`released_heldout`."""
    return [*corpus.training, *released_heldout(corpus)]


def released_heldout(corpus: Corpus) -> list[Example]:
    """The held-out mails a release model is fitted on too: all but those of :data:`NEVER_TRAINED`."""
    return [e for e in corpus.heldout if e.source not in NEVER_TRAINED]

"""Issue 13's plain linear baseline on our own held-out BANKING77 part, beside the model.

    python bench/baseline_banking77.py [--data DIR]

Needs scikit-learn (``pip install -e '.[train]'``). The issue measured TF-IDF (word 1-2-grams
+ character 2-4-grams) with a LinearSVC, fitted on BANKING77's train.csv, on its test
split: macro-F1 0.943. That split is not in the repository, so the shipped model is
measured on a fixed 20 % of train.csv held out (``training_corpus.split_banking77``).
Whether that part is harder or easier than the test split decides how to read our
figure there, so this fits the issue's baseline on the same 80 % and measures it on
the same 20 %, in the four ways its description leaves open (characters within word
bounds or across them, raw or sublinear term counts), and prints the shipped model's
held-out figure (``metrics.heldout.banking77`` of the model file: the recipe fitted on
the training part) beside them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from inbox_agent.adapters.training_corpus import banking77, split_banking77  # noqa: E402

MODEL_FILE = PROJECT / "inbox_agent" / "config" / "category_model.json"


def baseline_scores(data: Path) -> list[tuple[str, float, float]]:
    """(variant, accuracy, macro-F1) of the issue's baseline on the held-out part."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    training, held = split_banking77(banking77(data / "banking77"))
    gold = [example.category for example in held]
    scores = []
    for analyzer in ("char", "char_wb"):
        for sublinear in (False, True):
            words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=sublinear)
            characters = TfidfVectorizer(analyzer=analyzer, ngram_range=(2, 4), sublinear_tf=sublinear)
            classifier = make_pipeline(make_union(words, characters), LinearSVC())
            classifier.fit([e.text for e in training], [e.category for e in training])
            predicted = list(classifier.predict([e.text for e in held]))
            variant = f"{analyzer} 2-4, {'sublinear' if sublinear else 'raw'} counts"
            scores.append(
                (variant, accuracy_score(gold, predicted), f1_score(gold, predicted, average="macro"))
            )
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=PROJECT / "tests" / "data" / "shared")
    args = parser.parse_args(argv)
    shipped = json.loads(MODEL_FILE.read_text(encoding="utf-8"))["metrics"]["heldout"]["banking77"]
    print(f"BANKING77, the fixed 20 % of train.csv held out (n={shipped['n']}), category macro-F1:")
    print(
        f"  shipped recipe (fitted on the training part)   accuracy {shipped['accuracy']:.3f}  macro-F1 {shipped['macro_f1']:.3f}"
    )
    for variant, accuracy, macro_f1 in baseline_scores(args.data):
        print(f"  baseline: words 1-2 + {variant:<31} accuracy {accuracy:.3f}  macro-F1 {macro_f1:.3f}")
    print("issue 13, the same baseline on the test split: macro-F1 0.943")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train the shipped category model and say how good it is: 5-fold CV and held-out, side by side.

    python bench/train_model.py [--data DIR] [--c 1.0] [--folds 5] [--rules prior:0.2] [--no-write | --release]

Needs scikit-learn (``pip install -e '.[train]'``); the daemon does not.

1. Training part: 80 % of BANKING77 (stratified by intent, fixed), the generated
   complaint mails ``complaints/{zh,en}_train.csv`` (phrase bank A), the hand-written
   ``complaints/written_train{,_en,_en2,_en3}.csv``, the queries written in BANKING77's
   style ``complaints/banking77_style_train.csv`` and the 52 ``labelled/`` mails. Held out,
   never fitted or tuned on: the other 20 % of BANKING77, ``complaints/{zh,en}_heldout.csv``
   (phrase bank B: other templates, other phrases), the hand-written and the two blind
   held-out files and ``complaints/hard_cases.csv`` (issue 13's misses); the layout is
   ``adapters/training_corpus``'s.
2. 5-fold CV on the training part: out-of-fold predictions for each way of using
   the curated rules (off, prior with several weights, override); the rule weight is
   chosen here, on CV (or fixed with ``--rules``; ``metrics.rules_from`` says which),
   and the softmax temperature is fitted on the same folds; so is the second opinion
   (``--hidden`` units, 0 for none; ``--networks`` such networks averaged): a network
   per fold beside the fold's linear model, and the blend temperature of their sum
   fitted on the held folds.
3. The final model is fitted on the whole training part, measured on the held-out
   sets, and written (with its metrics) to inbox_agent/config/category_model.json;
   with ``--release`` the file written is the same recipe refitted on the training
   and the held-out part (more data for mail nobody here wrote) but the mails written
   blind (``release_examples``: they stay held out for the shipped model too), and its
   metrics stay those of the training-part fit (``training.fitted_on`` says so;
   ``training.heldout_fitted_on`` names the held-out groups it was fitted on).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from inbox_agent.adapters.process_memory import keep_freed_memory  # noqa: E402
from inbox_agent.adapters.training_corpus import load_corpus, release_examples, released_heldout  # noqa: E402
from inbox_agent.config.model_file import model_to_json  # noqa: E402
from inbox_agent.config.rules import default_rules  # noqa: E402
from inbox_agent.services.model_eval import evaluate, rules_for, summary_line  # noqa: E402
from inbox_agent.services.model_fit import (  # noqa: E402
    Recipe,
    _fit_weights,
    fit_temperature,
    fold_models,
    stratified_folds,
    with_second_opinion,
)
from inbox_agent.services.training import Corpus, model_version  # noqa: E402

MODEL_FILE = PROJECT / "inbox_agent" / "config" / "category_model.json"
MODES = [
    ("off", 0.0),
    ("prior", 0.1),
    ("prior", 0.2),
    ("prior", 0.4),
    ("prior", 0.7),
    ("prior", 1.0),
    ("override", 0.0),
]


def cross_validate(
    corpus: Corpus, recipe: Recipe, folds: int
) -> tuple[float, float, dict[str, Any], tuple[str, float]]:
    """Temperature, blend temperature (the second opinion's), CV reports per mode and
    group, and the mode chosen on CV."""
    generic = default_rules().categorizer.generic_tokens
    examples = corpus.training
    fold_of = stratified_folds([e.label for e in examples], folds)
    fitted = []
    for fold in range(folds):
        started = time.perf_counter()
        inner = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
        held = [e for e, f in zip(examples, fold_of, strict=True) if f == fold]
        fitted.append((_fit_weights(inner, generic, recipe), inner, held))
        print(f"  fold {fold + 1}/{folds} fitted in {time.perf_counter() - started:.1f}s", flush=True)
    temperature = fit_temperature([(model, held) for model, _, held in fitted], generic)
    started = time.perf_counter()
    models = fold_models(fitted, temperature, generic, recipe, lambda step: print(f"  {step}", flush=True))
    if recipe.hidden:
        print(f"  second opinions fitted in {time.perf_counter() - started:.1f}s", flush=True)
    reports: dict[str, Any] = {}
    for mode, weight in MODES:
        by_group: dict[str, list[Any]] = {}
        for model, (_, _, held) in zip(models, fitted, strict=True):
            rules = rules_for(default_rules(), model, mode, weight)
            for group, members in Corpus.groups(held).items():
                by_group.setdefault(group, []).append((rules, members))
        reports[f"{mode}:{weight}"] = {group: _pooled(parts) for group, parts in by_group.items()}
    chosen = max(MODES, key=lambda m: _mean_f1(reports[f"{m[0]}:{m[1]}"]))
    return temperature, models[0].network.blend_temperature if models[0].network else 1.0, reports, chosen


def fitted_model(examples: Any, generic: Any, recipe: Recipe, temperature: float, blend: float) -> Any:
    """The recipe fitted on ``examples``, the temperatures from CV."""
    model = replace(_fit_weights(examples, generic, recipe), temperature=temperature)
    return with_second_opinion(model, examples, generic, recipe, blend)


def _pooled(parts: list[Any]) -> dict[str, Any]:
    """One report over the out-of-fold predictions of every fold."""
    from inbox_agent.services.model_eval import metrics

    gold: list[str] = []
    predicted: list[str] = []
    for rules, members in parts:
        gold.extend(e.category for e in members)
        predicted.extend(evaluate(rules, members)["predicted"])
    return metrics(gold, predicted)


# How much each CV group counts when the rule mode is chosen. Generated mails recombine
# the same phrases across folds, so their CV sits near 1.0 and says little: they count
# nothing. BANKING77 and the mails written by hand, one at a time, decide.
GROUP_WEIGHTS = {
    "banking77": 1.0,
    "written_zh": 1.0,
    "written_en": 1.0,
    "labelled_zh": 0.5,
    "labelled_en": 0.5,
}


def _mean_f1(groups: dict[str, Any]) -> float:
    """Macro-F1 averaged over the CV groups with GROUP_WEIGHTS (unlisted groups count 0)."""
    weighted = [(GROUP_WEIGHTS.get(group, 0.0), r["macro_f1"]) for group, r in groups.items()]
    total = sum(w for w, _ in weighted)
    return sum(w * f1 for w, f1 in weighted) / total if total else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=PROJECT / "tests" / "data")
    parser.add_argument("--c", type=float, default=Recipe().c)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--level", choices=("category", "intent"), default=Recipe().level)
    parser.add_argument("--mail-weight", type=float, default=Recipe().mail_weight)
    parser.add_argument("--min-df", type=int, default=Recipe().min_df)
    parser.add_argument("--penalty", choices=("l1", "l2"), default=Recipe().penalty)
    parser.add_argument("--balanced", action="store_true", help="class weights inverse to class sizes")
    parser.add_argument("--classifier", choices=("svm", "svm+lr"), default=Recipe().classifier)
    parser.add_argument("--lr-c-factor", type=float, default=Recipe().lr_c_factor)
    parser.add_argument("--min-contribution", type=float, default=Recipe().min_contribution)
    parser.add_argument("--prune", type=float, default=Recipe().prune)
    parser.add_argument(
        "--hidden", type=int, default=Recipe().hidden, help="the second opinion's units; 0: none"
    )
    parser.add_argument(
        "--networks",
        type=int,
        default=Recipe().networks,
        help="networks from different random starts, averaged (each of --hidden units)",
    )
    parser.add_argument(
        "--rules",
        metavar="MODE:WEIGHT",
        help="use this rules mode (e.g. prior:0.2, the shipped [categorizer] setting) instead of the one chosen on CV",
    )
    parser.add_argument("--no-write", action="store_true", help="measure only; leave the shipped model")
    parser.add_argument(
        "--release",
        action="store_true",
        help="write a model refitted on everything (training and held-out part) with the recipe measured here",
    )
    args = parser.parse_args(argv)
    known_rules = {f"{m}:{w}": (m, w) for m, w in MODES}
    if args.rules and args.rules not in known_rules:
        parser.error(f"--rules {args.rules}: not one of {', '.join(known_rules)}")
    fixed_rules = known_rules.get(args.rules or "")
    recipe = replace(
        Recipe(),
        c=args.c,
        level=args.level,
        mail_weight=args.mail_weight,
        min_df=args.min_df,
        penalty=args.penalty,
        balanced=args.balanced,
        classifier=args.classifier,
        lr_c_factor=args.lr_c_factor,
        min_contribution=args.min_contribution,
        prune=args.prune,
        hidden=args.hidden,
        networks=args.networks,
    )
    keep_freed_memory()  # the fits reuse freed memory instead of faulting it in again
    corpus = load_corpus(args.data, corrections_file=None)
    print(f"training part: {len(corpus.training)} mails; held out: {len(corpus.heldout)}")
    temperature, blend, cv, (mode, weight) = cross_validate(corpus, recipe, args.folds)
    print(f"\n{args.folds}-fold CV on the training part (temperature {temperature}, blend {blend}):")
    for key, groups in cv.items():
        for group, report in groups.items():
            print(summary_line(f"  {key} {group}", report))
    for key, groups in cv.items():
        print(f"  {key}: weighted CV macro-F1 {_mean_f1(groups):.4f}")
    print(f"chosen on CV (weights {GROUP_WEIGHTS}): rules={mode} rule_weight={weight}")
    if fixed_rules:
        # The modes' CV figures can sit within fold noise of each other; the caller
        # may keep the shipped setting (and the curated terms' effect) instead.
        mode, weight = fixed_rules
        print(f"used instead (--rules): rules={mode} rule_weight={weight}")
    started = time.perf_counter()
    generic = default_rules().categorizer.generic_tokens
    model = fitted_model(corpus.training, generic, recipe, temperature, blend)
    weights = len(model.table.weights)
    print(
        f"final fit: {time.perf_counter() - started:.1f}s, {len(model.features)} features, "
        f"{weights} weights, {len(model.classes)} classes"
    )
    held: dict[str, Any] = {}
    for key_mode, key_weight in MODES:
        rules = rules_for(default_rules(), model, key_mode, key_weight)
        for group, members in Corpus.groups(corpus.heldout).items():
            report = evaluate(rules, members)
            held.setdefault(f"{key_mode}:{key_weight}", {})[group] = report
            print(summary_line(f"  held-out {key_mode}:{key_weight} {group}", report))
    chosen = f"{mode}:{weight}"
    print("\nCV and held-out side by side (chosen mode), macro-F1:")
    for group in held[chosen]:
        cv_f1 = cv[chosen].get(group, {}).get("macro_f1", float("nan"))
        print(f"  {group:<24} CV {cv_f1:.3f}   held-out {held[chosen][group]['macro_f1']:.3f}")
    for mistake in held[chosen].get("hard_cases", {}).get("mistakes", []):
        print(f"  hard case missed: {mistake}")
    if not args.no_write:
        stored = {group: _slim(r) for group, r in held[chosen].items()}
        created = datetime.now(UTC)
        fitted_on = "training part"
        heldout_fitted_on: list[str] = []
        if args.release:
            # More data for mail nobody here wrote; the figures stored are those of the
            # same recipe fitted on the training part (this model has seen the held-out part but
            # the blind mails).
            model = fitted_model(release_examples(corpus), generic, recipe, temperature, blend)
            fitted_on = "training and held-out part but the blind mails (release): the metrics are of the training-part fit"
            # Which held-out figures are not held out for this model (`train` and
            # eval_categories say so), by name rather than by reading the sentence above.
            heldout_fitted_on = sorted(Corpus.groups(released_heldout(corpus)))
        model = replace(
            model,
            version=model_version(created, model),
            metrics={
                "heldout": stored,
                "cv": {g: _slim(r) for g, r in cv[chosen].items()},
                "rules": mode,
                "rule_weight": weight,
                "rules_from": "--rules" if fixed_rules else "cv",
            },
            training=dict(model.training)
            | {
                "created": created.isoformat(timespec="seconds"),
                "c": recipe.c,
                "classifier": recipe.classifier,
                "recipe": asdict(recipe),  # every knob, so the file says how it was made
                "fitted_on": fitted_on,
                "heldout_fitted_on": heldout_fitted_on,
            },
        )
        MODEL_FILE.write_text(model_to_json(model), encoding="utf-8")
        print(
            f"wrote {MODEL_FILE.relative_to(PROJECT)} ({MODEL_FILE.stat().st_size / 1e6:.2f} MB), version {model.version}"
        )
    return 0


def _slim(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("n", "accuracy", "macro_f1", "ece") if k in report}


if __name__ == "__main__":
    raise SystemExit(main())

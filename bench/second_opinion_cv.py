"""The category model's second opinion, measured on CV: the linear recipe alone, the
small neural network (one hidden layer) alone, and their sum (the network's category
log-probabilities added to the linear recipe's scores) at several weights.

    python bench/second_opinion_cv.py [--data DIR] [--seed 77] [--folds 5] [--hidden 64] [--networks 1] [--sample 1.0] [--fit-share 1.0]
    python bench/second_opinion_cv.py --heldout     # measured once, after choosing on CV

Needs scikit-learn (``pip install -e '.[train]'``). Every fold fits both on the same
training folds with the shipped code (``services/model_fit.py``): the linear recipe as
``bench/train_model.py`` fits it (the curated terms as a prior at 0.2, the temperature
fitted on the folds), then the network as ``train`` fits it beside that fold's linear
model: over the mail vectors the daemon builds from it (its kept n-grams' scaled
tf-idf), on the n-grams seen in at least two training mails, BANKING77 intents and our
categories as its classes. Printed per CV group: macro-F1 of the linear recipe, of the
network alone and of the sum at each blend weight (the shipped model uses 1.0, the
plain sum, and a blend temperature that changes its confidence, not its decision).
With ``--heldout`` both are fitted once on the whole training part (the linear
recipe as ``inbox-agent train`` fits it) and measured on every held-out group.

Why a network: every linear variant tried on CV (docs/MEASUREMENTS.md, issue 13) stayed
within the folds' noise; a model that weighs n-grams together, not one by one, raised
every group on two fold seeds. ``--fit-share``: each fold is fitted on a stratified
share of its training mails (0.2 steps), its held mails unchanged, or with ``--heldout``
the training part is: what more training text gives (a learning curve; the shipped
model is fitted on 25 % more BANKING77 text than the one measured held out).
``--sample``: a stratified share of the training part, to try the script quickly.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from inbox_agent.adapters.process_memory import keep_freed_memory  # noqa: E402
from inbox_agent.adapters.training_corpus import load_corpus  # noqa: E402
from inbox_agent.config.rules import default_rules  # noqa: E402
from inbox_agent.domain.model import CATEGORIES  # noqa: E402
from inbox_agent.services.model_eval import metrics, rules_for  # noqa: E402
from inbox_agent.services.model_fit import (  # noqa: E402
    Example,
    Recipe,
    _fit_network,
    _fit_weights,
    fit_model,
    fit_temperature,
    stratified_folds,
)
from inbox_agent.services.training import Corpus  # noqa: E402
from inbox_agent.stages.categorize import decide_with_model, score_terms  # noqa: E402
from inbox_agent.stages.category_model import mail_verdict, second_opinion_logits  # noqa: E402

RULE_WEIGHT = 0.2  # the linear recipe's (`[categorizer] rule_weight`)
BLEND_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0)  # 0.0: the linear recipe alone
GROUPS = ("banking77", "written_en", "written_zh")


@dataclass
class Scored:
    """One training example's out-of-fold scores, per category in CATEGORIES' order."""

    group: str
    gold: str
    linear: list[float]  # log-probabilities of the linear recipe, curated terms included
    network: list[float]  # log-probabilities of the network


def linear_scores(models: list[Any], held: list[list[Example]], generic: Any) -> list[list[list[float]]]:
    """Per fold, the linear recipe's log-probability of each category for each held mail."""
    temperature = fit_temperature(list(zip(models, held, strict=True)), generic)
    return [
        log_probabilities(replace(model, temperature=temperature), members)
        for model, members in zip(models, held, strict=True)
    ]


def log_probabilities(model: Any, examples: list[Example]) -> list[list[float]]:
    """The linear recipe's log-probability of each category, as the daemon decides."""
    rules = rules_for(default_rules(), model, "prior", RULE_WEIGHT)
    rows = []
    for example in examples:
        terms = score_terms(example.subject, example.text, rules)
        decision = decide_with_model(example.subject, example.text, terms, rules, rules.model)
        rows.append([math.log(max(decision.probabilities[c], 1e-12)) for c in CATEGORIES])
    return rows


def network_scores(
    model: Any, inner: list[Example], held: list[Example], generic: Any, recipe: Recipe
) -> list[list[float]]:
    """Log-probability of each category for each held mail, from the network the
    shipped code fits on ``inner`` beside the linear ``model`` (services/model_fit.py)."""
    network = _fit_network(model, inner, generic, recipe, 1.0)
    paired = replace(model, network=network)
    rows = []
    for example in held:
        verdict = mail_verdict(paired, example.subject, example.text, generic)
        logs = second_opinion_logits(paired, verdict) or {}
        rows.append([logs[c] for c in CATEGORIES])
    return rows


def out_of_fold(
    examples: list[Example], folds: int, seed: int, recipe: Recipe, fit_share: float = 1.0
) -> list[Scored]:
    generic = default_rules().categorizer.generic_tokens
    fold_of = stratified_folds([e.label for e in examples], folds, seed)
    held = [[e for e, f in zip(examples, fold_of, strict=True) if f == fold] for fold in range(folds)]
    models, networks = [], []
    for fold in range(folds):
        inner = fitted_share(
            [e for e, f in zip(examples, fold_of, strict=True) if f != fold], fit_share, seed
        )
        models.append(_fit_weights(inner, generic, Recipe()))
        networks.append(network_scores(models[-1], inner, held[fold], generic, recipe))
        print(f"  fold {fold + 1}/{folds} fitted", flush=True)
    linear = linear_scores(models, held, generic)
    scored = []
    for members, ours, theirs in zip(held, linear, networks, strict=True):
        group_of = {id(e): group for group, grouped in Corpus.groups(members).items() for e in grouped}
        for example, mine, net in zip(members, ours, theirs, strict=True):
            scored.append(Scored(group_of[id(example)], example.category, mine, net))
    return scored


def macro_f1(rows: list[Scored], weight: float | None) -> float:
    """Macro-F1 of the blend (``None``: the network alone)."""

    def pick(row: Scored) -> str:
        if weight is None:
            total = row.network
        else:
            total = [s + weight * n for s, n in zip(row.linear, row.network, strict=True)]
        return CATEGORIES[max(range(len(total)), key=total.__getitem__)]

    return float(metrics([r.gold for r in rows], [pick(r) for r in rows])["macro_f1"])


def fitted_share(inner: list[Example], share: float, seed: int) -> list[Example]:
    """``inner`` without a stratified ``1 - share`` of it (in fifths: 0.8 drops one)."""
    dropped = round((1.0 - share) * 5)
    if not 0 <= dropped < 5 or abs((1.0 - share) * 5 - dropped) > 1e-9:
        raise SystemExit(f"--fit-share {share}: must be 0.2, 0.4, 0.6, 0.8 or 1.0")
    bucket = stratified_folds([e.label for e in inner], 5, seed + 1)
    return [e for e, b in zip(inner, bucket, strict=True) if b >= dropped]


def sample(examples: list[Example], share: float, seed: int) -> list[Example]:
    """A stratified ``share`` of ``examples`` (every label keeps its proportion)."""
    if share >= 1.0:
        return examples
    buckets = round(1 / share)
    fold_of = stratified_folds([e.label for e in examples], buckets, seed + 1)
    return [e for e, f in zip(examples, fold_of, strict=True) if f == 0]


def held_out(training: list[Example], heldout: list[Example], recipe: Recipe) -> list[Scored]:
    """Both fitted on the whole training part (the linear recipe as ``train`` fits it),
    scored on the held-out part."""
    generic = default_rules().categorizer.generic_tokens
    model = fit_model(training, generic, replace(Recipe(), hidden=0))
    linear = log_probabilities(model, heldout)
    print("  linear recipe fitted", flush=True)
    network = network_scores(model, training, heldout, generic, recipe)
    group_of = {id(e): group for group, grouped in Corpus.groups(heldout).items() for e in grouped}
    return [
        Scored(group_of[id(e)], e.category, mine, net)
        for e, mine, net in zip(heldout, linear, network, strict=True)
    ]


def print_cv(scored: list[Scored]) -> None:
    print(f"{'CV macro-F1':24}" + "".join(f"{group:>12}" for group in GROUPS))
    variants: list[tuple[str, float | None]] = [("linear recipe", 0.0), ("network alone", None)]
    variants += [(f"linear + {w} x network", w) for w in BLEND_WEIGHTS if w]
    for name, weight in variants:
        cells = [macro_f1([r for r in scored if r.group == group], weight) for group in GROUPS]
        print(f"{name:24}" + "".join(f"{cell:12.4f}" for cell in cells), flush=True)


def print_held_out(scored: list[Scored]) -> None:
    print(f"{'held-out macro-F1':24}{'mails':>7}{'linear':>10}{'network':>10}{'1.0 blend':>10}")
    for group in dict.fromkeys(r.group for r in scored):
        rows = [r for r in scored if r.group == group]
        cells = [macro_f1(rows, 0.0), macro_f1(rows, None), macro_f1(rows, 1.0)]
        print(f"{group:24}{len(rows):7d}" + "".join(f"{cell:10.4f}" for cell in cells), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=PROJECT / "tests" / "data")
    parser.add_argument("--seed", type=int, default=77, help="the fold seed")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--hidden", type=int, default=Recipe().hidden, help="units in the network's hidden layer"
    )
    parser.add_argument(
        "--networks",
        type=int,
        default=Recipe().networks,
        help="networks from different random starts, averaged",
    )
    parser.add_argument("--sample", type=float, default=1.0, help="share of the training part used")
    parser.add_argument(
        "--fit-share",
        type=float,
        default=1.0,
        help="share of each fold's training mails fitted on (CV), or of the training part (--heldout)",
    )
    parser.add_argument(
        "--heldout", action="store_true", help="fit on the training part, measure held out (no CV)"
    )
    args = parser.parse_args(argv)
    recipe = replace(Recipe(), hidden=args.hidden, networks=args.networks)  # the network's
    keep_freed_memory()  # the process exits when done (adapters/process_memory.py)
    corpus = load_corpus(args.data, corrections_file=None)
    examples = sample(list(corpus.training), args.sample, args.seed)
    if args.heldout:  # --fit-share: the training part fitted on is a stratified share of it
        examples = fitted_share(examples, args.fit_share, args.seed)
        print(f"{len(examples)} training examples, {len(corpus.heldout)} held out", flush=True)
        print_held_out(held_out(examples, list(corpus.heldout), recipe))
        return 0
    print(f"{len(examples)} training examples, {args.folds}-fold CV, fold seed {args.seed}", flush=True)
    print_cv(out_of_fold(examples, args.folds, args.seed, recipe, args.fit_share))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

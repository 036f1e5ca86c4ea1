"""`inbox-agent recategorize` and `inbox-agent train`: staff corrections and the model they teach.

    inbox-agent recategorize WLT-2026-000123 privacy [--by NAME]
    inbox-agent train [--data DIR] [--apply]     # refit, compare with the current model
    inbox-agent train --rollback                 # back to the model applied before

``train`` needs scikit-learn (``pip install 'inbox-agent[train]'``) and says so when
it is missing; the daemon never does. An applied model is used from the next start
of the daemon (or of any command).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from inbox_agent.adapters.process_memory import keep_freed_memory
from inbox_agent.adapters.training_corpus import CorpusError
from inbox_agent.config.loader import Config
from inbox_agent.domain.clock import SystemClock
from inbox_agent.domain.model import CATEGORIES
from inbox_agent.entrypoints.bootstrap import (
    correction_recorder,
    model_repository,
    open_store,
    training_corpus,
)
from inbox_agent.entrypoints.cli_common import EXIT_FAIL, EXIT_OK
from inbox_agent.services.model_eval import summary_line
from inbox_agent.services.model_fit import TrainingUnavailable
from inbox_agent.services.recategorize import RecategorizeError, recategorize
from inbox_agent.services.staff_actions import NoSuchCase
from inbox_agent.services.training import groups_fitted_on, train

# The corpora of a source checkout (tests/data); an installed package has none, so
# `train` then needs --data.
CHECKOUT_DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


def add_train_parsers(sub: argparse._SubParsersAction) -> None:
    fix = sub.add_parser(
        "recategorize", help="correct a case's category (an event, and an example to learn from)"
    )
    fix.add_argument("case")
    fix.add_argument("category", choices=CATEGORIES)
    fix.add_argument("--by", help="who acts (default: $USER)")
    fit = sub.add_parser("train", help="refit the category model on the shipped data plus staff corrections")
    fit.add_argument("--data", type=Path, help="corpus folder laid out like the repository's tests/data")
    action = fit.add_mutually_exclusive_group()
    action.add_argument("--apply", action="store_true", help="make the new model the current one")
    action.add_argument("--rollback", action="store_true", help="go back to the model applied before")


def cmd_recategorize(args: argparse.Namespace, config: Config) -> int:
    actor = args.by or os.environ.get("USER", "staff")
    try:
        case = recategorize(
            open_store(config),
            args.case,
            args.category,
            actor,
            SystemClock().now(),
            correction_recorder(config),
        )
    except (NoSuchCase, RecategorizeError) as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_FAIL
    print(f"{case.case_id}: now {case.category}; the correction is kept for `inbox-agent train`")
    return EXIT_OK


def _print_comparison(current: dict[str, Any], new: dict[str, Any], seen: list[str]) -> None:
    print("held-out mails (the new model never trained on them):")
    if seen:
        # The shipped model is a release refit: comparing it there would flatter it.
        spared = [group for group in new if group not in seen]
        print(
            f"  the current model was fitted on these too, so its figures there are not held out: {', '.join(seen)}"
        )
        print(f"  held out for both: {', '.join(spared) or 'none'}")
    for group in new:
        print(summary_line(f"  current  {group}", current[group]))
        print(summary_line(f"  new      {group}", new[group]))


def cmd_train(args: argparse.Namespace, config: Config) -> int:
    repository = model_repository(config)
    if args.rollback:
        if repository.current() is None:
            print(
                "nothing to roll back: the shipped model is in use (no model was applied with `train --apply`)"
            )
            return EXIT_FAIL
        back = repository.rollback()
        print(f"current model: {back or 'the shipped model'} (used from the next start)")
        return EXIT_OK
    folder = args.data or CHECKOUT_DATA
    keep_freed_memory()  # a quarter off the fit (adapters/process_memory.py); this process ends with it
    try:
        corpus = training_corpus(config, folder)
        outcome = train(
            corpus,
            config.rules,
            repository,
            SystemClock().now(),
            apply=args.apply,
            progress=lambda step: print(f"  {step}", flush=True),
        )
    except TrainingUnavailable as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_FAIL
    except CorpusError as exc:
        sys.stderr.write(
            f"training data: {exc} (pass --data DIR: a folder like the repository's tests/data)\n"
        )
        return EXIT_FAIL
    _print_comparison(outcome.current, outcome.new, groups_fitted_on(config.rules.model, list(outcome.new)))
    state = "applied: used from the next start" if outcome.applied else "not applied (run again with --apply)"
    print(f"new model {outcome.model.version} kept as {outcome.file}; {state}")
    return EXIT_OK


TRAIN_COMMANDS = {"recategorize": cmd_recategorize, "train": cmd_train}

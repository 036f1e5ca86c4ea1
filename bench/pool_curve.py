"""Would a process pool pay? `python bench/pool_curve.py [N] [--workers 1,2,4]`.

The analysis stages (parse, guard, authenticate, categorize, evidence: the
``CLASSIFY`` tuple after ``Dedupe``) are the pure, per-mail part of the intake: the
part a process pool could run beside the IMAP fetch and the SMTP send. This script
times them over N generated mails (bench/corpus.py, default 2,000) in-process, then
in a ``ProcessPoolExecutor`` with each worker count, in batches of 100 as the daemon
fetches them. Each pool run counts its start-up and the pickling of every result
back to the parent (what the daemon's deciding stages would need: the parsed
message, the skip, the sender check, the category and the evidence), so the figure
is what the daemon would see, not the workers' own speed.

It prints mails/s per mode, the speed-up over in-process and the pool's start-up
time. It asserts nothing about speed; on a shared machine compare ratios within one
run.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(BENCH))

from corpus import generate_corpus  # noqa: E402

from inbox_agent.config.loader import load_config  # noqa: E402
from inbox_agent.pipeline.decision import Incoming  # noqa: E402
from inbox_agent.pipeline.process import Analysis, analyse  # noqa: E402

CONFIG = PROJECT / "config.example.toml"
BATCH = 100
_NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
_config: Any = None


def _analyse(raw: bytes) -> Analysis:
    """One mail through the analysis stages (``pipeline.process.analyse``, as the
    daemon's pool runs them); what the parent would need back."""
    global _config
    if _config is None:
        _config = load_config(CONFIG)
    return analyse(Incoming(raw, "bench", _NOW), _config, _NOW)


def _analyse_batch(raws: list[bytes]) -> list[Analysis]:
    return [_analyse(raw) for raw in raws]


def _batches(raws: list[bytes]) -> list[list[bytes]]:
    return [raws[start : start + BATCH] for start in range(0, len(raws), BATCH)]


def in_process(raws: list[bytes]) -> dict[str, Any]:
    _analyse(raws[0])  # the config and the category model loaded, as in a started worker
    started = time.perf_counter()
    results = [result for batch in _batches(raws) for result in _analyse_batch(batch)]
    seconds = time.perf_counter() - started
    pickled = sum(len(pickle.dumps(result)) for result in results) / len(results)
    return {"mails_per_second": round(len(raws) / seconds, 1), "result_bytes_per_mail": round(pickled)}


def pooled(raws: list[bytes], workers: int) -> dict[str, Any]:
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Start-up: every worker imports the package and loads the config once.
        list(pool.map(_analyse, [raws[0]] * workers))
        ready = time.perf_counter()
        # Up to ``workers`` batches in flight, results consumed in mail order, as the
        # daemon would commit them.
        count = sum(len(batch) for batch in pool.map(_analyse_batch, _batches(raws)))
    done = time.perf_counter()
    assert count == len(raws)
    return {
        "mails_per_second": round(len(raws) / (done - ready), 1),
        "with_startup_mails_per_second": round(len(raws) / (done - started), 1),
        "startup_seconds": round(ready - started, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts to try (comma-separated)")
    parser.add_argument("--rounds", type=int, default=3, help="repeats; the median is printed")
    args = parser.parse_args(argv)
    raws = [mail.raw for mail in generate_corpus(args.count)]
    counts = [int(text) for text in args.workers.split(",")]
    runs: dict[str, list[dict[str, Any]]] = {"in-process": []}
    runs.update({f"pool {n}": [] for n in counts})
    for _ in range(args.rounds):  # alternate the modes so drifting load hits them all
        runs["in-process"].append(in_process(raws))
        for n in counts:
            runs[f"pool {n}"].append(pooled(raws, n))
    base = statistics.median(run["mails_per_second"] for run in runs["in-process"])
    print(f"{args.count} mails, {os.cpu_count()} CPUs, batches of {BATCH}, median of {args.rounds}")
    for mode, results in runs.items():
        rate = statistics.median(run["mails_per_second"] for run in results)
        extra = ""
        if "startup_seconds" in results[0]:
            startup = statistics.median(run["startup_seconds"] for run in results)
            whole = statistics.median(run["with_startup_mails_per_second"] for run in results)
            extra = f"  start-up {startup:.3f} s, {whole:.1f} mails/s counting it"
        else:
            extra = f"  result pickled: {results[0]['result_bytes_per_mail']} bytes/mail"
        print(f"{mode:>11}: {rate:8.1f} mails/s  x{rate / base:.2f}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

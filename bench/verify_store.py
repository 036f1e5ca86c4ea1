"""How long `inbox-agent verify` takes on a healthy store (issue target: 10,000 cases
in under 10 s), and that it finds nothing wrong there.

    python bench/verify_store.py                 # 10,000 cases
    python bench/verify_store.py --cases 2000

The store is built with the benchmark's synthetic cases (bench/worker.py), each with
its incoming mail stored as a raw file of about 4 KB, so verify reads and hashes
every shard and every raw mail.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.worker import synthetic_case  # noqa: E402
from inbox_agent.adapters.store_verify import verify  # noqa: E402
from inbox_agent.adapters.tinydb_store import Store  # noqa: E402
from inbox_agent.domain.clock import iso  # noqa: E402
from inbox_agent.services.ports import Changes  # noqa: E402

SHARD_SIZE = 500


def build(root: Path, cases: int) -> None:
    store = Store(root, shard_size=SHARD_SIZE)
    at = iso(datetime(2026, 11, 1, tzinfo=UTC))
    for start in range(1, cases + 1, SHARD_SIZE):
        end = min(cases + 1, start + SHARD_SIZE)
        changes = Changes(next_case_seq=end)
        for seq in range(start, end):
            case, message = synthetic_case(seq, at)
            raw = f"From: {case.customer}\r\nSubject: {case.subject}\r\n\r\n".encode() + b"x" * 4000
            changes.put_case(case)
            changes.messages.append(replace(message, raw_sha256=store.put_blob(raw)))
        store.commit(changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "data"
        started = time.perf_counter()
        build(root, args.cases)
        built = time.perf_counter() - started
        started = time.perf_counter()
        report = verify(root, shard_size=SHARD_SIZE)
        took = time.perf_counter() - started
    print(f"store of {args.cases} cases built in {built:.1f} s")
    print(f"verify: {'clean' if report.clean else report.problems[:3]} in {took:.2f} s")
    print("counted: " + ", ".join(f"{count} {what}" for what, count in sorted(report.counts.items())))


if __name__ == "__main__":
    main()

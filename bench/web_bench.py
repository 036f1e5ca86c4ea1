"""Latency of the staff web app with 10,000 stored cases: queue and case pages.

    python bench/web_bench.py                  # 10,000 cases, 200 requests per page kind
    python bench/web_bench.py --cases 2000 --requests 50

Builds a store of synthetic cases (bench/worker.py, statuses, levels, severities and
categories mixed), starts the real `inbox-agent web` process on it, signs in over HTTP
and times whole requests (client side, over a socket) for: the queue as it opens, the
queue searched by transaction id, the queue filtered, a page further on, and case
pages picked at random. Also the first queue after a commit by another process (the
daemon), which re-reads the rewritten shard. Target: p95 < 200 ms for queue and case.
Prints the figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import httpx  # noqa: E402
from servers import free_port, wait_for_port  # noqa: E402

from bench.worker import synthetic_case  # noqa: E402
from inbox_agent.adapters.tinydb_store import Store  # noqa: E402
from inbox_agent.domain.clock import iso  # noqa: E402
from inbox_agent.domain.model import CATEGORIES, CaseStatus  # noqa: E402
from inbox_agent.services.ports import Changes  # noqa: E402

SHARD_SIZE = 500
PASSWORD = "bench password 12345"
TARGET_MS = 200.0
STATUSES = (CaseStatus.WAITING_CUSTOMER, CaseStatus.WAITING_STAFF, CaseStatus.RESOLVED, CaseStatus.ESCALATED)


def build(root: Path, cases: int) -> None:
    store = Store(root, shard_size=SHARD_SIZE)
    now = datetime.now(UTC)
    for start in range(1, cases + 1, SHARD_SIZE):
        end = min(cases + 1, start + SHARD_SIZE)
        changes = Changes(next_case_seq=end)
        for seq in range(start, end):
            at = iso(now - timedelta(hours=seq % 500))
            case, message = synthetic_case(seq, at)
            status = STATUSES[seq % len(STATUSES)]
            case = replace(
                case,
                status=status,
                category=CATEGORIES[seq % len(CATEGORIES)],
                severity=("normal", "high", "urgent")[seq % 3],
                escalation_level=seq % 4 if status == CaseStatus.ESCALATED else 0,
                evidence=(("transaction_id", f"TXN{seq:012d}"),),
                awaiting_since="" if status == CaseStatus.RESOLVED else at,
            )
            changes.put_case(case)
            changes.messages.append(message)
        store.commit(changes)


def write_config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[mailbox]\nkind = "maildir"\naddress = "complaints@wallet.example"\n'
        f'[mailbox.maildir]\npath = "{folder / "maildir"}"\n'
        f'[smtp]\nkind = "directory"\ndirectory = "{folder / "outbox"}"\n'
        f'[storage]\ndata_dir = "{folder / "data"}"\nshard_size = {SHARD_SIZE}\n'
        '[web]\nsecure_cookies = false\nthrottle = "0s"\n',
        encoding="utf-8",
    )
    return path


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> None:
    command = [sys.executable, "-m", "inbox_agent", "--config", str(config), *args]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, **(env or {})})


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    took = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{path}: {answer.status_code}")
    return took


def figures(name: str, samples: list[float]) -> tuple[str, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    verdict = "pass" if p95 < TARGET_MS else "miss"
    line = (
        f"{name:<34} n={len(samples):<4} p50 {statistics.median(ordered):7.1f} ms   "
        f"p95 {p95:7.1f} ms   max {ordered[-1]:7.1f} ms   {verdict}"
    )
    return line, p95


def measure(base: str, cases: int, requests: int) -> list[str]:
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/signin").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    client.post("/signin", data={"csrf": token, "name": "bench", "password": PASSWORD})
    timed(client, "/")  # the first request reads every shard once
    rng = random.Random(7)
    kinds = {
        "queue (first page, priority)": lambda: "/",
        "queue searched by transaction id": lambda: f"/?q=TXN{rng.randint(1, cases):012d}",
        "queue filtered (category+severity)": lambda: "/?category=security&severity=urgent&sort=newest",
        "queue page 40": lambda: "/?page=40",
        "case page": lambda: f"/cases/WLT-2026-{rng.randint(1, cases):06d}",
    }
    lines = []
    for name, path in kinds.items():
        lines.append(figures(name, [timed(client, path()) for _ in range(requests)])[0])
    return lines


def after_commit(base: str, config: Path, rounds: int) -> str:
    """The first queue after another process committed (a note by the CLI each round)."""
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/signin").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    client.post("/signin", data={"csrf": token, "name": "bench", "password": PASSWORD})
    samples = []
    for round_ in range(rounds):
        cli(config, "note", f"WLT-2026-{round_ + 1:06d}", "bench note")
        samples.append(timed(client, "/"))
    return figures("queue right after a daemon commit", samples)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        (folder / "maildir" / "new").mkdir(parents=True)
        config = write_config(folder)
        started = time.perf_counter()
        build(folder / "data", args.cases)
        print(f"store of {args.cases} cases built in {time.perf_counter() - started:.1f} s")
        cli(
            config,
            "staff",
            "add",
            "bench",
            "--role",
            "supervisor",
            env={"INBOX_AGENT_STAFF_PASSWORD": PASSWORD},
        )
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "inbox_agent", "--config", str(config), "web", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port, 60, alive=server)
            base = f"http://127.0.0.1:{port}"
            for line in measure(base, args.cases, args.requests):
                print(line)
            print(after_commit(base, config, 10))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

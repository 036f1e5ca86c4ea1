"""One measurement, run in its own process so its peak RSS and CPU are its own.

``run_bench.py`` holds the servers (Dovecot, aiosmtpd) and starts this script once
per measurement; the answer is one JSON object on stdout. Modes:

- ``e2e``: the daemon in-process (build_runtime + run_cycle) until the mailbox is
  drained and every acknowledgement was accepted by the SMTP server;
- ``raw``: imapclient FETCH BODY.PEEK[] in batches and one fixed reply per mail over
  one reused SMTP connection, no processing: the floor the transport sets;
- ``parse``: the same fetch plus ``inbox_agent.stages.parse.parse_message`` on every mail;
- ``prefill``: grow a store by N synthetic cases through ``Store.commit``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import pstats
import re
import resource
import smtplib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from inbox_agent.adapters.tinydb_store import Store  # noqa: E402
from inbox_agent.domain.clock import iso  # noqa: E402
from inbox_agent.domain.lifecycle import case_id_for  # noqa: E402
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord  # noqa: E402
from inbox_agent.services.ports import Changes  # noqa: E402

_FROM = re.compile(rb"^From:.*?<?([\w.+-]+@[\w.-]+)>?\s*$", re.MULTILINE | re.IGNORECASE)
REPLY = (
    b"From: complaints@wallet.example\r\nTo: {to}\r\nSubject: We received your message\r\n"
    b"Auto-Submitted: auto-replied\r\n\r\nThank you, we are looking into it.\r\n"
)


def peak_rss_mb() -> float:
    """Peak resident set of this process: VmHWM, in KiB.

    Not ``ru_maxrss``: Linux carries it over ``exec``, so a worker started from the
    harness would report the harness's own size (the whole corpus) at the fork.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---------------------------------------------------------------- e2e


def run_e2e(config_path: Path, profile_dir: Path | None) -> dict[str, Any]:
    from inbox_agent.config.loader import load_config
    from inbox_agent.entrypoints.bootstrap import build_runtime
    from inbox_agent.entrypoints.daemon import run_cycle

    # Per-mail INFO lines would measure the terminal, not the daemon.
    logging.basicConfig(level=logging.WARNING)
    config = load_config(config_path)
    started = time.perf_counter()
    runtime = build_runtime(config)
    startup = time.perf_counter() - started
    profiler = cProfile.Profile() if profile_dir else None
    if profiler:  # the profiler sees one thread: send there too (bench/stage_times.py)
        runtime.delivery.send_in_thread = False
    fetched = sent = failed = retry = cycles = 0
    # CPU of the daemon's process (all its threads) and of its analysis workers, which
    # a pool of a poll hands back when it is shut down, waited for, with the poll.
    cpu_before, workers_before = time.process_time(), _children_cpu()
    first_fetch = last_ack = time.perf_counter()
    # CLOCK_MONOTONIC is system-wide on Linux: the harness compares it with the SMTP
    # server's arrival times to tell when the first acknowledgement arrived.
    cycle_started_monotonic = time.monotonic()
    if profiler:
        profiler.enable()
    while True:
        report = run_cycle(runtime)
        cycles += 1
        if report.error:
            raise SystemExit(f"cycle failed: {report.error}")
        fetched += report.fetched
        sent += report.sent
        failed += report.send_failed
        retry += report.send_retry
        if report.fetched == 0 and report.sent == 0 and report.backlog == 0:
            break
        last_ack = time.perf_counter()
    if profiler:
        profiler.disable()
    daemon_cpu, workers_cpu = time.process_time() - cpu_before, _children_cpu() - workers_before
    runtime.mailbox.close()
    seconds = last_ack - first_fetch
    if profiler and profile_dir:
        _write_profile(profiler, profile_dir)
    return {
        "fetched": fetched,
        "acks_sent": sent,
        "send_failed": failed,
        "send_retry": retry,
        "seconds": round(seconds, 3),
        "mails_per_second": round(fetched / seconds, 1) if seconds else 0.0,
        "startup_seconds": round(startup, 3),
        "daemon_cpu_seconds": round(daemon_cpu, 3),
        "workers_cpu_seconds": round(workers_cpu, 3),
        "cycle_started_monotonic": cycle_started_monotonic,
        "peak_rss_mb": peak_rss_mb(),
        # The largest analysis-pool worker ([mailbox] workers > 1), 0 without a pool.
        "pool_worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _write_profile(profiler: cProfile.Profile, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(folder / "e2e.prof"))
    for order in ("cumulative", "tottime"):
        with (folder / f"e2e_profile_{order}.txt").open("w") as handle:
            pstats.Stats(profiler, stream=handle).sort_stats(order).print_stats(25)


# ---------------------------------------------------------------- baselines


@dataclass(frozen=True)
class Servers:
    imap_host: str
    imap_port: int
    user: str
    password: str
    folder: str
    smtp_host: str
    smtp_port: int
    batch: int


def _fetch_batches(servers: Servers) -> Any:
    client = IMAPClient(servers.imap_host, port=servers.imap_port, ssl=False, timeout=30)
    client.login(servers.user, servers.password)
    client.select_folder(servers.folder, readonly=True)
    uids = sorted(client.search("ALL"))
    try:
        for start in range(0, len(uids), servers.batch):
            chunk = uids[start : start + servers.batch]
            answer = client.fetch(chunk, ["BODY.PEEK[]"])
            yield [answer[uid][b"BODY[]"] for uid in chunk if uid in answer]
    finally:
        client.logout()


def run_raw(servers: Servers) -> dict[str, Any]:
    count = 0
    started, cpu_before = time.perf_counter(), time.process_time()
    smtp = smtplib.SMTP(servers.smtp_host, servers.smtp_port, timeout=30)
    try:
        smtp.ehlo()
        for batch in _fetch_batches(servers):
            for raw in batch:
                match = _FROM.search(raw)
                to = match.group(1).decode() if match else "unknown@example.com"
                smtp.sendmail("complaints@wallet.example", [to], REPLY.replace(b"{to}", to.encode()))
                count += 1
    finally:
        smtp.quit()
    seconds = time.perf_counter() - started
    return {
        "mails": count,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(time.process_time() - cpu_before, 3),
        "mails_per_second": round(count / seconds, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_parse(servers: Servers) -> dict[str, Any]:
    from inbox_agent.stages.parse import ParseFailure, parse_message

    count = failures = 0
    started, cpu_before = time.perf_counter(), time.process_time()
    for batch in _fetch_batches(servers):
        for raw in batch:
            try:
                parse_message(raw)
            except ParseFailure:
                failures += 1
            count += 1
    seconds = time.perf_counter() - started
    return {
        "mails": count,
        "parse_failures": failures,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(time.process_time() - cpu_before, 3),
        "mails_per_second": round(count / seconds, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


# ---------------------------------------------------------------- store prefill

_PREFILL_TEXT = (
    "我在2026-11-10 14:32向朋友转账500.00元，页面显示交易失败，但是余额已经扣除了。交易号TXN123456789012。"
    " Please help, my account 1234567890 shows the money as gone. "
) * 2


def synthetic_case(seq: int, at: str) -> tuple[Case, MessageRecord]:
    """A case as the daemon leaves it after the first mail and its acknowledgement."""
    case_id = case_id_for(seq, 2026)
    customer = f"prefill{seq:07d}@customer-mail.cn"
    message_id = f"<prefill.{seq}@customer-mail.cn>"
    sha = f"{seq:064x}"
    evidence = (
        ("transaction_date", "2026-11-10"),
        ("amount", "500.00"),
        ("transaction_id", "TXN123456789012"),
    )
    events = (
        Event(at=at, kind="opened", actor=customer, detail="transaction_failed"),
        Event(at=at, kind="message", actor=customer, detail=message_id),
        Event(at=at, kind="ack_queued", actor="system", detail="ack_first"),
        Event(at=at, kind="mail_sent", actor="system", detail=f"ack_first <ack.{seq}@wallet.example>"),
    )
    case = Case(
        case_id=case_id,
        seq=seq,
        customer=customer,
        customer_name="王伟",
        subject="转账失败但是扣款了",
        language="zh",
        category="transaction_failed",
        categories=("transaction_failed", "wrong_charge"),
        confidence=0.82,
        matched=(("transaction_failed", "交易失败"), ("wrong_charge", "扣除")),
        severity="high",
        status=CaseStatus.WAITING_CUSTOMER if seq % 3 else CaseStatus.RESOLVED,
        created_at=at,
        updated_at=at,
        evidence=evidence,
        missing=("transaction_time", "screenshot", "error_message"),
        message_ids=(message_id, f"<ack.{seq}@wallet.example>"),
        awaiting_since=at,
        last_ack_at=at,
        acks_sent=1,
        events=events,
    )
    message = MessageRecord(
        key=f"{message_id}|{sha}",
        case_id=case_id,
        direction="in",
        message_id=message_id,
        raw_sha256=sha,
        sender=customer,
        subject=case.subject,
        date=at,
        received_at=at,
        source=f"imap:INBOX:{seq}",
        text=_PREFILL_TEXT,
        language="zh",
        evidence=evidence,
    )
    return case, message


def run_prefill(data_dir: Path, target: int, shard_size: int) -> dict[str, Any]:
    """Grow the store to ``target`` cases, one commit per shard (the biggest sane batch)."""
    from datetime import UTC, datetime

    at = iso(datetime(2026, 11, 1, tzinfo=UTC))
    store = Store(data_dir, shard_size=shard_size)
    first = int(store.meta().get("next_case_seq", 1))
    started = time.perf_counter()
    seq = first
    while seq < target + 1:
        end = min(target + 1, (seq // shard_size + 1) * shard_size)
        changes = Changes(next_case_seq=end)
        for number in range(seq, end):
            case, message = synthetic_case(number, at)
            changes.put_case(case)
            changes.messages.append(message)
        store.commit(changes)
        seq = end
    return {
        "added": seq - first,
        "seconds": round(time.perf_counter() - started, 3),
        "peak_rss_mb": peak_rss_mb(),
    }


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("e2e", "raw", "parse", "prefill"))
    parser.add_argument("--config", type=Path)
    parser.add_argument("--profile-dir", type=Path)
    parser.add_argument("--servers", help="JSON of the Servers fields (raw, parse)")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--cases", type=int, default=0)
    parser.add_argument("--shard-size", type=int, default=500)
    args = parser.parse_args(argv)
    if args.mode == "e2e":
        result = run_e2e(args.config, args.profile_dir)
    elif args.mode == "prefill":
        result = run_prefill(args.data_dir, args.cases, args.shard_size)
    else:
        servers = Servers(**json.loads(args.servers))
        result = run_raw(servers) if args.mode == "raw" else run_parse(servers)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

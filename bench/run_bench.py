"""The benchmark: `python bench/run_bench.py [--quick] [--json FILE]`.

Starts a throw-away Dovecot and aiosmtpd (tests/servers.py), APPENDs a generated
corpus (bench/corpus.py) and measures, in one run against the same servers:

1. end-to-end throughput of the daemon (first fetch -> last acknowledgement accepted),
   with two baselines: the raw transport and fetch + parse;
2. acknowledgement latency (APPEND -> arrival at the SMTP server) of the daemon as
   a subprocess, polling and with IMAP IDLE;
3. the cost of one message, the startup time and the size on disk with 1,000 to
   100,000 cases already stored;
4. peak RSS of every measured process, and a cProfile of the end-to-end run.

Each measurement runs in its own process (bench/worker.py) so its memory and CPU
are its own, not shared with the servers. See bench/README.md for what each number
means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path.insert(0, str(PROJECT / "tests"))
sys.path.insert(0, str(BENCH))

from corpus import BenchMail, describe, generate_corpus  # noqa: E402
from cpu_meter import ServerCpu, budget_ms, cores, cpu_bound_rate, median_by_side, per_mail_ms  # noqa: E402
from helpers import write_config  # noqa: E402
from imapclient import IMAPClient  # noqa: E402
from peer import PEER_BENCH, peer_available, run_peer  # noqa: E402
from servers import DovecotServer, ReceivedMail, SmtpServer, dovecot_missing_reason  # noqa: E402
from stage_times import stage_times  # noqa: E402

DEFAULT_JSON = BENCH / "results" / "latest.json"
_IN_REPLY_TO = re.compile(rb"^In-Reply-To:\s*(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full run, or the under-a-minute smoke run."""

    throughput_sizes: tuple[int, ...]
    runs: dict[int, int]  # N -> number of end-to-end runs (the median is reported)
    profile_size: int
    latency_rate: float  # mails per second
    latency_seconds: float
    scale_sizes: tuple[int, ...]
    scale_new_mails: int
    worker_counts: tuple[int, ...]  # [mailbox] workers of the worker-count curve
    workers_size: int  # N of the curve (one of throughput_sizes: its folder is reused)
    workers_runs: int
    backlog_size: int  # mails waiting when the daemon starts (first acknowledgement)


FULL = Plan(
    throughput_sizes=(1000, 10000),
    runs={1000: 3, 10000: 3},
    profile_size=1000,
    latency_rate=5.0,
    latency_seconds=20.0,
    scale_sizes=(1000, 10000, 20000, 100000),
    scale_new_mails=500,
    worker_counts=(1, 2, 4),
    workers_size=1000,
    workers_runs=3,
    backlog_size=2000,
)
QUICK = Plan(
    throughput_sizes=(200,),
    runs={200: 1},
    profile_size=200,
    latency_rate=5.0,
    latency_seconds=2.0,
    scale_sizes=(200, 1000),
    scale_new_mails=50,
    worker_counts=(1, 2),
    workers_size=200,
    workers_runs=1,
    backlog_size=200,
)


class TimedSmtpServer(SmtpServer):
    """The test SMTP server, also noting when each reply arrived (by the mail it answers)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, float] = {}

    def _record(self, server: Any, envelope: Any, session: Any) -> None:
        super()._record(server, envelope, session)
        match = _IN_REPLY_TO.search(envelope.original_content or b"")
        if match:
            self.arrivals.setdefault(match.group(1).decode(), time.monotonic())


# ---------------------------------------------------------------- helpers


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def worker(*args: str, timeout: float = 3600) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH / "worker.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def append_corpus(dovecot: DovecotServer, folder: str, mails: list[BenchMail]) -> float:
    started = time.perf_counter()
    dovecot.create_folder(folder)
    with dovecot.client() as client:
        for mail in mails:
            client.append(folder, mail.raw)
    return time.perf_counter() - started


def config_for(
    folder: Path, dovecot: DovecotServer, smtp: SmtpServer, mailbox: str, data_dir: Path, **extra: Any
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    imap = {
        "folder": mailbox,
        "batch_size": 100,
        "processed_keyword": extra.pop("keyword", "$InboxAgentDone"),
    }
    imap.update(extra.pop("imap", {}))
    mailbox_section: dict[str, Any] = {"poll_interval": extra.pop("poll_interval", "1s")}
    if "workers" in extra:
        mailbox_section["workers"] = extra.pop("workers")
    return write_config(
        folder,
        dovecot=dovecot,
        smtp=smtp,
        overrides={
            "mailbox": mailbox_section,
            "mailbox.imap": imap,
            "storage": {"data_dir": str(data_dir)},
            "acknowledge": {"per_sender_per_day": 100000, "per_case_interval": "0s"},
            "smtp": {"batch_size": 100},
            "logging": {"level": "WARNING"},
        },
    )


def customer_replies(received: list[ReceivedMail]) -> int:
    """Acknowledgements to customers (staff notifications are not counted)."""
    return sum(1 for mail in received if not any("staff.wallet.example" in to for to in mail.rcpt_tos))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


# ---------------------------------------------------------------- 1. throughput


def measure_throughput(
    plan: Plan, dovecot: DovecotServer, smtp: TimedSmtpServer, corpus: list[BenchMail], work: Path
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    servers = {
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "user": dovecot.user,
        "password": dovecot.password,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "batch": 100,
    }
    for size in plan.throughput_sizes:
        folder = f"Bench{size}"
        mails = corpus[:size]
        append_seconds = append_corpus(dovecot, folder, mails)
        expected = sum(mail.expects_ack for mail in mails)
        log(f"[throughput N={size}] appended in {append_seconds:.1f}s; {expected} acknowledgements expected")
        spec = json.dumps({**servers, "folder": folder})
        raws, parses, runs = [], [], []
        for number in range(plan.runs[size]):
            smtp.clear()
            before = ServerCpu.now(dovecot.pid)
            raws.append(worker("raw", "--servers", spec))
            raws[-1]["server_cpu_seconds"] = ServerCpu.now(dovecot.pid).since(before)
            before = ServerCpu.now(dovecot.pid)
            parses.append(worker("parse", "--servers", spec))
            parses[-1]["server_cpu_seconds"] = ServerCpu.now(dovecot.pid).since(before)
            smtp.clear()
            data_dir = work / f"e2e-{size}-{number}"
            config = config_for(
                work / f"cfg-{size}-{number}", dovecot, smtp, folder, data_dir, keyword=f"$Run{number}"
            )
            before = ServerCpu.now(dovecot.pid)
            result = worker("e2e", "--config", str(config))
            result["acks_received"] = customer_replies(smtp.wait_for(0))
            result["server_cpu_seconds"] = ServerCpu.now(dovecot.pid).since(before)
            result["acks_expected"] = expected
            result["blob_mb_on_disk"] = round(_du(data_dir / "raw") / 2**20, 1)
            runs.append(result)
            log(
                f"[throughput N={size} run {number + 1}] e2e {result['mails_per_second']}/s, "
                f"raw {raws[-1]['mails_per_second']}/s, parse {parses[-1]['mails_per_second']}/s"
            )
            shutil.rmtree(data_dir, ignore_errors=True)
        e2e_rate = statistics.median(run["mails_per_second"] for run in runs)
        raw_rate = statistics.median(run["mails_per_second"] for run in raws)
        parse_rate = statistics.median(run["mails_per_second"] for run in parses)
        results[str(size)] = {
            "runs": len(runs),
            "append_seconds": round(append_seconds, 1),
            "e2e_mails_per_second": e2e_rate,
            "raw_transport_mails_per_second": raw_rate,
            "fetch_parse_mails_per_second": parse_rate,
            "ratio_to_raw_transport": round(e2e_rate / raw_rate, 3),
            "ratio_to_fetch_parse": round(e2e_rate / parse_rate, 3),
            "e2e_peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
            **cpu_figures(runs, raws, parses, parse_rate),
            "e2e_runs": runs,
            "raw_runs": raws,
            "parse_runs": parses,
        }
    return results


def cpu_figures(
    runs: list[dict[str, Any]], raws: list[dict[str, Any]], parses: list[dict[str, Any]], parse_rate: float
) -> dict[str, Any]:
    """CPU per mail by side (median of the runs, ``bench/cpu_meter.py``), the rate at
    which this machine's cores would all be busy with the end-to-end run's work, and the
    CPU per mail the end-to-end run may spend in all to reach 0.6 x fetch + parse."""
    e2e = median_by_side(
        per_mail_ms(
            {
                "daemon": run["daemon_cpu_seconds"],
                "analysis_workers": run["workers_cpu_seconds"],
                **run["server_cpu_seconds"],
            },
            run["fetched"],
        )
        for run in runs
    )
    raw = median_by_side(
        per_mail_ms({"client": run["cpu_seconds"], **run["server_cpu_seconds"]}, run["mails"]) for run in raws
    )
    parse = median_by_side(
        per_mail_ms(
            {"fetch_parse": run["cpu_seconds"], "imap_server": run["server_cpu_seconds"]["imap_server"]},
            run["mails"],
        )
        for run in parses
    )
    count = cores()
    return {
        "cpu_ms_per_mail": {"e2e": e2e, "raw_transport": raw, "fetch_parse": parse},
        "cores": count,
        "e2e_cpu_bound_mails_per_second": cpu_bound_rate(e2e["total"], count),
        "e2e_cpu_ms_per_mail_for_0_6_fetch_parse": budget_ms(0.6 * parse_rate, count),
    }


def measure_profile(
    plan: Plan, dovecot: DovecotServer, smtp: SmtpServer, work: Path, out: Path
) -> dict[str, Any]:
    """A separate run under cProfile (its timing is not used: the profiler slows it)."""
    smtp.clear()
    folder = f"Bench{plan.profile_size}"
    data_dir = work / "e2e-profile"
    # workers = 1: every stage in the profiled process (bench/stage_times.py).
    config = config_for(work / "cfg-profile", dovecot, smtp, folder, data_dir, keyword="$Profile", workers=1)
    result = worker("e2e", "--config", str(config), "--profile-dir", str(out))
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "mails": result["fetched"],
        "seconds_under_profiler": result["seconds"],
        "stages": stage_times(out / "e2e.prof", result["fetched"]),
        "cumulative": str(out / "e2e_profile_cumulative.txt"),
        "tottime": str(out / "e2e_profile_tottime.txt"),
        "raw_stats": str(out / "e2e.prof"),
    }


def measure_workers(plan: Plan, dovecot: DovecotServer, smtp: TimedSmtpServer, work: Path) -> dict[str, Any]:
    """End to end at ``workers_size`` with each ``[mailbox] workers`` count, the counts
    alternating round by round so a drifting load hits them all alike."""
    folder = f"Bench{plan.workers_size}"
    runs: dict[int, list[dict[str, Any]]] = {count: [] for count in plan.worker_counts}
    for number in range(plan.workers_runs):
        for count in plan.worker_counts:
            smtp.clear()
            data_dir = work / f"workers-{count}-{number}"
            config = config_for(
                work / f"cfg-w{count}-{number}",
                dovecot,
                smtp,
                folder,
                data_dir,
                keyword=f"$W{count}R{number}",
                workers=count,
            )
            result = worker("e2e", "--config", str(config))
            result["acks_received"] = customer_replies(smtp.wait_for(0))
            runs[count].append(result)
            log(f"[workers={count} run {number + 1}] e2e {result['mails_per_second']}/s")
            shutil.rmtree(data_dir, ignore_errors=True)
    base = statistics.median(run["mails_per_second"] for run in runs[plan.worker_counts[0]])
    curve = {}
    for count, results in runs.items():
        rate = statistics.median(run["mails_per_second"] for run in results)
        curve[str(count)] = {
            "e2e_mails_per_second": rate,
            "speedup": round(rate / base, 2) if base else 0.0,
            "peak_rss_mb": max(run["peak_rss_mb"] for run in results),
            "pool_worker_peak_rss_mb": max(run.get("pool_worker_peak_rss_mb", 0.0) for run in results),
            "runs": [run["mails_per_second"] for run in results],
        }
    return {"mails": plan.workers_size, "cpus": os.cpu_count(), "curve": curve}


def measure_backlog(plan: Plan, dovecot: DovecotServer, smtp: TimedSmtpServer, work: Path) -> dict[str, Any]:
    """First acknowledgement with ``backlog_size`` mails already waiting (as
    bench/backlog_first_ack.py): from the cycle's start to its arrival at the server."""
    folder = f"Backlog{plan.backlog_size}"
    append_corpus(dovecot, folder, generate_corpus(plan.backlog_size, seed=4242))
    smtp.clear()
    smtp.arrivals.clear()
    config = config_for(
        work / "cfg-backlog", dovecot, smtp, folder, work / "backlog-data", keyword="$Backlog"
    )
    result = worker("e2e", "--config", str(config))
    smtp.wait_for(0)
    started = result["cycle_started_monotonic"]
    first = min((t for t in smtp.arrivals.values() if t >= started), default=None)
    shutil.rmtree(work / "backlog-data", ignore_errors=True)
    return {
        "mails": plan.backlog_size,
        "first_ack_seconds": round(first - started, 3) if first is not None else None,
        "whole_backlog_seconds": result["seconds"],
        "mails_per_second": result["mails_per_second"],
    }


def measure_peer(work: Path) -> dict[str, Any]:
    if not peer_available():
        return {"skipped": f"{PEER_BENCH} not present"}
    log("[peer] django-helpdesk vs inbox-agent run --once (compare.sh; first run builds its venvs)")
    return run_peer(work)


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


# ---------------------------------------------------------------- 2. latency


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _daemon_polled(data_dir: Path) -> bool:
    try:
        return "last_poll_at" in (data_dir / "state.json").read_text()
    except OSError:
        return False


def _peak_rss_of(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(match.group(1)) / 1024, 1) if match else 0.0


# IDLE as configured by default (idle_timeout = "auto": renewed every 0.25 s on
# Dovecot), and plain IDLE renewed only every 5 s: Dovecot holds an IDLE announcement
# for 500 ms after the change (NOTIFY_DELAY_MSECS in its mailbox-watch code) but
# reports new mail at once when IDLE ends, which is why "auto" renews it so often there.
IDLE_MODES: dict[str, dict[str, Any]] = {
    "idle": {"idle": True},
    "idle_plain": {"idle": True, "idle_timeout": "5s"},
}


def measure_latency(
    plan: Plan, mode: str, dovecot: DovecotServer, smtp: TimedSmtpServer, work: Path
) -> dict[str, Any]:
    folder = f"Latency{mode.title()}"
    dovecot.create_folder(folder)
    data_dir = work / f"latency-{mode}"
    if mode in IDLE_MODES:
        # A long poll interval: what delivers quickly here is IDLE, not the scheduler.
        config = config_for(
            work / f"cfg-{mode}", dovecot, smtp, folder, data_dir, poll_interval="30s", imap=IDLE_MODES[mode]
        )
    else:
        config = config_for(work / f"cfg-{mode}", dovecot, smtp, folder, data_dir, poll_interval="1s")
    count = max(1, int(plan.latency_rate * plan.latency_seconds))
    mails = generate_corpus(count, seed=hash(mode) % 1000 + 7)
    expected = [mail for mail in mails if mail.expects_ack]
    smtp.clear()
    smtp.arrivals.clear()
    stderr_path = work / f"daemon-{mode}.log"
    with stderr_path.open("w") as stderr:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "inbox_agent", "--config", str(config), "run"],
            cwd=PROJECT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            _wait_until(lambda: _daemon_polled(data_dir), 30, "the daemon's first poll")
            time.sleep(0.5)  # let it settle into IDLE / its poll rhythm
            appended: dict[str, float] = {}
            client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
            client.login(dovecot.user, dovecot.password)
            start = time.monotonic()
            for index, mail in enumerate(mails):
                delay = start + index / plan.latency_rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                client.append(folder, mail.raw)
                appended[mail.message_id] = time.monotonic()
            client.logout()
            _wait_until(
                lambda: all(mail.message_id in smtp.arrivals for mail in expected),
                60,
                "every acknowledgement",
            )
            rss = _peak_rss_of(daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
    latencies = [smtp.arrivals[mail.message_id] - appended[mail.message_id] for mail in expected]
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "mails": len(mails),
        "acks": len(latencies),
        "rate_per_second": plan.latency_rate,
        "poll_interval_seconds": 30.0 if mode in IDLE_MODES else 1.0,
        "idle": mode in IDLE_MODES,
        "idle_timeout": IDLE_MODES.get(mode, {}).get("idle_timeout", ""),
        "p50_seconds": round(percentile(latencies, 0.5), 3),
        "p99_seconds": round(percentile(latencies, 0.99), 3),
        "max_seconds": round(max(latencies), 3),
        "daemon_exit_code": daemon.returncode,
        "daemon_peak_rss_mb": rss,
    }


# ---------------------------------------------------------------- 3. store scale


def measure_scale(plan: Plan, dovecot: DovecotServer, smtp: SmtpServer, work: Path) -> list[dict[str, Any]]:
    data_dir = work / "scale-store"
    rows: list[dict[str, Any]] = []
    stored = 0
    for size in plan.scale_sizes:
        # The store grows from one size to the next; the new mails measured at the
        # previous size stay in it (a few hundred real cases among the synthetic ones).
        prefill = worker("prefill", "--data-dir", str(data_dir), "--cases", str(size))
        stored = size
        db_bytes = _du(data_dir / "cases") + _du(data_dir / "state.json")
        cases_on_disk = _count_cases(data_dir)
        folder = f"Scale{size}"
        mails = generate_corpus(plan.scale_new_mails, seed=size)
        append_corpus(dovecot, folder, mails)
        smtp.clear()
        config = config_for(work / f"cfg-scale-{size}", dovecot, smtp, folder, data_dir)
        result = worker("e2e", "--config", str(config))
        per_message_ms = 1000 * result["seconds"] / max(1, result["fetched"])
        rows.append(
            {
                "stored_cases": stored,
                "cases_on_disk": cases_on_disk,
                "prefill_seconds": prefill["seconds"],
                "new_mails": result["fetched"],
                "acks_sent": result["acks_sent"],
                "per_message_ms": round(per_message_ms, 2),
                "startup_seconds": result["startup_seconds"],
                "db_bytes": db_bytes,
                "db_bytes_per_case": round(db_bytes / max(1, cases_on_disk)),
                "peak_rss_mb": result["peak_rss_mb"],
            }
        )
        log(
            f"[scale {size}] {per_message_ms:.2f} ms/message, startup {result['startup_seconds']}s, "
            f"{db_bytes / max(1, cases_on_disk):.0f} B/case, RSS {result['peak_rss_mb']} MB"
        )
    shutil.rmtree(data_dir, ignore_errors=True)
    return rows


def _count_cases(data_dir: Path) -> int:
    # state.json is a sealed store file: a header line, then the JSON body.
    state = json.loads((data_dir / "state.json").read_bytes().partition(b"\n")[2])
    return int(state.get("meta", {}).get("1", {}).get("next_case_seq", 1)) - 1


# ---------------------------------------------------------------- targets and table


def targets(report: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    throughput = report["throughput"]
    largest = throughput[max(throughput, key=int)]
    scale = report["store_scale"]
    first, last = scale[0], scale[-1]
    cost_ratio = last["per_message_ms"] / first["per_message_ms"]
    rows = [
        (
            f"end-to-end at N={max(throughput, key=int)} >= 300 mails/s",
            largest["e2e_mails_per_second"],
            largest["e2e_mails_per_second"] >= 300,
        ),
        (
            "end-to-end >= 0.6 x fetch+parse",
            largest["ratio_to_fetch_parse"],
            largest["ratio_to_fetch_parse"] >= 0.6,
        ),
        (
            "ack latency p99 with IDLE < 2 s",
            report["latency"]["idle"]["p99_seconds"],
            report["latency"]["idle"]["p99_seconds"] < 2,
        ),
        (
            'IDLE acknowledgement latency p99 <= 0.5 s (idle_timeout = "auto", the default)',
            report["latency"]["idle"]["p99_seconds"],
            report["latency"]["idle"]["p99_seconds"] <= 0.5,
        ),
        (
            "IDLE acknowledgement latency p99 <= 0.5 s (plain IDLE, idle_timeout = 5 s)",
            report["latency"]["idle_plain"]["p99_seconds"],
            report["latency"]["idle_plain"]["p99_seconds"] <= 0.5,
        ),
        (
            f"peak RSS of the e2e run at N={max(throughput, key=int)} <= 145 MB (121 MB + 20 %)",
            largest["e2e_peak_rss_mb"],
            largest["e2e_peak_rss_mb"] <= 145.2,
        ),
        (
            f"first acknowledgement with {report['backlog']['mails']} mails waiting <= 5 s",
            report["backlog"]["first_ack_seconds"],
            (report["backlog"]["first_ack_seconds"] or 1e9) <= 5,
        ),
        (
            f"per-message cost at {last['stored_cases']} cases <= 1.5 x at {first['stored_cases']}",
            round(cost_ratio, 2),
            cost_ratio <= 1.5,
        ),
        (
            f"peak RSS at {last['stored_cases']} cases < 300 MB",
            last["peak_rss_mb"],
            last["peak_rss_mb"] < 300,
        ),
    ]
    ratio = report.get("peer", {}).get("ratio_median")
    if ratio is not None:
        rows.append(("same-run ratio to django-helpdesk >= 10 (>= 5: resolved)", ratio, ratio >= 10))
    return [
        {"target": name, "measured": value, "result": "pass" if ok else "miss", "quick_sizes": quick}
        for name, value, ok in rows
    ]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_cpu_table(console: Any, throughput: dict[str, Any]) -> None:
    """CPU per mail by side; then, per N, what the cores allow and what 0.6 x fetch +
    parse would allow the end-to-end run to spend."""
    from rich.table import Table

    sides = ("daemon", "analysis_workers", "client", "fetch_parse", "imap_server", "smtp_server", "total")
    table = Table(title="CPU per mail (ms, median of the runs; bench/cpu_meter.py)")
    for column in ("N", "run", *sides):
        table.add_column(column, justify="right")
    for size, row in throughput.items():
        for run, figures in row["cpu_ms_per_mail"].items():
            table.add_row(size, run, *(_ms(figures.get(side)) if side in figures else "" for side in sides))
    console.print(table)
    for size, row in throughput.items():
        console.print(
            f"N={size}: on {row['cores']} cores the end-to-end run's CPU allows at most "
            f"{row['e2e_cpu_bound_mails_per_second']} mails/s (measured {row['e2e_mails_per_second']}); "
            f"0.6 x fetch + parse needs at most {_ms(row['e2e_cpu_ms_per_mail_for_0_6_fetch_parse'])} ms "
            f"of CPU per mail in all (today {_ms(row['cpu_ms_per_mail']['e2e']['total'])})"
        )


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=130)
    info = report["machine"]
    console.print(
        f"machine: {info['nproc']} CPUs, {info['cpu']}, {info['ram_gb']} GB RAM, Python {info['python']}"
    )
    console.print(f"corpus: {report['corpus']}")
    table = Table(title="throughput (mails/s, median)")
    for column in (
        "N",
        "runs",
        "end-to-end",
        "raw transport",
        "fetch+parse",
        "e2e/raw",
        "e2e/parse",
        "peak RSS MB",
    ):
        table.add_column(column, justify="right")
    for size, row in report["throughput"].items():
        table.add_row(
            size,
            str(row["runs"]),
            str(row["e2e_mails_per_second"]),
            str(row["raw_transport_mails_per_second"]),
            str(row["fetch_parse_mails_per_second"]),
            str(row["ratio_to_raw_transport"]),
            str(row["ratio_to_fetch_parse"]),
            str(row["e2e_peak_rss_mb"]),
        )
    console.print(table)
    print_cpu_table(console, report["throughput"])
    table = Table(title="acknowledgement latency (APPEND -> arrival at SMTP)")
    for column in ("mode", "mails", "p50 s", "p99 s", "max s", "daemon RSS MB"):
        table.add_column(column, justify="right")
    for mode, row in report["latency"].items():
        label = f"{mode} (poll {row['poll_interval_seconds']:g}s)"
        if row.get("idle_timeout"):
            label = f"{mode} (IDLE renewed every {row['idle_timeout']})"
        elif row["idle"]:
            label = f'{mode} (idle_timeout "auto")'
        table.add_row(
            label,
            str(row["mails"]),
            str(row["p50_seconds"]),
            str(row["p99_seconds"]),
            str(row["max_seconds"]),
            str(row["daemon_peak_rss_mb"]),
        )
    console.print(table)
    table = Table(title="store scale")
    for column in ("stored cases", "ms/message", "startup s", "DB bytes/case", "peak RSS MB", "prefill s"):
        table.add_column(column, justify="right")
    for row in report["store_scale"]:
        table.add_row(
            str(row["stored_cases"]),
            str(row["per_message_ms"]),
            str(row["startup_seconds"]),
            str(row["db_bytes_per_case"]),
            str(row["peak_rss_mb"]),
            str(row["prefill_seconds"]),
        )
    console.print(table)
    table = Table(title="targets" + (" (quick sizes: indicative only)" if report["quick"] else ""))
    for column in ("target", "measured", "result"):
        table.add_column(column)
    for row in report["targets"]:
        colour = "green" if row["result"] == "pass" else "red"
        table.add_row(row["target"], str(row["measured"]), f"[{colour}]{row['result']}[/{colour}]")
    console.print(table)
    console.print(f"profile: {report['profile']['cumulative']}, {report['profile']['tottime']}")


def print_cycle_tables(console: Any, report: dict[str, Any]) -> None:
    """Per-stage time, the worker-count curve, the backlog and the peer comparison."""
    from rich.table import Table

    stages = report["profile"]["stages"]
    table = Table(title=f"time per mail by stage (cProfile, workers = 1, N={stages['mails']})")
    for column in ("stage", "ms/mail", "share of the cycle"):
        table.add_column(column, justify="right")
    for stage, value in stages["ms_per_mail"].items():
        table.add_row(stage, str(value), f"{stages['share'][stage]:.0%}")
    table.add_row("whole cycle", str(stages["cycle_ms_per_mail"]), "100%")
    console.print(table)
    workers = report["workers"]
    table = Table(title=f"[mailbox] workers (N={workers['mails']}, {workers['cpus']} CPUs, median)")
    for column in ("workers", "e2e mails/s", "x workers=1", "runs", "daemon RSS MB", "worker RSS MB"):
        table.add_column(column, justify="right")
    for count, row in workers["curve"].items():
        table.add_row(
            count,
            str(row["e2e_mails_per_second"]),
            str(row["speedup"]),
            str(row["runs"]),
            str(row["peak_rss_mb"]),
            str(row["pool_worker_peak_rss_mb"]),
        )
    console.print(table)
    backlog = report["backlog"]
    console.print(
        f"backlog: {backlog['mails']} mails waiting: first acknowledgement after {backlog['first_ack_seconds']} s, "
        f"the whole backlog in {backlog['whole_backlog_seconds']} s ({backlog['mails_per_second']} mails/s)"
    )
    peer = report["peer"]
    if "skipped" in peer or not peer.get("rounds"):
        console.print(f"django-helpdesk comparison: {peer.get('skipped') or peer.get('error', 'no result')}")
        return
    console.print(
        f"django-helpdesk comparison (compare.sh, same run, {peer['rounds']} rounds): "
        f"django-helpdesk {peer['helpdesk_mails_per_second']} mails/s, inbox-agent "
        f"{peer['inbox_agent_mails_per_second']} mails/s; ratio per round {peer['ratio_per_round']}, "
        f"median {peer['ratio_median']}x"
    )


# ---------------------------------------------------------------- main


def run(plan: Plan, quick: bool, out: Path, peer: bool = True) -> dict[str, Any]:
    """Every measurement; the profile files go to ``out`` (beside the JSON)."""
    reason = dovecot_missing_reason()
    if reason:
        raise SystemExit(f"cannot run the benchmark: {reason}")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="inbox-agent-bench-"))
    dovecot = DovecotServer()
    smtp = TimedSmtpServer()
    try:
        dovecot.start()
        smtp.start()
        corpus = generate_corpus(max(plan.throughput_sizes))
        report: dict[str, Any] = {"quick": quick, "machine": machine(), "corpus": describe(corpus)}
        report["throughput"] = measure_throughput(plan, dovecot, smtp, corpus, work)
        report["profile"] = measure_profile(plan, dovecot, smtp, work, out)
        report["workers"] = measure_workers(plan, dovecot, smtp, work)
        report["backlog"] = measure_backlog(plan, dovecot, smtp, work)
        report["latency"] = {
            mode: measure_latency(plan, mode, dovecot, smtp, work) for mode in ("poll", *IDLE_MODES)
        }
        log(f"[latency] {report['latency']}")
        report["store_scale"] = measure_scale(plan, dovecot, smtp, work)
        report["memory"] = {
            "e2e_peak_rss_mb": max(row["e2e_peak_rss_mb"] for row in report["throughput"].values()),
            "daemon_peak_rss_mb": max(row["daemon_peak_rss_mb"] for row in report["latency"].values()),
            "store_scale_peak_rss_mb": {
                str(row["stored_cases"]): row["peak_rss_mb"] for row in report["store_scale"]
            },
        }
        # Last, with our servers idle: the peer harness starts its own.
        report["peer"] = measure_peer(out) if peer else {"skipped": "not asked for (--no-peer, --quick)"}
        report["targets"] = targets(report, quick)
        report["total_seconds"] = round(time.perf_counter() - started, 1)
        return report
    finally:
        smtp.stop()
        dovecot.destroy()
        shutil.rmtree(work, ignore_errors=True)


def markdown(report: dict[str, Any]) -> str:
    """The results as the Markdown tables of the README's Performance section."""
    m = report["machine"]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, "
        f"Python {m['python']}, Linux {m['kernel']}; Dovecot, the SMTP server and the daemon share the cores.",
        "",
        "| N mails | end-to-end mails/s | raw transport mails/s | fetch+parse mails/s | e2e / raw | e2e / fetch+parse | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, row in report["throughput"].items():
        lines.append(
            f"| {int(size):,} | {row['e2e_mails_per_second']} | {row['raw_transport_mails_per_second']} | "
            f"{row['fetch_parse_mails_per_second']} | {row['ratio_to_raw_transport']} | "
            f"{row['ratio_to_fetch_parse']} | {row['e2e_peak_rss_mb']} |"
        )
    lines += ["", "| acknowledgement latency | mails | p50 s | p99 s | max s |", "|---|---:|---:|---:|---:|"]
    for row in report["latency"].values():
        how = f"polling every {row['poll_interval_seconds']:g} s"
        if row["idle"]:
            how = (
                f"IDLE renewed every {row['idle_timeout']}"
                if row.get("idle_timeout")
                else 'IDLE (idle_timeout "auto")'
            )
        lines.append(
            f"| {how} | {row['mails']} | {row['p50_seconds']} | {row['p99_seconds']} | {row['max_seconds']} |"
        )
    lines += [
        "",
        "| cases already stored | ms per new message | daemon start s | DB bytes per case | peak RSS MB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in report["store_scale"]:
        lines.append(
            f"| {row['stored_cases']:,} | {row['per_message_ms']} | {row['startup_seconds']} | "
            f"{row['db_bytes_per_case']:,} | {row['peak_rss_mb']} |"
        )
    lines += ["", "| target | measured | result |", "|---|---:|---|"]
    for row in report["targets"]:
        lines.append(f"| {row['target']} | {row['measured']} | {row['result']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="inbox_agent benchmark (see bench/README.md)")
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results ({DEFAULT_JSON})"
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="JSON",
        help="print the tables of an earlier run as Markdown; run nothing",
    )
    parser.add_argument(
        "--no-peer", action="store_true", help="skip the django-helpdesk comparison (../shared/peer-bench)"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        try:
            earlier = json.loads(args.markdown.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
            parser.error(f"--markdown {args.markdown}: not the --json file of an earlier run ({exc})")
        print(markdown(earlier))
        return 0
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = run(
        QUICK if args.quick else FULL, args.quick, args.json.parent, peer=not (args.quick or args.no_peer)
    )
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print_table(report)
    from rich.console import Console

    print_cycle_tables(Console(width=130), report)
    print(f"results: {args.json} ({report['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

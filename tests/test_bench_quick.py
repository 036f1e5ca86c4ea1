"""The benchmark's quick run, run the way a developer runs it:
`python bench/run_bench.py --quick --json FILE`.

It starts its own Dovecot and aiosmtpd, so it needs Dovecot like the IMAP tests:
a failure in CI, a skip on a developer machine without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from servers import dovecot_missing_reason, dovecot_required

PROJECT = Path(__file__).resolve().parents[1]
SCRIPT = PROJECT / "bench" / "run_bench.py"

pytestmark = [pytest.mark.slow, pytest.mark.dovecot]


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reason = dovecot_missing_reason()
    if reason is not None:
        if dovecot_required():
            pytest.fail(f"Dovecot is required here (CI / INBOX_AGENT_REQUIRE_DOVECOT=1): {reason}")
        pytest.skip(reason)
    report = tmp_path_factory.mktemp("bench") / "quick.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "targets" in completed.stdout
    return json.loads(report.read_text(encoding="utf-8"))


def test_every_section_is_present(quick_report: dict[str, Any]) -> None:
    for section in (
        "machine",
        "corpus",
        "throughput",
        "profile",
        "latency",
        "store_scale",
        "memory",
        "targets",
    ):
        assert section in quick_report, section


def test_every_acknowledgement_reached_the_smtp_server(quick_report: dict[str, Any]) -> None:
    for size, row in quick_report["throughput"].items():
        for run in row["e2e_runs"]:
            assert run["fetched"] == int(size)
            assert run["acks_expected"] > 0
            assert run["acks_received"] == run["acks_expected"] == run["acks_sent"]


def test_throughput_and_baselines_are_positive(quick_report: dict[str, Any]) -> None:
    for row in quick_report["throughput"].values():
        for key in (
            "e2e_mails_per_second",
            "raw_transport_mails_per_second",
            "fetch_parse_mails_per_second",
            "ratio_to_raw_transport",
            "ratio_to_fetch_parse",
            "e2e_peak_rss_mb",
        ):
            assert row[key] > 0, key


def test_latency_is_measured_for_polling_and_idle(quick_report: dict[str, Any]) -> None:
    latency = quick_report["latency"]
    assert set(latency) == {"poll", "idle", "idle_plain"}
    assert latency["idle"]["idle"] is True and latency["idle_plain"]["idle_timeout"] == "5s"
    for row in latency.values():
        assert row["acks"] > 0
        assert 0 < row["p50_seconds"] <= row["p99_seconds"] <= row["max_seconds"]
        assert row["daemon_peak_rss_mb"] > 0
        assert row["daemon_exit_code"] == 0  # SIGTERM ends the daemon cleanly


def test_store_scale_has_a_row_per_size_with_positive_costs(quick_report: dict[str, Any]) -> None:
    rows = quick_report["store_scale"]
    assert len(rows) >= 2
    assert [row["stored_cases"] for row in rows] == sorted(row["stored_cases"] for row in rows)
    for row in rows:
        assert row["cases_on_disk"] >= row["stored_cases"]
        assert row["acks_sent"] > 0
        for key in ("per_message_ms", "startup_seconds", "db_bytes_per_case", "peak_rss_mb"):
            assert row[key] > 0, key


def test_memory_profile_and_targets(quick_report: dict[str, Any]) -> None:
    memory = quick_report["memory"]
    assert memory["e2e_peak_rss_mb"] > 0 and memory["daemon_peak_rss_mb"] > 0
    assert all(value > 0 for value in memory["store_scale_peak_rss_mb"].values())
    profile = quick_report["profile"]
    assert profile["mails"] > 0
    # The cumulative listing always has the cycle near the top; the own-time listing
    # names whatever leaf functions cost most, so only its shape is checked.
    assert "run_cycle" in Path(profile["cumulative"]).read_text()
    assert "Ordered by: internal time" in Path(profile["tottime"]).read_text()
    assert len(quick_report["targets"]) == 9  # no peer ratio: --quick never runs the peer harness
    assert {row["result"] for row in quick_report["targets"]} <= {"pass", "miss"}
    assert all(row["measured"] > 0 for row in quick_report["targets"])


def test_stages_workers_backlog_and_peer(quick_report: dict[str, Any]) -> None:
    stages = quick_report["profile"]["stages"]
    assert set(stages["ms_per_mail"]) == {
        "fetch",
        "parse",
        "categorize",
        "evidence",
        "render",
        "store",
        "send",
        "other",
    }
    # Every named stage ran in the profiled process (workers = 1) and took time.
    assert all(stages["ms_per_mail"][stage] > 0 for stage in stages["ms_per_mail"] if stage != "other")
    assert abs(sum(stages["share"].values()) - 1) < 0.02
    curve = quick_report["workers"]["curve"]
    assert set(curve) == {"1", "2"}
    assert all(row["e2e_mails_per_second"] > 0 for row in curve.values())
    assert curve["1"]["pool_worker_peak_rss_mb"] == 0  # no pool with one worker
    assert curve["2"]["pool_worker_peak_rss_mb"] > 0  # the pool did run
    backlog = quick_report["backlog"]
    assert backlog["first_ack_seconds"] is not None
    assert 0 < backlog["first_ack_seconds"] <= backlog["whole_backlog_seconds"]
    assert "skipped" in quick_report["peer"]


def test_cpu_per_mail_is_split_by_side_and_adds_up(quick_report: dict[str, Any]) -> None:
    """What a reader of "what stands in the way" checks: every side of each run took
    CPU, the total is their sum, and the ceiling follows from the cores and the total."""
    sides = {
        "e2e": {"daemon", "analysis_workers", "imap_server", "smtp_server"},
        "raw_transport": {"client", "imap_server", "smtp_server"},
        "fetch_parse": {"fetch_parse", "imap_server"},
    }
    for row in quick_report["throughput"].values():
        for run, expected in sides.items():
            figures = row["cpu_ms_per_mail"][run]
            assert set(figures) == expected | {"total"}, run
            assert all(figures[side] > 0 for side in expected - {"analysis_workers"}), (run, figures)
            # Medians are taken side by side, so with several runs the total of the
            # medians and the median of the totals may differ a little.
            assert abs(figures["total"] - sum(figures[side] for side in expected)) < 0.05 * figures["total"]
        e2e = row["cpu_ms_per_mail"]["e2e"]
        # With more than one core the analysis runs in the pool (one worker per core by
        # default): the workers did the parsing, the daemon did not do it all alone.
        if row["cores"] > 1:
            assert e2e["analysis_workers"] > 0.2 * e2e["total"]
        assert row["e2e_cpu_bound_mails_per_second"] == round(row["cores"] * 1000 / e2e["total"], 1)
        parse_rate = row["fetch_parse_mails_per_second"]
        assert row["e2e_cpu_ms_per_mail_for_0_6_fetch_parse"] == round(
            row["cores"] * 1000 / (0.6 * parse_rate), 3
        )


def test_markdown_of_an_earlier_run_prints_its_tables_and_names_a_bad_file(
    quick_report: dict[str, Any], tmp_path: Path
) -> None:
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(quick_report), encoding="utf-8")
    printed = subprocess.run(
        [sys.executable, str(SCRIPT), "--markdown", str(earlier)], capture_output=True, text=True, check=False
    )
    assert printed.returncode == 0 and "| target | measured | result |" in printed.stdout, printed.stderr
    (tmp_path / "notes.txt").write_text("not a report", encoding="utf-8")
    for bad, reason in (
        (tmp_path / "missing.json", "No such file"),
        (tmp_path / "notes.txt", "Expecting value"),
    ):
        refused = subprocess.run(
            [sys.executable, str(SCRIPT), "--markdown", str(bad)], capture_output=True, text=True, check=False
        )
        assert refused.returncode == 2 and refused.stdout == ""
        assert f"--markdown {bad}: not the --json file of an earlier run" in refused.stderr
        assert reason in refused.stderr and "Traceback" not in refused.stderr

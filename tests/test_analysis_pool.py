"""The analysis pool (services/analysis_pool.py): the same decisions as in-process,
the same stored cases through a real Dovecot, and a broken pool costs no mail."""

from __future__ import annotations

import os
import pickle
import signal
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import FakeStore
from helpers import cli, complaint, write_config
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.config.loader import load_config
from inbox_agent.mail.render import TemplateSet
from inbox_agent.pipeline.decision import Incoming
from inbox_agent.pipeline.process import analyse, analyse_many, process, process_analysed
from inbox_agent.services.analysis_pool import AnalysisPool, _slices, worker_count
from inbox_agent.services.intake import batch_view

TESTS = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
ALL_MAIL = sorted([*TESTS.glob("data/**/*.eml"), *TESTS.glob("mails/**/*.eml")])


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory):
    return load_config(write_config(tmp_path_factory.mktemp("pool")))


def _incoming(path: Path) -> Incoming:
    return Incoming(path.read_bytes(), f"maildir:{path.name}", NOW)


def test_the_corpus_is_there() -> None:
    assert len(ALL_MAIL) > 200


def test_analysis_done_ahead_and_pickled_gives_the_same_decision_for_every_test_mail(config) -> None:
    """Differential: ``process`` against ``analyse`` + a pickle round trip (what the pool
    sends back) + ``process_analysed``, mail after mail on one growing batch view, so
    threading onto cases opened earlier in the batch is compared too."""
    templates = TemplateSet(config.templates_dir)
    store_a, store_b = FakeStore(), FakeStore()
    view_a, view_b = batch_view(store_a), batch_view(store_b)
    compared = 0
    for path in ALL_MAIL:
        incoming = _incoming(path)
        expected = process(incoming, view_a, config, templates, NOW)
        analysis = pickle.loads(pickle.dumps(analyse(incoming, config, NOW)))
        got = process_analysed(incoming, analysis, view_b, config, templates, NOW)
        # Staff alerts carry a random salt in their Message-ID (policies/notified.py).
        if expected.outgoing and any(mail.kind.startswith("alert") for mail in expected.outgoing):
            assert got.outcome == expected.outcome, path.name
            continue
        assert got == expected, path.name
        view_a.record(expected, incoming_sha(incoming))
        view_b.record(got, incoming_sha(incoming))
        compared += 1
    assert compared > 200


def incoming_sha(incoming: Incoming) -> str:
    import hashlib

    return hashlib.sha256(incoming.raw).hexdigest()


def test_analysing_a_batch_stage_by_stage_gives_each_mail_its_own_analysis(config) -> None:
    """Differential: the pool's order (every mail through one stage, then the next)
    against one mail at a time, over every test mail and mails that stop early (not a
    mail at all, an auto-reply, a bounce): nothing leaks from one mail to the next."""
    incomings = [_incoming(path) for path in ALL_MAIL]
    incomings.insert(3, Incoming(b"\x00\xff not a mail", "maildir:broken", NOW))
    expected = [analyse(incoming, config, NOW) for incoming in incomings]
    got = analyse_many(incomings, config, NOW)
    assert got == expected
    assert any(item.stopped is not None for item in got) and any(item.stopped is None for item in got)


def test_a_duplicate_is_a_duplicate_even_when_its_analysis_quarantined_it(config) -> None:
    templates = TemplateSet(config.templates_dir)
    broken = Incoming(b"\x00\xff not a mail", "maildir:x", NOW)
    analysis = analyse(broken, config, NOW)
    view = batch_view(FakeStore())
    first = process_analysed(broken, analysis, view, config, templates, NOW)
    assert first == process(broken, batch_view(FakeStore()), config, templates, NOW)
    view.record(first, incoming_sha(broken))
    assert process_analysed(broken, analysis, view, config, templates, NOW).outcome == "duplicate"


def test_worker_count_zero_means_one_per_cpu() -> None:
    assert worker_count(0) == max(1, os.cpu_count() or 1)
    assert worker_count(1) == 1
    assert worker_count(3) == 3


def test_a_pool_whose_workers_die_still_analyses_every_mail_in_process(config, caplog) -> None:
    incomings = [_incoming(path) for path in ALL_MAIL[:20]]
    expected = [analyse(incoming, config, NOW) for incoming in incomings]
    with AnalysisPool(config, 2) as pool:
        assert pool.start(incomings[:2], NOW).result() == expected[:2]  # the pool works
        executor = pool._executor
        assert executor is not None
        for process_ in list(executor._processes.values()):  # the workers die (OOM killer, kill -9)
            os.kill(process_.pid, signal.SIGKILL)
        results = [pool.start(incomings[i : i + 5], NOW).result() for i in range(0, 20, 5)]
    assert [item for batch in results for item in batch] == expected
    assert "analysis pool failed" in caplog.text


@pytest.mark.parametrize("nice", [0, 7])
def test_the_workers_run_below_the_daemons_cpu_priority_by_workers_nice(config, nice: int) -> None:
    """The daemon's process is a backlog's slowest stage: its workers yield the CPU to
    it (``[mailbox] workers_nice``), by exactly the configured step, and analyse alike."""
    lowered = replace(config, mailbox=replace(config.mailbox, workers_nice=nice))
    incomings = [_incoming(path) for path in ALL_MAIL[:4]]
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with AnalysisPool(lowered, 2) as pool:
        assert pool.start(incomings, NOW).result() == [analyse(item, config, NOW) for item in incomings]
        executor = pool._executor
        assert executor is not None
        workers = [process_.pid for process_ in executor._processes.values()]
        assert len(workers) == 2
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in workers] == [min(19, own + nice)] * 2
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the daemon's own priority is untouched


def test_workers_whose_priority_cannot_be_lowered_still_analyse_in_the_pool(
    config, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A system that refuses setpriority (a seccomp filter) costs the lower priority,
    not the pool: the forked workers inherit the refusing ``os.nice``."""

    def refused(step: int) -> int:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "nice", refused)
    incomings = [_incoming(path) for path in ALL_MAIL[:4]]
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with AnalysisPool(config, 2) as pool:
        assert pool.start(incomings, NOW).result() == [analyse(item, config, NOW) for item in incomings]
        executor = pool._executor
        assert executor is not None  # not given up as broken
        workers = [process_.pid for process_ in executor._processes.values()]
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in workers] == [own, own]
    assert "analysis pool failed" not in caplog.text


def _stored_cases(config_path: Path) -> list[tuple]:
    from inbox_agent.adapters.tinydb_store import Store

    store = Store(load_config(config_path).storage.data_dir)
    store.rebuild_index()
    return sorted(
        (case.customer, case.category, case.categories, case.evidence, case.missing, len(case.message_ids))
        for case in store.iter_cases()
    )


def test_a_backlog_through_the_pool_stores_what_the_daemon_alone_stores(dovecot, tmp_path: Path) -> None:
    """Real Dovecot, batches of 4 (so the pool runs and replies land in later batches
    than their cases): workers = 2 and workers = 1 file the same cases."""
    raws = [
        complaint(
            f"c{i}@example.com",
            f"Charged twice {i}",
            f"Charged twice on 2026-11-1{i % 10}, ¥{100 + i}.00.",
            message_id=f"<p-{i}@example.com>",
        )
        for i in range(14)
    ]
    raws += [
        complaint(
            f"c{i}@example.com",
            f"Re: Charged twice {i}",
            f"The transaction id is TXN2026111800{i:02d}.",
            message_id=f"<pr-{i}@example.com>",
            in_reply_to=f"<p-{i}@example.com>",
        )
        for i in range(5)
    ]
    dovecot.append_many(raws)
    stored = []
    for workers in (2, 1):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        config = write_config(
            folder,
            dovecot=dovecot,
            overrides={
                "mailbox": {"workers": workers},
                "mailbox.imap": {"batch_size": 4, "processed_keyword": f"$Done{workers}"},
            },
        )
        done = cli(config, "run", "--once")
        assert done.returncode == 0, done.stderr
        assert "analysis pool failed" not in done.stderr  # the pool itself did the work
        stored.append(_stored_cases(config))
        assert len(list((folder / "outbox").glob("*.eml"))) == 19
    assert stored[0] == stored[1]
    assert len(stored[0]) == 14


def _processes_running(config: Path) -> list[int]:
    """Processes whose command line names this config: the daemon and forked workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(config).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_sigkilled_daemon_leaves_no_worker_holding_its_lock(dovecot, tmp_path: Path) -> None:
    """Forked workers hold the daemon's descriptors (daemon.lock): they must die with it,
    or the restart would be refused as a second daemon."""
    dovecot.append_many(
        [complaint(f"k{i}@example.com", f"Refund {i}", f"Charged twice, ¥{10 + i}.00.") for i in range(12)]
    )
    config = write_config(
        tmp_path, dovecot=dovecot, overrides={"mailbox": {"workers": 2}, "mailbox.imap": {"batch_size": 2}}
    )
    # The 3rd fetch: two batches are in the pool's hands.
    crashed = cli(config, "run", "--once", env={"INBOX_AGENT_CRASH_AT": "after_fetch:3"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    import time

    deadline = time.monotonic() + 10
    while _processes_running(config) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_running(config) == []
    again = cli(config, "run", "--once")
    assert again.returncode == 0, again.stderr
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 12


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=250), st.integers(min_value=1, max_value=16))
def test_a_batch_is_cut_into_one_slice_per_worker_in_mail_order(count: int, workers: int) -> None:
    """Every worker gets a share of each batch; the slices put back together are the
    batch in its order, and no slice is more than one mail larger than another."""
    batch = list(range(count))
    slices = _slices(batch, workers)  # type: ignore[arg-type]
    assert [item for part in slices for item in part] == batch
    assert len(slices) == max(1, min(workers, count))
    sizes = [len(part) for part in slices]
    assert max(sizes) - min(sizes) <= 1


def test_a_batch_cut_across_the_workers_comes_back_whole_and_in_order(config) -> None:
    """Every mail, in mail order, the same analysis as in-process."""
    incomings = [_incoming(path) for path in ALL_MAIL[:60]]
    expected = [analyse(incoming, config, NOW) for incoming in incomings]
    with AnalysisPool(config, 2) as pool:
        assert pool.start(incomings, NOW).result() == expected

"""The daemon loop: jobs on a ``schedule`` Scheduler over a runtime the bootstrap built.

A failing job is logged with its real cause (``entrypoints.failures``: disk full,
permission denied, mailbox unreachable, ...) and retried with capped backoff. The one
fatal cause is a damaged store: retrying cannot repair it, so the daemon stops and
the process exits 4 naming the file. SIGTERM and SIGINT let the current batch finish
and commit, then the loop exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import schedule

from inbox_agent.config.loader import Config
from inbox_agent.domain.backoff import capped_delay
from inbox_agent.domain.outbox import PENDING
from inbox_agent.entrypoints.bootstrap import Runtime, write_report
from inbox_agent.entrypoints.failures import Failure, describe
from inbox_agent.services.delivery import record_status
from inbox_agent.services.intake import CycleReport
from inbox_agent.services.retention import purge
from inbox_agent.services.sweep import run_sweep

log = logging.getLogger("inbox_agent.entrypoints.daemon")
# Jobs this rare run once at start too, then at their interval.
DAILY_AT_START = 3600.0


class StopFlag:
    """Set by SIGTERM/SIGINT; checked between batches so a batch always finishes."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self) -> bool:
        return self.event.is_set()

    def install(self) -> None:
        def handler(signum: int, _frame: Any) -> None:
            log.info("received %s: finishing the current batch, then stopping", signal.Signals(signum).name)
            self.event.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def escalation_sweep(runtime: Runtime) -> None:
    """Deadlines come from stored timestamps, so a sweep after downtime catches up. With
    ``[escalation] enabled = false`` it still sends the regulatory holding replies (the
    customer is owed them); the policies then escalate and notify nobody."""
    run_sweep(runtime.config, runtime.store, runtime.templates, runtime.clock.now())


def write_staff_page(runtime: Runtime) -> None:
    settings = runtime.config.report
    if settings.html is None:
        return
    write_report(
        runtime.store,
        runtime.config,
        runtime.templates,
        runtime.clock.now(),
        settings.html,
        include_resolved=settings.include_resolved,
    )


def purge_old_raw_mail(runtime: Runtime) -> None:
    days = runtime.config.storage.retention_days
    if days <= 0:
        return
    report = purge(runtime.store, runtime.clock.now(), days)
    if report.cases or report.unfiled:
        log.info(
            "retention: raw mail of %d resolved cases and %d mails of no case deleted "
            "(%d mails, %d attachments, %d never-sent mails)",
            report.cases,
            report.unfiled,
            report.blobs,
            report.attachments,
            report.unsent_dropped,
        )
    if report.deferred:
        log.info("retention: %d resolved cases kept until their queued mail is sent", report.deferred)


def housekeeping_jobs(config: Config) -> list[tuple[float, Callable[[Runtime], None]]]:
    """The jobs besides polling, with how often each runs (seconds). They write, so
    they never run in a dry run (`run --dry-run` is one cycle, see run_once)."""
    jobs: list[tuple[float, Callable[[Runtime], None]]] = []
    if config.escalation.enabled or _holding_replies_owed(config):
        jobs.append((config.escalation.sweep_interval, escalation_sweep))
    if config.report.html is not None:
        jobs.append((config.report.interval, write_staff_page))
    if config.storage.retention_days > 0:
        jobs.append((86400.0, purge_old_raw_mail))
    return jobs


def _holding_replies_owed(config: Config) -> bool:
    """Some case may get a regulatory jurisdiction whose holding reply the sweep sends."""
    regulatory = config.regulatory
    return regulatory.holding_reply and bool(regulatory.default or regulatory.rules)


def run_once(runtime: Runtime) -> CycleReport:
    """`run --once`: a cycle, every housekeeping job once, then send what they queued."""
    report = run_cycle(runtime)
    if report.error or runtime.dry_run:
        return report
    for _interval, job in housekeeping_jobs(runtime.config):
        try:
            job(runtime)
        except Exception as exc:  # the mail of this cycle is committed; a failed job runs next time
            _log_failure(f"{job.__name__} failed", describe(exc))
    runtime.delivery.send_due()
    totals = runtime.delivery.take_totals()
    return replace(
        report,
        sent=report.sent + totals.sent,
        send_failed=report.send_failed + totals.failed,
        # Mails left to retry, once each: the results of this run's sends would count a
        # mail retried twice in it twice, and the jobs' sends alone miss the cycle's.
        send_retry=sum(entry["status"] == PENDING for entry in runtime.store.outbox_entries()),
    )


def run_cycle(runtime: Runtime) -> CycleReport:
    """Poll, process, send — one cycle."""
    runtime.delivery.take_totals()  # count this cycle's sends only
    report = runtime.intake.poll()
    runtime.delivery.send_due()
    totals = runtime.delivery.take_totals()  # with those sent after each intake batch
    return replace(report, sent=totals.sent, send_failed=totals.failed, send_retry=totals.retry)


class Daemon:
    def __init__(self, runtime: Runtime, stop: StopFlag, on_report: Callable[[CycleReport], None]) -> None:
        self.runtime = runtime
        self.stop = stop
        self.on_report = on_report
        self.scheduler = schedule.Scheduler()  # our own: the module-level default is global state
        self.failures = 0
        self.paused_until = 0.0
        self.extra_jobs: list[tuple[float, Callable[[], None]]] = []
        self.fatal: BaseException | None = None  # a damaged store: stop, exit non-zero
        self.look_again = False  # the last cycle found mail: look once more before IDLE

    def _poll_job(self) -> None:
        if time.monotonic() < self.paused_until:
            return
        try:
            report = run_cycle(self.runtime)
        except Exception as exc:  # log the real cause, back off, try again
            failure = describe(exc)
            _log_failure("poll cycle failed", failure)
            if failure.fatal:
                self.fatal = exc
                self.stop.event.set()
                return
            report = CycleReport((), 0, 0, 0, 0, 0, error=failure.text)
            record_failure(self.runtime, failure)
        self.on_report(report)
        if report.error:
            self.failures += 1
            settings = self.runtime.config.mailbox
            delay = capped_delay(self.failures, settings.backoff_initial, settings.backoff_max)
            log.warning("cycle failed (%s); next attempt in %.0fs", report.error, delay)
            self.paused_until = time.monotonic() + delay
        else:
            self.failures = 0
        # Mail that reached the folder while this cycle ran was announced (EXISTS) in
        # the answer to one of the cycle's own commands, where the IMAP client drops
        # it; IDLE would not announce it again. So a cycle that found mail is followed
        # by another look before the daemon waits in IDLE (an empty look is one SEARCH).
        self.look_again = report.fetched > 0 and not report.error

    def add_job(self, every_seconds: float, job: Callable[[], None], *, now: bool = False) -> None:
        def safe() -> None:
            try:
                job()
            except Exception as exc:
                name = getattr(getattr(job, "func", job), "__name__", repr(job))
                _log_failure(f"scheduled job {name} failed; it runs again at its next time", describe(exc))

        self.scheduler.every(max(1, int(every_seconds))).seconds.do(safe)
        if now:
            safe()

    def run(self) -> None:
        config = self.runtime.config
        self.scheduler.every(max(1, int(config.mailbox.poll_interval))).seconds.do(self._poll_job)
        self._poll_job()
        for interval, job in housekeeping_jobs(config):
            # A daily job (retention) also runs at start: a daemon restarted more often
            # than once a day would otherwise never delete the data it must.
            self.add_job(interval, partial(job, self.runtime), now=interval >= DAILY_AT_START)
        imap = config.mailbox.imap if config.mailbox.kind == "imap" else None
        # The adapter shortens each IDLE to the renewal interval; 5 s bounds how long a
        # stop request or a scheduled job waits.
        idle_timeout: float | None = None
        if imap is not None and imap.idle:
            idle_timeout = 5.0 if imap.idle_timeout is None else min(imap.idle_timeout, 5.0)
        while not self.stop():
            self.scheduler.run_pending()
            wait = self.scheduler.idle_seconds
            wait = 1.0 if wait is None else max(0.0, min(wait, 1.0))
            if idle_timeout is not None and time.monotonic() >= self.paused_until:
                if self.look_again or self._idle_wait(idle_timeout):
                    self._poll_job()
            else:
                self.stop.event.wait(wait)
        if self.fatal is not None:
            log.error("stopped: the store is damaged; nothing more is done until it is repaired")
            raise self.fatal
        log.info("stopped")

    def _idle_wait(self, timeout: float) -> bool:
        try:
            return self.runtime.mailbox.wait_for_new(timeout)
        except Exception as exc:
            log.warning("IDLE failed (%s); falling back to polling for this round", exc)
            self.stop.event.wait(1.0)
            return False


def _log_failure(what: str, failure: Failure) -> None:
    """The cause in one line; a traceback only for what we did not foresee (a bug)."""
    if failure.expected:
        log.error("%s: %s", what, failure.text)
    else:
        log.exception("%s: %s", what, failure.text)


def record_failure(runtime: Runtime, failure: Failure) -> None:
    """Best effort: with the disk full this cannot be written either; `status` then
    finds the cause itself (it probes the data directory)."""
    record_status(runtime.store, last_error=failure.text, last_error_cause=failure.cause)

"""Parallel analysis: the pure stages of a batch in worker processes, ahead of the
deciding stages.

Parse, guard, authenticate, categorize and evidence (``pipeline.process.ANALYSIS``)
read nothing but the mail's bytes and the config, so a batch's analysis can run in
a process pool while the daemon fetches the next batch, commits the one before and
sends its acknowledgements. The results come back in mail order and go through the
deciding stages and the one unit of work exactly as in-process results do
(``process_analysed`` gives the same decision as ``process``).

``[mailbox] workers``: 0 = one per CPU, 1 = no pool (everything in the daemon's own
process). The intake opens a pool only for a backlog (more than one batch waiting),
for that poll alone: one new mail (IDLE) is never delayed by a pool's start-up, and
no worker outlives the poll. A pool that breaks (a worker killed, a result that
cannot be pickled) is logged once and the batch is analysed in-process: a broken
pool costs speed, never a mail. ``[mailbox] workers_nice``: the workers' CPU priority
below the daemon's, whose process is the slowest stage of a backlog.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from types import TracebackType

from inbox_agent.config.loader import Config
from inbox_agent.pipeline.decision import Incoming
from inbox_agent.pipeline.process import Analysis, analyse_many

log = logging.getLogger("inbox_agent.services.analysis_pool")

_worker_config: Config | None = None  # set once in each worker process


def worker_count(configured: int) -> int:
    """``[mailbox] workers`` as a number of processes: 0 means one per CPU."""
    return configured if configured > 0 else max(1, os.cpu_count() or 1)


def analyse_batch(incomings: Sequence[Incoming], config: Config, now: datetime) -> list[Analysis]:
    return analyse_many(incomings, config, now)


def _start_worker(config: Config, parent: int) -> None:
    """A worker dies with the daemon and leaves signals to it.

    A forked worker holds copies of the daemon's descriptors, ``daemon.lock`` among
    them: a worker outliving a SIGKILLed daemon would keep the lock and refuse the
    restart. So the kernel kills it when its parent dies (PR_SET_PDEATHSIG, Linux),
    and one whose parent is already gone exits. SIGTERM and SIGINT (systemd's stop,
    Ctrl-C to the process group) are the daemon's to handle: it finishes the batch
    with its workers, then shuts the pool down.
    """
    global _worker_config
    _worker_config = config
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _lower_priority(config.mailbox.workers_nice)
    if os.getppid() != parent:
        os._exit(0)


def _lower_priority(step: int) -> None:
    """Below the daemon: on a machine with fewer cores than busy processes, a worker
    that takes the CPU from the daemon only makes the daemon, the slowest stage, wait.
    Where the system refuses (a seccomp filter without setpriority), the worker runs
    at the daemon's priority: slower, never a broken pool."""
    if step <= 0:
        return
    try:
        os.nice(step)
    except (OSError, AttributeError) as exc:  # AttributeError: no os.nice (not Unix)
        log.warning(
            "analysis worker runs at the daemon's CPU priority: lowering it by %d failed (%s)", step, exc
        )


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pool is shut down with the poll
        pass


def _analyse_in_worker(incomings: Sequence[Incoming], now: datetime) -> list[Analysis]:
    assert _worker_config is not None, "the pool initializer sets the config"
    return analyse_batch(incomings, _worker_config, now)


class PendingAnalysis:
    """One batch's analysis: running in the pool, or done in-process on demand.

    The batch is cut into one slice per worker, so every worker analyses it at once:
    as one task, a batch kept one worker busy while the others waited for the next
    batch's fetch. The slices come back in mail order."""

    def __init__(self, pool: AnalysisPool, incomings: Sequence[Incoming], now: datetime) -> None:
        self._pool = pool
        self.incomings = incomings
        self._now = now
        futures = [pool.submit(part, now) for part in _slices(incomings, pool.workers)]
        self._futures: list[Future[list[Analysis]]] | None = (
            futures if all(future is not None for future in futures) else None  # type: ignore[assignment]
        )

    def result(self) -> list[Analysis]:
        if self._futures is not None:
            try:
                return [analysis for future in self._futures for analysis in future.result()]
            except Exception as exc:  # noqa: BLE001 - BrokenProcessPool, pickling: redo here
                self._pool.broken(exc)
        return analyse_batch(self.incomings, self._pool.config, self._now)


def _slices(incomings: Sequence[Incoming], parts: int) -> list[Sequence[Incoming]]:
    """``incomings`` cut into at most ``parts`` consecutive slices of near-equal size."""
    parts = max(1, min(parts, len(incomings)))
    size, extra = divmod(len(incomings), parts)
    slices: list[Sequence[Incoming]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        slices.append(incomings[start:end])
        start = end
    return slices


class AnalysisPool:
    """A process pool for one poll; ``with AnalysisPool(config, n) as pool``."""

    def __init__(self, config: Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> AnalysisPool:
        if self.workers > 1:
            # Parsed before the fork (if no one has yet): each worker would otherwise
            # parse it again on its first mail (0.3 s of CPU apiece).
            self.config.rules.model  # noqa: B018
            # fork where the platform has it: the workers start with the modules and
            # the category model already loaded, in well under a second.
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self.config, os.getpid()),
            )
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def start(self, incomings: Sequence[Incoming], now: datetime) -> PendingAnalysis:
        return PendingAnalysis(self, incomings, now)

    def submit(self, incomings: Sequence[Incoming], now: datetime) -> Future[list[Analysis]] | None:
        if self._executor is None:
            return None
        try:
            return self._executor.submit(_analyse_in_worker, incomings, now)
        except Exception as exc:  # noqa: BLE001 - a pool already broken: analyse in-process
            self.broken(exc)
            return None

    def broken(self, exc: BaseException) -> None:
        """Stop using the pool for the rest of the poll; the caller analyses in-process."""
        log.warning(
            "analysis pool failed (%s: %s); analysing in the daemon's process", type(exc).__name__, exc
        )
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

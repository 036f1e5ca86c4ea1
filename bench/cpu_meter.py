"""Where a measured run's CPU goes: the daemon, its analysis workers, the IMAP server
and the SMTP server, in milliseconds per mail; and what that allows on this machine.

On a machine with few cores every process of a run shares them: the throughput of a
run whose cores are all busy is at most ``cores / total CPU per mail``, whatever is
moved between processes. The benchmark reports each side's CPU per mail so the
figures say which side a faster run has to take CPU from (issue 16's "what stands in
the way"), and how much CPU per mail the end-to-end run may spend in all to reach a
throughput target such as 0.6 x fetch + parse.

The IMAP server (Dovecot) is read from ``/proc``: its master and every process below
it, with the CPU of children that have already exited and been waited for (the
``cutime``/``cstime`` fields of their parent). Linux only: elsewhere the server's
share is reported as ``None``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cores() -> int:
    """The CPUs this process may run on (what every process of the run shares)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _stat_fields(pid: int) -> list[str] | None:
    try:
        # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of ``pid`` and every live process below it, plus the
    exited children they waited for; None when ``/proc`` cannot tell."""
    if _stat_fields(pid) is None:
        return None
    children = _children_of()
    ticks = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        fields = _stat_fields(current)
        if fields is None:  # exited meanwhile: its time moves to its parent's cutime
            continue
        # Fields 14-17 of /proc/PID/stat (utime, stime, cutime, cstime), counted from the
        # state field (field 3), which is index 0 here.
        ticks += sum(int(value) for value in fields[11:15])
        stack.extend(children.get(current, ()))
    return ticks / _TICKS


@dataclass(frozen=True)
class ServerCpu:
    """A snapshot of the servers' CPU: the harness process (the SMTP server runs in it,
    as a thread) and the IMAP server's process tree."""

    harness: float
    imap_server: float | None

    @classmethod
    def now(cls, imap_server_pid: int | None) -> ServerCpu:
        imap = tree_cpu_seconds(imap_server_pid) if imap_server_pid is not None else None
        return cls(time.process_time(), imap)

    def since(self, before: ServerCpu) -> dict[str, float | None]:
        imap = None
        if self.imap_server is not None and before.imap_server is not None:
            imap = self.imap_server - before.imap_server
        return {"smtp_server": self.harness - before.harness, "imap_server": imap}


def per_mail_ms(seconds: Mapping[str, float | None], mails: int) -> dict[str, float | None]:
    """CPU seconds by side -> milliseconds per mail, with their ``total`` (None when a
    side could not be read: then the total is None too; all None for a run of no mail)."""
    if mails <= 0:
        return {**dict.fromkeys(seconds), "total": None}
    ms = {side: None if value is None else round(value * 1000 / mails, 3) for side, value in seconds.items()}
    known = [value for value in ms.values() if value is not None]
    ms["total"] = round(sum(known), 3) if len(known) == len(ms) else None
    return ms


def median_by_side(runs: Iterable[Mapping[str, float | None]]) -> dict[str, float | None]:
    """The median of each side over runs (None where any run could not read it)."""
    runs = list(runs)
    sides = list(runs[0]) if runs else []
    result: dict[str, float | None] = {}
    for side in sides:
        values = [run.get(side) for run in runs]
        result[side] = None if any(v is None for v in values) else round(statistics.median(values), 3)  # type: ignore[type-var]
    return result


def cpu_bound_rate(total_ms: float | None, core_count: int) -> float | None:
    """Mails per second if all ``core_count`` cores did nothing but this work."""
    if not total_ms:
        return None
    return round(core_count * 1000 / total_ms, 1)


def budget_ms(target_rate: float, core_count: int) -> float | None:
    """The CPU per mail, all processes together, at which ``core_count`` busy cores
    reach ``target_rate`` mails per second."""
    if target_rate <= 0:
        return None
    return round(core_count * 1000 / target_rate, 3)

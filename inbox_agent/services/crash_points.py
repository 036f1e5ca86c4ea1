"""Named crash points and write-fault points for the fault tests.

Crash points: ``INBOX_AGENT_CRASH_AT=name[:count]`` makes the process SIGKILL itself
the count-th time it passes ``name``. The kill tests use them to prove the commit
path's guarantees at every step: after the fetch, after parsing, before and after the
commit, after the journal, in the middle of a file write, after the SMTP server
accepted a mail.

Write-fault points: ``INBOX_AGENT_FAULT_AT=name[:count]`` makes the count-th write at
``name`` fail with ENOSPC ("No space left on device"), and every write at any point
after it too — a full disk stays full. ``INBOX_AGENT_FAULT_ERRNO`` picks another
error (``EACCES``, ``EIO``, ...). With ``INBOX_AGENT_FAULT_UNTIL=PATH`` the disk is
"full" only until PATH exists, so a running daemon can see space return. The points:
``blob_write``, ``journal_write``, ``store_write`` (a shard or state.json),
``sent_log_reserve``, ``sent_log_append``.

Unset (always, outside the tests), a point costs one environment lookup.
"""

from __future__ import annotations

import errno
import os
import signal

CRASH_ENV = "INBOX_AGENT_CRASH_AT"
FAULT_ENV = "INBOX_AGENT_FAULT_AT"
FAULT_ERRNO_ENV = "INBOX_AGENT_FAULT_ERRNO"
FAULT_UNTIL_ENV = "INBOX_AGENT_FAULT_UNTIL"
WRITE_POINTS = ("blob_write", "journal_write", "store_write", "sent_log_reserve", "sent_log_append")

_struck = False  # the armed fault has happened: from now on every write point fails


def crash_point(name: str) -> None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    remaining = int(count or "1") - 1
    if remaining > 0:
        os.environ[CRASH_ENV] = f"{point}:{remaining}"
        return
    os.kill(os.getpid(), signal.SIGKILL)


def write_point(name: str) -> None:
    """Raise the armed write error here (see the module docstring); otherwise nothing."""
    global _struck
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    until = os.environ.get(FAULT_UNTIL_ENV)
    if until and os.path.exists(until):
        return  # space is back
    if not _struck:
        point, _, count = wanted.partition(":")
        if point != name:
            return
        remaining = int(count or "1") - 1
        if remaining > 0:
            os.environ[FAULT_ENV] = f"{point}:{remaining}"
            return
        _struck = True
    code = getattr(errno, os.environ.get(FAULT_ERRNO_ENV, "ENOSPC"))
    raise OSError(code, os.strerror(code), f"injected at {name}")

"""Named crash points for the kill tests: ``INBOX_AGENT_CRASH_AT=name[:count]`` makes the
process SIGKILL itself the count-th time it passes ``name``.

Unset (always, outside the tests), a crash point costs one environment lookup. The
kill tests use them to prove the commit path's guarantees at every step: after the
fetch, after parsing, before and after the commit, after the journal, in the middle
of a file write, after the SMTP server accepted a mail.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "INBOX_AGENT_CRASH_AT"


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

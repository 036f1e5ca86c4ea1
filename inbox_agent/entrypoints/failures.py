"""What went wrong, named by its real cause, with the exit code that says it.

Ops read the cause in three places: the log line, ``inbox-agent status`` and the exit
code. A full disk is not "mailbox unavailable", and a damaged store is not a retry.

| cause | exit code |
|---|---|
| mailbox unreachable, any other failure | 1 |
| store damaged (a file missing, empty, altered, stale; a case id clash) | 4 |
| disk full (ENOSPC, EDQUOT) | 5 |
| permission denied (EACCES, EPERM, read-only file system) | 6 |
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from inbox_agent.adapters.tinydb_store import StoreDamaged, StoreError, StoreLocked
from inbox_agent.services.ports import MailboxError

EXIT_FAIL = 1
EXIT_STORE_DAMAGED = 4
EXIT_DISK_FULL = 5
EXIT_PERMISSION = 6

STORE_DAMAGED = "store damaged"
DISK_FULL = "disk full"
PERMISSION_DENIED = "permission denied"
MAILBOX_UNREACHABLE = "mailbox unreachable"

_OS_CAUSES = {
    errno.ENOSPC: (DISK_FULL, EXIT_DISK_FULL),
    errno.EDQUOT: (DISK_FULL, EXIT_DISK_FULL),
    errno.EACCES: (PERMISSION_DENIED, EXIT_PERMISSION),
    errno.EPERM: (PERMISSION_DENIED, EXIT_PERMISSION),
    errno.EROFS: (PERMISSION_DENIED, EXIT_PERMISSION),
}


@dataclass(frozen=True)
class Failure:
    cause: str
    exit_code: int
    detail: str
    expected: bool = True  # False: a bug or an unforeseen error (log the traceback)

    @property
    def text(self) -> str:
        return f"{self.cause}: {self.detail}"

    @property
    def fatal(self) -> bool:
        """The daemon stops instead of retrying: retrying cannot repair a damaged store."""
        return self.exit_code == EXIT_STORE_DAMAGED


def describe(error: BaseException) -> Failure:
    if isinstance(error, StoreLocked):
        return Failure("store locked", EXIT_FAIL, str(error))
    if isinstance(error, StoreDamaged):
        return Failure(STORE_DAMAGED, EXIT_STORE_DAMAGED, str(error))
    if isinstance(error, StoreError):
        return Failure("store refused", EXIT_STORE_DAMAGED, str(error))
    if isinstance(error, MailboxError):
        return Failure(MAILBOX_UNREACHABLE, EXIT_FAIL, str(error))
    if isinstance(error, OSError):
        cause, code = _OS_CAUSES.get(error.errno or 0, ("I/O error", EXIT_FAIL))
        where = f" ({error.filename})" if error.filename else ""
        what = error.strerror or str(error)
        return Failure(cause, code, f"{what}{where}", expected=error.errno in _OS_CAUSES)
    return Failure("error", EXIT_FAIL, f"{type(error).__name__}: {error}", expected=False)

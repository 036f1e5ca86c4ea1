"""The accepted-mail log: outbox ids the SMTP server accepted, written (and fsynced)
the moment it says 250, before the batch's "sent" marks are committed.

After a crash in between, delivery reads it and marks those mails sent instead of
sending them again: the only duplicate window left is between the 250 and this
append.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600


class SentLog:
    """Append-only list of outbox ids the server accepted but not yet marked sent."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> set[str]:
        try:
            return {line for line in self.path.read_text(encoding="utf-8").splitlines() if line}
        except FileNotFoundError:
            return set()

    def append(self, outbox_id: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, (outbox_id + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

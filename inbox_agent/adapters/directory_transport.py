"""The directory transport: each outgoing mail written as an .eml file (no server).

Implements ``adapters.transport.Transport`` as ``adapters.smtp.SmtpTransport`` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from inbox_agent.adapters.files import write_atomically
from inbox_agent.config.settings import SmtpSettings
from inbox_agent.domain.model import OutgoingMail, SendOutcome, SendResult
from inbox_agent.services.ports import TransportError

# Outbox ids become file names: letters, digits, dot, dash, underscore; no leading dot.
_SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")


class DirectoryTransport:
    """Writes each mail as ``<directory>/<outbox_id>.eml`` (0600, folder 0700), atomically.

    The default first-run transport: no server needed, and ops can look at exactly
    what would have been sent. A file that already exists counts as sent, so a
    retry after a crash never writes a second copy.
    """

    def __init__(self, settings: SmtpSettings, *, on_accepted: Callable[[str], None] | None = None) -> None:
        if settings.directory is None:
            raise ValueError("DirectoryTransport needs settings.directory")
        self._directory = Path(settings.directory)
        self._on_accepted = on_accepted

    def send_batch(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        try:
            self._ensure_directory()
        except OSError as error:
            detail = f"cannot create {self._directory}: {error}"
            return [SendResult(mail.outbox_id, SendOutcome.RETRY, detail) for mail in mails]
        return [self._write(mail) for mail in mails]

    def check(self) -> str:
        try:
            self._ensure_directory()
        except OSError as error:
            raise TransportError(f"cannot create {self._directory}: {error}") from error
        if not os.access(self._directory, os.W_OK | os.X_OK):
            raise TransportError(f"cannot write to {self._directory}")
        return f"directory ok: mails are written to {self._directory}"

    def _ensure_directory(self) -> None:
        if not self._directory.is_dir():
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkdir's mode is filtered by the umask; outgoing mail holds personal data.
            self._directory.chmod(0o700)

    def _write(self, mail: OutgoingMail) -> SendResult:
        if not _SAFE_ID.fullmatch(mail.outbox_id):
            return SendResult(mail.outbox_id, SendOutcome.FAILED, "outbox id is not a safe file name")
        target = self._directory / f"{mail.outbox_id}.eml"
        if target.exists():
            return SendResult(mail.outbox_id, SendOutcome.SENT, f"already written: {target}")
        try:
            write_atomically(target, mail.raw)  # a collector never sees half a mail
        except OSError as error:  # disk full, permissions: the mail stays in the outbox
            return SendResult(mail.outbox_id, SendOutcome.RETRY, f"cannot write {target}: {error}")
        if self._on_accepted is not None:
            self._on_accepted(mail.outbox_id)
        return SendResult(mail.outbox_id, SendOutcome.SENT, f"written: {target}")

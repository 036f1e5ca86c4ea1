"""A local Maildir as the mailbox: the embedded default, and handy for tests and demos.

Unprocessed mail is every file in ``new/`` (and, with ``processed_action = "keep"``,
every file in ``new/`` and ``cur/``: nothing is moved, the store's de-duplication
keeps it from being processed twice — right for a read-only folder such as the
shipped examples).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from inbox_agent.config.settings import MaildirSettings
from inbox_agent.services.ports import FetchedMail, MailboxError, MailboxState, MailRef


class MaildirMailbox:
    def __init__(self, settings: MaildirSettings) -> None:
        self.settings = settings
        self.root = Path(settings.path)

    def open(self) -> MailboxState:
        for sub in ("new", "cur", "tmp"):
            if not (self.root / sub).is_dir():
                raise MailboxError(f"{self.root} is not a Maildir (no {sub}/ folder)")
        return MailboxState(name=str(self.root), uidvalidity=0, uidnext=0)

    def _folders(self) -> list[Path]:
        if self.settings.processed_action == "keep":
            return [self.root / "new", self.root / "cur"]
        return [self.root / "new"]

    def list_new(self, after_uid: int, since: date | None = None) -> list[MailRef]:
        refs: list[tuple[float, MailRef]] = []
        for folder in self._folders():
            for entry in os.scandir(folder):
                if not entry.is_file() or entry.name.startswith("."):
                    continue
                stat = entry.stat()
                received = datetime.fromtimestamp(stat.st_mtime, UTC)
                if since is not None and received.date() < since:
                    continue
                key = f"{folder.name}/{entry.name}"
                refs.append(
                    (stat.st_mtime, MailRef(key=key, uid=0, size=stat.st_size, internal_date=received))
                )
        refs.sort(key=lambda item: (item[0], item[1].key))
        return [ref for _, ref in refs]

    def fetch(self, refs: Sequence[MailRef], max_size: int) -> Iterator[FetchedMail]:
        for ref in refs:
            if ref.size > max_size:
                yield FetchedMail(ref=ref, raw=None)
                continue
            try:
                raw = (self.root / ref.key).read_bytes()
            except FileNotFoundError:
                continue  # delivered elsewhere or removed by hand meanwhile: nothing to do
            except OSError as exc:
                raise MailboxError(f"cannot read {self.root / ref.key}: {exc.strerror}") from exc
            yield FetchedMail(ref=ref, raw=raw)

    def mark_processed(self, refs: Sequence[MailRef]) -> None:
        """Move each file to ``cur/`` (or the processed sub-folder). A file already gone
        was marked before (the service retries owed marks); any other failure is a
        MailboxError naming the file, and the service keeps the marks owed."""
        if self.settings.processed_action == "keep":
            return
        target_dir = self._processed_dir()
        for ref in refs:
            base = Path(ref.key).name.split(":", 1)[0]
            try:
                os.replace(self.root / ref.key, target_dir / f"{base}:2,S")
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise MailboxError(
                    f"cannot mark {self.root / ref.key} processed: {exc.strerror or exc}"
                ) from exc

    def _processed_dir(self) -> Path:
        if self.settings.processed_action != "move":
            return self.root / "cur"
        folder = self.root / f".{self.settings.processed_folder}"
        try:
            for sub in ("new", "cur", "tmp"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MailboxError(f"cannot create the processed folder {folder}: {exc.strerror or exc}") from exc
        return folder / "cur"

    def wait_for_new(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def check(self) -> str:
        state = self.open()
        count = len(self.list_new(0))
        return f"Maildir ok: {count} unprocessed messages in {state.name}"

    def append_sent(self, raw: bytes) -> None:
        """A Maildir has no Sent folder of ours: copies are not kept."""

    def close(self) -> None:
        pass

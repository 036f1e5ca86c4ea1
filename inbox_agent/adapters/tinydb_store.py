"""The store: cases, messages, outbox, quarantine and checkpoints, on TinyDB.

Layout of the data directory (folders 0700, files 0600)::

    state.json            small, hot: meta, checkpoints, outbox, quarantine, counters, status
    cases/000000.json     cases and their messages, ``shard_size`` cases per file
    cases/unfiled-YYYY-MM.json   mail that belongs to no case (bounces, list mail)
    raw/ab/<sha256>       every raw mail and outgoing mail, addressed by content hash
    attachments/ab/<safe name>   attachments, under generated names only
    journal.json          the batch being committed (write-ahead), gone once applied
    daemon.lock           held by the running daemon: a second one refuses to start
    write.lock            held by whoever writes (daemon batch, CLI staff command)

Why this shape: TinyDB's JSON storage rewrites a whole file on every change, so one
big file makes every insert cost more as cases pile up. Shards bound the size of
each file a batch rewrites, so the per-message cost stays flat. Each file is written
atomically (temp file, fsync, rename): a crash mid-write leaves the previous
version. A batch touches several files, so it is first written whole to
``journal.json`` (one atomic write = the commit point) and then applied; a journal
found at start-up is applied again (every operation is an idempotent upsert/delete).

Every file proves it is whole (``adapters.sealed``: a header with format, generation
and checksum), and ``state.json`` lists every shard with the generation that wrote
it: a missing, empty, ``{}``, truncated, altered, stale or foreign file stops the
store with the file's name. Case numbers never go back: the next number is also
derived from the stored cases, and a commit that would overwrite another case is
refused (``adapters.store_journal``).

``read_only=True`` (``status``, ``cases``, ``show``, ``verify``) takes no lock and
writes nothing, so it works on a read-only data directory and beside a running daemon.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from inbox_agent.adapters.blobs import ContentAddressedFiles
from inbox_agent.adapters.disk import storage_state
from inbox_agent.adapters.sealed import StoreDamaged, StoreError, read_sealed, seal
from inbox_agent.adapters.store_journal import STATE, apply, operations, refuse_clashes
from inbox_agent.adapters.store_reads import StoreReads
from inbox_agent.adapters.table_encoding import DocumentTexts, encode_journal
from inbox_agent.adapters.tinydb_docs import (
    DIR_MODE,
    FILE_MODE,
    atomic_write,
    case_to_doc,
    ensure_dir,
    message_to_doc,
)
from inbox_agent.services.crash_points import crash_point
from inbox_agent.services.ports import Changes, Index

log = logging.getLogger("inbox_agent.adapters.store")

SCHEMA_VERSION = 2
JOURNAL = "journal.json"


class StoreLocked(StoreError):
    """Another process holds the lock."""


def lock_daemon(root: Path) -> int:
    """Take ``daemon.lock`` (holding our pid) and return its descriptor; StoreLocked
    naming the holder's pid while another daemon runs."""
    fd = os.open(root / "daemon.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            raise StoreLocked(
                f"another inbox-agent daemon (pid {holder}) is running on {root}; "
                "stop it first or use another storage.data_dir"
            ) from None
        raise
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


# ---------------------------------------------------------------- the store


class Store(StoreReads, ContentAddressedFiles):
    def __init__(
        self,
        data_dir: Path,
        *,
        shard_size: int = 500,
        lock_timeout: float = 30.0,
        read_only: bool = False,
        build_index: bool = True,
    ) -> None:
        self.root = Path(data_dir)
        self.read_only = read_only
        self.shard_size = shard_size
        self.lock_timeout = lock_timeout
        self.cases_dir = self.root / "cases"
        self.raw_dir = self.root / "raw"
        self.attachments_dir = self.root / "attachments"
        self.state_path = self.root / STATE
        self.journal_path = self.root / JOURNAL
        self._daemon_lock_fd: int | None = None
        self._write_lock_fd: int | None = None
        self._write_depth = 0
        self._init_reads()
        self.index = Index()
        if read_only:
            self._empty = not self.state_path.exists() and not self._has_data()
            self._check_schema()
            self._adopt_recorded_shard_size()
            if build_index:  # `verify` reads every file itself, to report each problem
                self.rebuild_index()
            return
        for folder in (self.root, self.cases_dir, self.raw_dir, self.attachments_dir):
            ensure_dir(folder)
        os.chmod(self.root, DIR_MODE)
        with self._flock():
            self._start_state()
            self._recover()
            self._check_schema()
            self._adopt_recorded_shard_size()
            self.rebuild_index()

    # ------------------------------------------------------------ locks

    def acquire_daemon_lock(self) -> None:
        """Held for the daemon's lifetime: two daemons on one data dir would double-send."""
        self._daemon_lock_fd = lock_daemon(self.root)

    def release_daemon_lock(self) -> None:
        if self._daemon_lock_fd is not None:
            os.close(self._daemon_lock_fd)
            self._daemon_lock_fd = None

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive for writers; re-entrant within this process. A journal left by a
        failed commit (a crash, a full disk) is applied before anything else."""
        if self.read_only:
            raise StoreError(f"the store at {self.root} was opened read-only")
        with self._flock():
            self._recover()
            if self._generation_on_disk() != self.index.generation:
                self.rebuild_index()
            yield

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        if self._write_depth:
            self._write_depth += 1
            try:
                yield
            finally:
                self._write_depth -= 1
            return
        fd = os.open(self.root / "write.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise StoreLocked(
                        f"the store at {self.root} stayed locked by another writer for {self.lock_timeout:.0f}s"
                    ) from None
                time.sleep(0.05)
        self._write_lock_fd = fd
        self._write_depth = 1
        self._forget_checks()
        try:
            yield
        finally:
            self._write_depth = 0
            self._forget_checks()
            self._write_lock_fd = None
            os.close(fd)

    def storage_state(self) -> str:
        """Room and write permission of the data directory, as `status` shows them."""
        return storage_state(self.root)

    # ------------------------------------------------------------ start-up

    def _has_data(self) -> list[str]:
        """What a data directory holds besides state.json (a store that has been written)."""
        found = (
            [self.relative(path) for path in self.cases_dir.glob("*.json")] if self.cases_dir.is_dir() else []
        )
        return found + ([JOURNAL] if self.journal_path.exists() else [])

    def _start_state(self) -> None:
        """A new data directory gets its first state.json; a written one must have it."""
        if self.state_path.exists():
            return
        found = self._has_data()
        if found:
            raise StoreDamaged(
                self.state_path, f"the file is missing while the data directory holds {', '.join(found[:3])}"
            )
        meta = {
            "schema": SCHEMA_VERSION,
            "generation": 0,
            "next_case_seq": 1,
            "files": {},
            "shard_size": self.shard_size,
        }
        atomic_write(self.state_path, seal(STATE, 0, {"meta": {"1": meta}}))

    def _check_schema(self) -> None:
        if self._empty:
            return
        schema = self.meta().get("schema")
        if schema != SCHEMA_VERSION:
            raise StoreError(f"{self.state_path} has schema {schema}, this version needs {SCHEMA_VERSION}")

    def _adopt_recorded_shard_size(self) -> None:
        """A store keeps the shard size it was created with: a case's shard is its number
        divided by it, so another size would look for (and write) cases in other files.
        The configured size applies to new stores; a store from before the size was
        recorded gets the configured one recorded at its next commit, once
        :meth:`rebuild_index` has found its cases where that size puts them."""
        self.configured_shard_size = self.shard_size
        recorded = self._read_state_table("meta").get("1", {}).get("shard_size")
        if recorded is None:
            return
        if not isinstance(recorded, int) or isinstance(recorded, bool) or recorded < 1:
            raise StoreDamaged(
                self.state_path, f"meta.shard_size is {recorded!r}, not a positive whole number"
            )
        self.shard_size = recorded
        if recorded != self.configured_shard_size:
            log.warning(
                "%s: [storage] shard_size %d applies to new stores; this one keeps the %d it was created with",
                self.root,
                self.configured_shard_size,
                recorded,
            )

    def _recover(self) -> None:
        """Apply a journal left between the commit point and its application."""
        if not self.journal_path.exists():
            return
        generation, body = read_sealed(self.journal_path, JOURNAL)
        if not isinstance(body, dict) or body.get("generation") != generation:
            raise StoreDamaged(self.journal_path, "not a commit record")
        # state.json is the last file a journal writes: a state.json at a later
        # generation means this journal was applied in full and a state.json-only
        # commit (which writes no journal) followed before its removal reached the
        # disk (the unlink is made durable by the next fsync of the folder, not its own).
        if generation < self._generation_on_disk():
            self.journal_path.unlink()
            return
        self._apply(generation, body["operations"])
        self.journal_path.unlink()

    # ------------------------------------------------------------ writes

    def commit(self, changes: Changes) -> None:
        """Write a batch as one unit: journal (the commit point), then apply, then drop it
        (a commit of state.json alone is one atomic write, without a journal)."""
        if not changes:
            return
        with self.write_lock():
            index = self.index
            refuse_clashes(
                changes,
                lambda case_id: case_id in index.active_cases or case_id in index.resolved_cases,
                self.shard_cases,
            )
            generation, ops = operations(
                changes,
                relative=self.relative,
                shard_of=self.shard_path,
                unfiled_dir=self.cases_dir,
                meta={"shard_size": self.shard_size} | self._read_state_table("meta").get("1", {}),
                status=self.status(),
            )
            # A commit that writes state.json alone (checkpoints, status, outbox entries)
            # needs no journal: one atomic write of one file is its own commit point.
            # That spares the journal's fsyncs on half the commits of a cycle.
            journalled = any(op["file"] != STATE for op in ops)
            texts = DocumentTexts()  # each document encoded once, for the journal and its file
            if journalled:
                record = {"generation": generation, "operations": ops}
                journal = seal(JOURNAL, generation, record, lambda body: encode_journal(body, texts))
                atomic_write(self.journal_path, journal, point="journal_write")
                crash_point("after_journal")
            self._apply(generation, ops, texts)
            if journalled:
                self.journal_path.unlink()
            for case in changes.cases.values():
                self.index.add_case(case)
                self._max_seq = max(self._max_seq, case.seq)
            for message in changes.messages:
                self.index.add_message(message)
            for entry in changes.quarantine.values():
                self.index.message_keys.add(entry["key"])
                if entry.get("raw_sha256"):
                    self.index.hashes.add(entry["raw_sha256"])
            self.index.generation = self._generation_on_disk()

    def _apply(self, generation: int, ops: list[dict], texts: DocumentTexts | None = None) -> None:
        """Apply a commit, reading each file through the cache and caching what was
        written: the next batch neither reads nor parses the shards this one wrote, nor
        encodes their unchanged documents again."""
        try:
            written = apply(
                self.root,
                generation,
                ops,
                self.manifest(),
                reader=self._read_for_commit,
                encoder=lambda path: self._encoder(path, texts),
            )
            for name, data in written:
                self._remember(self.root / name, generation, data)
        except BaseException:
            self._forget_checks()  # a file may have been replaced and not cached: check all again
            raise


__all__ = [
    "FILE_MODE",
    "Store",
    "StoreDamaged",
    "StoreError",
    "StoreLocked",
    "case_to_doc",
    "message_to_doc",
    "atomic_write",
]

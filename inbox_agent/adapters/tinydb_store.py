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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inbox_agent.adapters.blobs import ContentAddressedFiles
from inbox_agent.adapters.tinydb_docs import (
    DIR_MODE,
    FILE_MODE,
    AtomicJSONStorage,
    KeyedTable,
    StoreError,
    atomic_write,
    case_from_doc,
    case_to_doc,
    ensure_dir,
    message_from_doc,
    message_to_doc,
    open_db,
)
from inbox_agent.domain.lifecycle import seq_of
from inbox_agent.domain.model import Case, CaseStatus, MessageRecord
from inbox_agent.services.crash_points import crash_point
from inbox_agent.services.ports import Changes, Index

SCHEMA_VERSION = 1
SHARD_CACHE_SIZE = 16  # parsed shards kept in memory (500 cases each)


class StoreLocked(StoreError):
    """Another process holds the lock."""


# ---------------------------------------------------------------- the store


class Store(ContentAddressedFiles):
    def __init__(self, data_dir: Path, *, shard_size: int = 500, lock_timeout: float = 30.0) -> None:
        self.root = ensure_dir(Path(data_dir))
        os.chmod(self.root, DIR_MODE)
        self.shard_size = shard_size
        self.lock_timeout = lock_timeout
        self.cases_dir = ensure_dir(self.root / "cases")
        self.raw_dir = ensure_dir(self.root / "raw")
        self.attachments_dir = ensure_dir(self.root / "attachments")
        self.state_path = self.root / "state.json"
        self.journal_path = self.root / "journal.json"
        self._daemon_lock_fd: int | None = None
        self._write_lock_fd: int | None = None
        self._write_depth = 0
        # The few shards in use (the newest cases, state.json), least recently used
        # dropped first: caching every shard would hold the whole store in memory.
        self._counter_map: tuple[object, dict[str, dict[str, Any]]] = (None, {})
        self._shard_cache: OrderedDict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = OrderedDict()
        self.index = Index()
        with self.write_lock():
            self._recover()
            self._check_schema()

    # ------------------------------------------------------------ locks

    def acquire_daemon_lock(self) -> None:
        """Held for the daemon's lifetime: two daemons on one data dir would double-send."""
        path = self.root / "daemon.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise StoreLocked(
                    f"another inbox-agent daemon (pid {holder}) is running on {self.root}; "
                    "stop it first or use another storage.data_dir"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._daemon_lock_fd = fd

    def release_daemon_lock(self) -> None:
        if self._daemon_lock_fd is not None:
            os.close(self._daemon_lock_fd)
            self._daemon_lock_fd = None

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive for writers; re-entrant within this process."""
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
        try:
            if self._generation_on_disk() != self.index.generation:
                self.rebuild_index()
            yield
        finally:
            self._write_depth = 0
            self._write_lock_fd = None
            os.close(fd)

    # ------------------------------------------------------------ start-up

    def _check_schema(self) -> None:
        db, storage = open_db(self.state_path)
        meta = db.table("meta").get(doc_id=1)
        if meta is None:
            db.table("meta").insert({"schema": SCHEMA_VERSION, "generation": 0, "next_case_seq": 1})
            storage.flush()
        elif meta.get("schema") != SCHEMA_VERSION:
            raise StoreError(
                f"{self.state_path} has schema {meta.get('schema')}, this version needs {SCHEMA_VERSION}"
            )

    def _recover(self) -> None:
        """Apply a journal left by a crash between the commit point and its application."""
        if not self.journal_path.exists():
            return
        try:
            operations = json.loads(self.journal_path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError):
            # The journal is written atomically, so this is not a torn write: refuse loudly.
            raise StoreError(f"{self.journal_path} is unreadable; move it away to start") from None
        self._apply(operations)
        self.journal_path.unlink()

    def _generation_on_disk(self) -> int:
        meta = self._read_state_table("meta").get("1", {})
        return int(meta.get("generation", 0))

    def rebuild_index(self) -> None:
        index = Index()
        for path in sorted(self.cases_dir.glob("*.json")):
            data = self._read_json(path, cache=False)
            # Straight from the documents: building a Case and a MessageRecord for each
            # of 100,000 cases only to read three fields of it doubled the start-up time.
            for doc in data.get("cases", {}).values():
                index.add(doc["case_id"], doc["status"] == CaseStatus.RESOLVED, doc.get("message_ids", ()))
            for doc in data.get("messages", {}).values():
                index.add_record(
                    doc["key"], doc["direction"], doc["raw_sha256"], doc["message_id"], doc["case_id"]
                )
        for doc in self._read_state_table("quarantine").values():
            index.message_keys.add(doc["key"])
            if doc.get("raw_sha256"):
                index.hashes.add(doc["raw_sha256"])
        index.generation = self._generation_on_disk()
        self.index = index

    # ------------------------------------------------------------ reads

    def _read_json(self, path: Path, *, cache: bool = True) -> dict[str, Any]:
        """Read a shard, cached by (inode, mtime, size): unchanged files are not parsed again."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {}
        # Files are only ever replaced by rename, so the inode changes on every write.
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._shard_cache.get(path)
        if cached and cached[0] == stamp:
            self._shard_cache.move_to_end(path)
            return cached[1]
        try:
            data = json.loads(path.read_bytes() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{path} is not readable JSON ({exc})") from exc
        if cache:
            self._shard_cache[path] = (stamp, data)
            self._shard_cache.move_to_end(path)
            while len(self._shard_cache) > SHARD_CACHE_SIZE:
                self._shard_cache.popitem(last=False)
        return data

    def _read_state_table(self, table: str) -> dict[str, Any]:
        return self._read_json(self.state_path).get(table, {})

    def shard_path(self, case_id: str) -> Path:
        seq = seq_of(case_id)
        if seq is None:
            raise StoreError(f"not a case id: {case_id!r}")
        return self.cases_dir / f"{seq // self.shard_size:06d}.json"

    def get_case(self, case_id: str) -> Case | None:
        if seq_of(case_id) is None:
            return None
        for doc in self._read_json(self.shard_path(case_id)).get("cases", {}).values():
            if doc["case_id"] == case_id:
                return case_from_doc(doc)
        return None

    def iter_cases(self, case_ids: set[str] | None = None) -> Iterator[Case]:
        """Every case, or only ``case_ids`` (reading only the shards that hold them)."""
        if case_ids is None:
            paths = sorted(self.cases_dir.glob("[0-9]*.json"))
        else:
            paths = sorted({self.shard_path(case_id) for case_id in case_ids})
        for path in paths:
            # A sweep over every shard must not push the shards in use out of the cache.
            for doc in self._read_json(path, cache=case_ids is not None).get("cases", {}).values():
                if case_ids is None or doc["case_id"] in case_ids:
                    yield case_from_doc(doc)

    def case_messages(self, case_id: str) -> list[MessageRecord]:
        docs = self._read_json(self.shard_path(case_id)).get("messages", {}).values()
        messages = [message_from_doc(doc) for doc in docs if doc["case_id"] == case_id]
        return sorted(messages, key=lambda m: m.received_at)

    def unfiled_messages(self) -> list[MessageRecord]:
        result: list[MessageRecord] = []
        for path in sorted(self.cases_dir.glob("unfiled-*.json")):
            result.extend(message_from_doc(doc) for doc in self._read_json(path).get("messages", {}).values())
        return result

    def meta(self) -> dict[str, Any]:
        return dict(self._read_state_table("meta").get("1", {}))

    def checkpoint(self, key: str) -> dict[str, Any] | None:
        for doc in self._read_state_table("checkpoints").values():
            if doc["key"] == key:
                return dict(doc)
        return None

    def outbox_entries(self) -> list[dict[str, Any]]:
        return sorted(self._read_state_table("outbox").values(), key=lambda doc: doc["queued_at"])

    def quarantine_entries(self) -> list[dict[str, Any]]:
        return sorted(self._read_state_table("quarantine").values(), key=lambda doc: doc["at"])

    def counter(self, key: str) -> dict[str, Any]:
        return dict(self._counters_by_key().get(key) or {"key": key})

    def counters_older_than(self, horizon: str) -> set[str]:
        """Counters whose newest time is before ``horizon`` (ISO): nothing left to count."""
        return {
            key
            for key, doc in self._counters_by_key().items()
            if max(doc.get("times", []), default="") < horizon
        }

    def _counters_by_key(self) -> dict[str, dict[str, Any]]:
        # One map per version of state.json: a lookup per mail was a scan of every
        # sender's counter, quadratic in an outage spike of distinct senders.
        table = self._read_state_table("counters")
        if self._counter_map[0] is not table:
            self._counter_map = (table, {doc["key"]: doc for doc in table.values()})
        return self._counter_map[1]

    def status(self) -> dict[str, Any]:
        return dict(self._read_state_table("status").get("1", {}))

    # ------------------------------------------------------------ writes

    def commit(self, changes: Changes) -> None:
        """Write a batch as one unit: journal (the commit point), then apply, then drop it."""
        if not changes:
            return
        with self.write_lock():
            operations = self._operations(changes)
            atomic_write(self.journal_path, json.dumps(operations, ensure_ascii=False).encode())
            crash_point("after_journal")
            self._apply(operations)
            self.journal_path.unlink()
            for case in changes.cases.values():
                self.index.add_case(case)
            for message in changes.messages:
                self.index.add_message(message)
            for entry in changes.quarantine.values():
                self.index.message_keys.add(entry["key"])
                if entry.get("raw_sha256"):
                    self.index.hashes.add(entry["raw_sha256"])
            self.index.generation = self._generation_on_disk()

    def _operations(self, changes: Changes) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []

        def put(path: Path, table: str, key: str, doc: dict[str, Any] | None) -> None:
            ops.append({"file": str(path.relative_to(self.root)), "table": table, "key": key, "doc": doc})

        for case in changes.cases.values():
            put(self.shard_path(case.case_id), "cases", case.case_id, case_to_doc(case))
        for message in changes.messages:
            if message.case_id:
                path = self.shard_path(message.case_id)
            else:
                path = self.cases_dir / f"unfiled-{(message.received_at or '0000-00')[:7]}.json"
            put(path, "messages", message.key, message_to_doc(message))
        for outbox_id, entry in changes.outbox.items():
            put(self.state_path, "outbox", outbox_id, entry)
        for outbox_id in changes.outbox_removed:
            put(self.state_path, "outbox", outbox_id, None)
        for entry_id, entry in changes.quarantine.items():
            put(self.state_path, "quarantine", entry_id, entry)
        for entry_id in changes.quarantine_removed:
            put(self.state_path, "quarantine", entry_id, None)
        for key, doc in changes.checkpoints.items():
            put(self.state_path, "checkpoints", key, {**doc, "key": key})
        for key, doc in changes.counters.items():
            put(self.state_path, "counters", key, {**doc, "key": key})
        for key in changes.counters_removed - set(changes.counters):
            put(self.state_path, "counters", key, None)
        meta = self.meta()
        meta["generation"] = int(meta.get("generation", 0)) + 1
        if changes.next_case_seq is not None:
            meta["next_case_seq"] = max(int(meta.get("next_case_seq", 1)), changes.next_case_seq)
        ops.append({"file": "state.json", "table": "meta", "doc_id": 1, "doc": meta})
        if changes.status:
            status = {**self.status(), **changes.status}
            ops.append({"file": "state.json", "table": "status", "doc_id": 1, "doc": status})
        return ops

    def _apply(self, operations: list[dict[str, Any]]) -> None:
        """Apply journal operations file by file; each file is written once, atomically.

        The TinyDB file format is edited directly ({table: {doc_id: doc}}) with one
        key -> doc_id map per table: TinyDB's upsert scans the whole table on every
        call, which made a batch cost O(batch x shard) instead of O(batch + shard).
        """
        by_file: dict[str, list[dict[str, Any]]] = {}
        for op in operations:
            by_file.setdefault(op["file"], []).append(op)
        for relative, ops in by_file.items():
            storage = AtomicJSONStorage(self.root / relative)
            data = storage.read() or {}
            tables: dict[str, KeyedTable] = {}
            for op in ops:
                name = op["table"]
                if name not in tables:
                    tables[name] = KeyedTable(data.setdefault(name, {}))
                table = tables[name]
                if "doc_id" in op:
                    table.put_id(int(op["doc_id"]), op["doc"])
                elif op["doc"] is None:
                    table.remove(op["key"])
                else:
                    table.put(op["key"], {**op["doc"], "key": op["key"]})
            storage.write(data)
            storage.flush()
            self._shard_cache.pop(self.root / relative, None)


__all__ = ["FILE_MODE", "Store", "StoreError", "StoreLocked", "case_to_doc", "message_to_doc", "atomic_write"]

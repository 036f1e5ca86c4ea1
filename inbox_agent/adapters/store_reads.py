"""The store's reads: every file checked whole (``adapters.sealed``) and against the
generation ``state.json`` lists for it, then cached by (inode, mtime, size).

A file is never read as empty unless the store knows it does not exist: a shard
``state.json`` lists must be there and carry the listed generation; a shard it does
not list must not be there. The one tolerated difference is a reader (no lock)
meeting a commit being applied: a shard newer than ``state.json`` while
``journal.json`` exists is the committed future, not damage.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from inbox_agent.adapters.sealed import StoreDamaged, StoreError, read_sealed, unseal
from inbox_agent.adapters.table_encoding import DocumentTexts, TablesEncoder
from inbox_agent.adapters.tinydb_docs import case_from_doc, message_from_doc
from inbox_agent.domain.lifecycle import seq_of
from inbox_agent.domain.model import Case, CaseStatus, MessageRecord
from inbox_agent.services.ports import Index

# Parsed files kept in memory: state.json and the shards in use (the newest cases, a
# thread being answered). A parsed shard of 500 cases takes 5-10 MB; 16 of them were
# most of the daemon's peak memory at 10,000 mails (248 MB; 194 MB with 4).
SHARD_CACHE_SIZE = 4
Stamp = tuple[int, int, int]


class StoreReads:
    shard_cache_size = SHARD_CACHE_SIZE  # a process that reads cases at random keeps more
    root: Path
    cases_dir: Path
    state_path: Path
    journal_path: Path
    shard_size: int
    read_only: bool
    index: Index
    _write_depth: int  # > 0 while this process holds the store's write lock

    def _init_reads(self) -> None:
        # The few shards in use (the newest cases, state.json), least recently used
        # dropped first: caching every shard would hold the whole store in memory.
        self._shard_cache: OrderedDict[Path, tuple[Stamp, int, dict[str, Any]]] = OrderedDict()
        # The JSON of the documents of the files this process writes, for the files
        # the cache holds: a commit re-encodes only what it changed.
        self._encoders: dict[Path, TablesEncoder] = {}
        self._counter_map: tuple[object, dict[str, dict[str, Any]]] = (None, {})
        self._case_index: dict[Path, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}
        self._max_seq = 0  # the highest case number stored: numbering never goes back
        self._empty = False  # read-only view of a data directory never written
        # Cached files checked (stat) while this process held the write lock. Every
        # writer takes that lock, so no other process can replace a file before it is
        # released: they are not checked again until then (the daemon did 4.3 stat calls
        # per mail, mostly state.json and the shard in use, re-checked on every read).
        self._checked_under_lock: set[Path] = set()

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    # ------------------------------------------------------------ checked file reads

    def _read_sealed(self, path: Path, *, cache: bool = True) -> tuple[int, dict[str, Any]] | None:
        """(generation, data) of a whole file, or None when it does not exist."""
        cached = self._shard_cache.get(path)
        if cached and path in self._checked_under_lock:
            self._shard_cache.move_to_end(path)
            return cached[1], cached[2]
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        # Files are only ever replaced by rename, so the inode changes on every write.
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if cached and cached[0] == stamp:
            self._shard_cache.move_to_end(path)
            self._checked(path)
            return cached[1], cached[2]
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        generation, data = unseal(path, self.relative(path), raw)
        if not isinstance(data, dict):
            raise StoreDamaged(path, "its content is not a table map")
        if cache:
            self._cache_put(path, stamp, generation, data)
        return generation, data

    def _checked(self, path: Path) -> None:
        if self._write_depth:
            self._checked_under_lock.add(path)

    def _forget_checks(self) -> None:
        """When the write lock is taken or released, or a write of this process failed
        part-way (a file may have been replaced without being cached)."""
        self._checked_under_lock.clear()

    def _cache_put(self, path: Path, stamp: Stamp, generation: int, data: dict[str, Any]) -> None:
        self._checked(path)
        self._shard_cache[path] = (stamp, generation, data)
        self._shard_cache.move_to_end(path)
        while len(self._shard_cache) > self.shard_cache_size:
            dropped, _ = self._shard_cache.popitem(last=False)
            self._encoders.pop(dropped, None)

    def _encoder(self, path: Path, texts: DocumentTexts | None = None) -> Callable[[Any], bytes]:
        """The JSON encoder of a file about to be written (``adapters.table_encoding``);
        ``texts``: the documents the commit's journal has encoded."""
        encoder = self._encoders.get(path)
        if encoder is None:
            encoder = self._encoders[path] = TablesEncoder()
        return functools.partial(encoder.encode, texts=texts)

    def _read_for_commit(self, path: Path, relative: str) -> tuple[int, Any]:
        """A file a commit is about to rewrite, from the cache when it is current.

        A commit edits the tables it gets (documents are only ever replaced, never
        edited), so it gets its own copy of each table: tables handed to a reader
        earlier never change under it, and a commit that fails part-way leaves the
        cache as the file on disk still is."""
        found = self._read_sealed(path)
        if found is None:
            return read_sealed(path, relative)
        generation, data = found
        return generation, {
            name: dict(rows) if isinstance(rows, dict) else rows for name, rows in data.items()
        }

    def _remember(self, path: Path, generation: int, data: dict[str, Any]) -> None:
        """Cache what this process has just written, under the new file's stamp."""
        stat = path.stat()
        self._cache_put(path, (stat.st_ino, stat.st_mtime_ns, stat.st_size), generation, data)

    def _state(self) -> dict[str, Any]:
        found = self._read_sealed(self.state_path)
        if found is None:
            if self._empty:
                return {}
            raise StoreDamaged(self.state_path, "the file is missing")
        generation, data = found
        stated = data.get("meta", {}).get("1", {}).get("generation")
        if stated != generation:
            raise StoreDamaged(self.state_path, f"header generation {generation}, meta says {stated}")
        return data

    def manifest(self) -> dict[str, int]:
        """Every shard file with the generation of the commit that last wrote it."""
        return dict(self._state().get("meta", {}).get("1", {}).get("files", {}))

    def _read_json(self, path: Path, *, cache: bool = True) -> dict[str, Any]:
        """A shard's tables, checked whole and against the manifest."""
        if path == self.state_path:
            return self._state()
        relative = self.relative(path)
        listed = self.manifest().get(relative)
        found = self._read_sealed(path, cache=cache)
        if found is None:
            if listed is not None:
                raise StoreDamaged(path, f"the file is missing (state.json lists it at commit {listed})")
            return {}
        generation, data = found
        if generation != listed and not self._commit_in_flight(generation):
            if listed is None:
                raise StoreDamaged(path, "state.json does not list it (a foreign or left-over file)")
            raise StoreDamaged(
                path,
                f"it was written by commit {generation} but state.json lists commit {listed} (a stale copy?)",
            )
        return data

    def _commit_in_flight(self, generation: int) -> bool:
        """Only a reader may meet a shard newer than state.json: a writer applied the journal."""
        if not self.read_only or not self.journal_path.exists():
            return False
        return generation > int(self._state().get("meta", {}).get("1", {}).get("generation", 0))

    def shard_files(self, pattern: str = "*.json") -> list[Path]:
        """The shard files there are: those state.json lists, and any other found (refused on read)."""
        listed = {self.root / name for name in self.manifest()}
        found = set(self.cases_dir.glob(pattern)) if self.cases_dir.is_dir() else set()
        return sorted({path for path in listed if path.match(pattern)} | found)

    # ------------------------------------------------------------ the index

    def rebuild_index(self) -> None:
        index = Index()
        max_seq = 0
        for path in self.shard_files():
            data = self._read_json(path, cache=False)
            # Straight from the documents: building a Case and a MessageRecord for each
            # of 100,000 cases only to read three fields of it doubled the start-up time.
            for doc in data.get("cases", {}).values():
                index.add(doc["case_id"], doc["status"] == CaseStatus.RESOLVED, doc.get("message_ids", ()))
                seq = int(doc.get("seq", 0))
                max_seq = max(max_seq, seq)
                if path.stem != f"{seq // self.shard_size:06d}":
                    raise self._misfiled(path, doc["case_id"])
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
        self._max_seq = max_seq

    def _misfiled(self, path: Path, case_id: str) -> StoreError:
        """A case outside the shard its number gives: the store was written with another
        shard size (older stores did not record theirs), or a file was moved."""
        if "shard_size" in self._read_state_table("meta").get("1", {}):
            return StoreDamaged(
                path, f"holds case {case_id}, which belongs in {self.shard_path(case_id).name}"
            )
        return StoreError(
            f"{path} holds case {case_id}, which a shard size of {self.shard_size} puts in "
            f"{self.shard_path(case_id).name}: this store was written with another [storage] shard_size; "
            "set it back to the value it had (500 unless it was changed)"
        )

    def _generation_on_disk(self) -> int:
        return int(self._read_state_table("meta").get("1", {}).get("generation", 0))

    # ------------------------------------------------------------ reads

    def _read_state_table(self, table: str) -> dict[str, Any]:
        return self._state().get(table, {})

    def shard_path(self, case_id: str) -> Path:
        seq = seq_of(case_id)
        if seq is None:
            raise StoreError(f"not a case id: {case_id!r}")
        return self.cases_dir / f"{seq // self.shard_size:06d}.json"

    def shard_cases(self, case_id: str) -> dict[str, dict[str, Any]]:
        """The stored case documents of ``case_id``'s shard, by case id."""
        return self._cases_by_id(self.shard_path(case_id))

    def get_case(self, case_id: str) -> Case | None:
        if seq_of(case_id) is None:
            return None
        doc = self._cases_by_id(self.shard_path(case_id)).get(case_id)
        return case_from_doc(doc) if doc is not None else None

    def _cases_by_id(self, path: Path) -> dict[str, dict[str, Any]]:
        """A shard's case documents by case id, kept while the shard's tables are the
        same object (TinyDB keys them by document number: a scan of up to 500 cases
        per lookup, for every event a batch adds)."""
        data = self._read_json(path)
        cached = self._case_index.get(path)
        if cached is not None and cached[0] is data:
            return cached[1]
        by_id = {doc["case_id"]: doc for doc in data.get("cases", {}).values()}
        self._case_index[path] = (data, by_id)
        # An index holds the tables it was built from: keep only those of the tables the
        # shard cache still holds, or superseded versions of shards stay alive here.
        live = {id(entry[2]) for entry in self._shard_cache.values()}
        for other in [key for key, (tables, _) in self._case_index.items() if id(tables) not in live]:
            if other != path:
                del self._case_index[other]
        return by_id

    def iter_cases(self, case_ids: set[str] | None = None) -> Iterator[Case]:
        """Every case, or only ``case_ids`` (reading only the shards that hold them)."""
        if case_ids is None:
            paths = self.shard_files("[0-9]*.json")
        else:
            paths = sorted({self.shard_path(case_id) for case_id in case_ids})
        for path in paths:
            # A sweep over many shards must not push the shards in use out of the cache.
            for doc in self._read_json(path, cache=len(paths) == 1).get("cases", {}).values():
                if case_ids is None or doc["case_id"] in case_ids:
                    yield case_from_doc(doc)

    def case_messages(self, case_id: str) -> list[MessageRecord]:
        docs = self._read_json(self.shard_path(case_id)).get("messages", {}).values()
        messages = [message_from_doc(doc) for doc in docs if doc["case_id"] == case_id]
        return sorted(messages, key=lambda m: m.received_at)

    def unfiled_messages(self, since: str = "") -> list[MessageRecord]:
        result: list[MessageRecord] = []
        for path in self.shard_files("unfiled-*.json"):
            if path.stem.removeprefix("unfiled-") < since[:7]:  # a month wholly before ``since``
                continue
            docs = self._read_json(path).get("messages", {}).values()
            result.extend(m for m in map(message_from_doc, docs) if m.received_at >= since)
        return result

    def meta(self) -> dict[str, Any]:
        """The store's meta; ``next_case_seq`` is never below a stored case's number."""
        meta = dict(self._read_state_table("meta").get("1", {}))
        meta["next_case_seq"] = max(int(meta.get("next_case_seq", 1)), self._max_seq + 1)
        return meta

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

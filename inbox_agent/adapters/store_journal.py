"""The store's commit record: ``Changes`` turned into journal operations, and their
application file by file.

A journal is one sealed file (``adapters.sealed``) holding the new generation and
the operations. Every file a commit writes carries that generation, and the new
``state.json`` lists the generation of every shard (``meta.files``): a shard that is
missing, stale or foreign is then told apart from a real one. ``state.json`` is
written last, so a reader that finds a shard newer than ``state.json`` knows a commit
is being applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from inbox_agent.adapters.sealed import StoreDamaged, StoreError, read_sealed
from inbox_agent.adapters.tinydb_docs import AtomicJSONStorage, KeyedTable, case_to_doc, message_to_doc
from inbox_agent.domain.model import MessageRecord
from inbox_agent.services.ports import Changes

STATE = "state.json"
Operation = dict[str, Any]


def operations(
    changes: Changes,
    *,
    relative: Callable[[Path], str],
    shard_of: Callable[[str], Path],
    unfiled_dir: Path,
    meta: dict[str, Any],
    status: dict[str, Any],
) -> tuple[int, list[Operation]]:
    """(new generation, operations) for one commit."""
    ops: list[Operation] = []

    def put(name: str, table: str, key: str, doc: dict[str, Any] | None) -> None:
        # The document as the table will hold it: the same object is then encoded once
        # for the journal and the file (adapters.table_encoding).
        ops.append(
            {"file": name, "table": table, "key": key, "doc": None if doc is None else {**doc, "key": key}}
        )

    for case in changes.cases.values():
        put(relative(shard_of(case.case_id)), "cases", case.case_id, case_to_doc(case))

    def unfiled_file(message: MessageRecord) -> str:
        return relative(unfiled_dir / f"unfiled-{(message.received_at or '0000-00')[:7]}.json")

    for message in changes.unfiled_removed:
        put(unfiled_file(message), "messages", message.key, None)
    for message in changes.messages:
        path = relative(shard_of(message.case_id)) if message.case_id else unfiled_file(message)
        put(path, "messages", message.key, message_to_doc(message))
    _state_operations(changes, put)
    generation = int(meta.get("generation", 0)) + 1
    meta = {**meta, "generation": generation}
    files = dict(meta.get("files", {}))
    files.update({op["file"]: generation for op in ops if op["file"] != STATE})
    meta["files"] = files
    if changes.next_case_seq is not None:
        meta["next_case_seq"] = max(int(meta.get("next_case_seq", 1)), changes.next_case_seq)
    ops.append({"file": STATE, "table": "meta", "doc_id": 1, "doc": meta})
    if changes.status:
        ops.append({"file": STATE, "table": "status", "doc_id": 1, "doc": {**status, **changes.status}})
    return generation, ops


def _state_operations(changes: Changes, put: Callable[[str, str, str, dict[str, Any] | None], None]) -> None:
    state = STATE
    for outbox_id, entry in changes.outbox.items():
        put(state, "outbox", outbox_id, entry)
    for outbox_id in changes.outbox_removed:
        put(state, "outbox", outbox_id, None)
    for entry_id, entry in changes.quarantine.items():
        put(state, "quarantine", entry_id, entry)
    for entry_id in changes.quarantine_removed:
        put(state, "quarantine", entry_id, None)
    for key, doc in changes.checkpoints.items():
        put(state, "checkpoints", key, {**doc, "key": key})
    for key, doc in changes.counters.items():
        put(state, "counters", key, {**doc, "key": key})
    for key in changes.counters_removed - set(changes.counters):
        put(state, "counters", key, None)


def apply(
    root: Path,
    generation: int,
    ops: list[Operation],
    listed: Mapping[str, int],
    reader: Callable[[Path, str], tuple[int, Any]] = read_sealed,
    encoder: Callable[[Path], Callable[[Any], bytes]] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """Apply journal operations file by file, ``state.json`` last; each file is written
    once, atomically, sealed with ``generation``. ``listed`` is the manifest before the
    commit: a listed file must be there and whole. ``reader`` reads a file's current
    version (the store passes its cache), ``encoder`` gives a file's JSON encoder (the
    store's, which reuses the encoding of unchanged documents). Returns each file
    written with its tables.

    The TinyDB file format is edited directly ({table: {doc_id: doc}}) with one
    key -> doc_id map per table: TinyDB's upsert scans the whole table on every
    call, which made a batch cost O(batch x shard) instead of O(batch + shard).
    """
    by_file: dict[str, list[Operation]] = {}
    for op in ops:
        by_file.setdefault(op["file"], []).append(op)
    order = sorted(by_file, key=lambda name: name == STATE)  # stable: state.json last
    written: list[tuple[str, dict[str, Any]]] = []
    for name in order:
        storage = AtomicJSONStorage(
            root / name,
            name,
            generation,
            exists=name in listed or name == STATE,
            reader=reader,
            encode=encoder(root / name) if encoder else None,
        )
        data = storage.read() or {}
        found = storage.found_generation
        # Replaying a journal after a crash finds files it already wrote (same generation).
        if found is not None and found > generation:
            raise StoreDamaged(
                root / name, f"written by commit {found}, newer than the journal's {generation}"
            )
        _apply_to(data, by_file[name])
        storage.write(data)
        storage.flush()
        written.append((name, data))
    return written


def _apply_to(data: dict[str, Any], ops: list[Operation]) -> None:
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
        else:  # a journal written before operations carried the key lacks it
            doc = op["doc"]
            table.put(op["key"], doc if doc.get("key") == op["key"] else {**doc, "key": op["key"]})


def refuse_clashes(
    changes: Changes, is_stored: Callable[[str], bool], stored_cases: Callable[[str], Mapping[str, Any]]
) -> None:
    """A case id that already belongs to another case is never overwritten.

    ``is_stored(case_id)``: the index knows the case; ``stored_cases(case_id)``: the
    stored documents of that case's shard by id (a batch touches few shards: each is
    read once here). The same case keeps its customer and creation time.
    """
    shards: list[Mapping[str, Any]] = []
    for case in changes.cases.values():
        if not is_stored(case.case_id):
            continue
        docs = next((shard for shard in shards if case.case_id in shard), None)
        if docs is None:
            docs = stored_cases(case.case_id)
            shards.append(docs)
        stored = docs.get(case.case_id)
        if stored is None:
            continue
        if stored.get("customer") != case.customer or stored.get("created_at") != case.created_at:
            raise StoreError(
                f"case id clash: {case.case_id} already belongs to the case opened {stored.get('created_at')}; "
                "refusing to overwrite it (run `inbox-agent verify`)"
            )

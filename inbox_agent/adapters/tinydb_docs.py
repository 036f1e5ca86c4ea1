"""The TinyDB store's files: sealed atomic JSON storage, keyed tables, and the mapping
between records and JSON documents."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from inbox_agent.adapters.files import write_atomically
from inbox_agent.adapters.sealed import StoreDamaged, read_sealed, seal
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord
from inbox_agent.services.crash_points import crash_point, write_point

DIR_MODE = 0o700
FILE_MODE = 0o600


# ---------------------------------------------------------------- files


def ensure_dir(path: Path) -> Path:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return path


def atomic_write(path: Path, data: bytes, *, point: str = "store_write") -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never a mix.
    ``point`` names the write for the fault tests (services/crash_points.py)."""
    write_point(point)
    ensure_dir(path.parent)
    write_atomically(path, data, mid_write=lambda: crash_point("store_mid_write"))


class AtomicJSONStorage(Storage):
    """TinyDB storage of one sealed file (``adapters.sealed``): read and checked once,
    kept in memory, written atomically on ``flush`` at the given generation.

    TinyDB writes through its storage on every single operation; buffering turns a
    batch of upserts into one file write.
    """

    def __init__(
        self,
        path: str | Path,
        relative: str,
        generation: int,
        *,
        exists: bool = True,
        reader: Callable[[Path, str], tuple[int, Any]] = read_sealed,
        encode: Callable[[Any], bytes] | None = None,
    ) -> None:
        self.path = Path(path)
        self._reader = reader  # (path, relative) -> (generation, data); the store's cache
        self._encode = encode  # the body's JSON, reusing what is unchanged (the store's)
        self.relative = relative
        self.generation = generation
        self.found_generation: int | None = None  # of the version read, None for a new file
        self._exists = exists  # False: a file the store has not written yet (a new shard)
        self._data: dict[str, dict[str, Any]] | None = None
        self.dirty = False

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._data is None:
            if not self._exists and not self.path.exists():
                self._data = {}
            else:
                self.found_generation, data = self._reader(self.path, self.relative)
                if not isinstance(data, dict):
                    raise StoreDamaged(self.path, "its content is not a table map")
                self._data = data
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data
        self.dirty = True

    def flush(self) -> None:
        if self.dirty and self._data is not None:
            atomic_write(self.path, seal(self.relative, self.generation, self._data, self._encode))
            self.dirty = False

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- (de)serialisation


# Field names once: dataclasses.asdict deep-copies every value and was a tenth of
# the cost of a commit. The values are str/int/float or tuples of them, which JSON
# writes as lists; only the events are dataclasses themselves.
_CASE_FIELDS = tuple(f.name for f in fields(Case))
_EVENT_FIELDS = tuple(f.name for f in fields(Event))
# A message's flags are written only when it has any (retention's mark on mail of no
# case): every other message's document stays as it was, byte for byte.
# Written only when set: most messages have neither, and older files lack them.
_OPTIONAL_MESSAGE_FIELDS = ("flags", "skip_detail")
_MESSAGE_FIELDS = tuple(f.name for f in fields(MessageRecord) if f.name not in _OPTIONAL_MESSAGE_FIELDS)


def case_to_doc(case: Case) -> dict[str, Any]:
    doc = {name: getattr(case, name) for name in _CASE_FIELDS}
    doc["status"] = str(case.status)
    doc["events"] = [{name: getattr(event, name) for name in _EVENT_FIELDS} for event in case.events]
    return doc


def case_from_doc(doc: Mapping[str, Any]) -> Case:
    data = dict(doc)
    data.pop("key", None)  # the TinyDB lookup key, equal to case_id
    data["status"] = CaseStatus(data["status"])
    for key in ("categories", "message_ids", "missing", "flags"):
        data[key] = tuple(data.get(key, ()))
    for key in ("matched", "evidence"):
        data[key] = tuple(tuple(pair) for pair in data.get(key, ()))
    data["events"] = tuple(Event(**event) for event in data.get("events", ()))
    return Case(**data)


def message_to_doc(message: MessageRecord) -> dict[str, Any]:
    doc = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
    for name in _OPTIONAL_MESSAGE_FIELDS:
        if getattr(message, name):
            doc[name] = getattr(message, name)
    return doc


def message_from_doc(doc: Mapping[str, Any]) -> MessageRecord:
    data = dict(doc)
    data["evidence"] = tuple(tuple(pair) for pair in data.get("evidence", ()))
    data["attachments"] = tuple(tuple(item) for item in data.get("attachments", ()))
    data["defects"] = tuple(data.get("defects", ()))
    data["flags"] = tuple(data.get("flags", ()))
    return MessageRecord(**data)


class KeyedTable:
    """One TinyDB table's documents, addressed by their ``key`` field."""

    def __init__(self, rows: dict[str, dict[str, Any]]) -> None:
        self.rows = rows
        self.ids = {doc.get("key"): doc_id for doc_id, doc in rows.items() if "key" in doc}
        self.next_id = max((int(doc_id) for doc_id in rows), default=0) + 1

    def put(self, key: str, doc: dict[str, Any]) -> None:
        doc_id = self.ids.get(key)
        if doc_id is None:
            doc_id = str(self.next_id)
            self.next_id += 1
            self.ids[key] = doc_id
        self.rows[doc_id] = doc

    def put_id(self, doc_id: int, doc: dict[str, Any]) -> None:
        self.rows[str(doc_id)] = doc
        self.next_id = max(self.next_id, doc_id + 1)

    def remove(self, key: str) -> None:
        doc_id = self.ids.pop(key, None)
        if doc_id is not None:
            self.rows.pop(doc_id, None)

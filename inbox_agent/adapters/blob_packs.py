"""Packs: a batch's blobs (raw mails, outgoing mails) in one file, ``raw/packs/*.pack``.

Why one file per batch and not one per blob: creating a file is the dearest thing the
daemon asks of the kernel. On ext4 without a journal, right after many files were
deleted, each new inode costs 0.3-0.6 ms of kernel CPU (docs/MEASUREMENTS.md, issue 16's ninth round); a batch
of 200 mails wrote some 400 files. A pack is written like every store file: a temp
file, synced, renamed, synced, so it is whole or absent, and nothing refers to its
blobs until the commit after it.

Layout: the blobs' bytes one after another, then one 48-byte entry per blob (SHA-256
digest, offset, length), then a 16-byte tail (the entry count, ``MAGIC``). The tail
and the entries are checked whole when a pack is read; a blob is checked against its
hash on every read.

A pack never changes except by erasure (retention): it is written again without the
erased blobs, or removed when nothing is left in it. That happens under the store's
write lock, like every write; another process (the web app, ``backup``) that still
holds the old offsets finds its read fail the hash check, reads the pack's entries
again and retries once.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"IAPACK01"
ENTRY = struct.Struct("<32sQQ")  # digest, offset, length
TAIL = struct.Struct("<Q8s")  # entry count, magic
SUFFIX = ".pack"


class PackUnreadable(Exception):
    """A pack's entries or tail are damaged: none of its blobs can be trusted by offset."""


@dataclass(frozen=True)
class Slot:
    """Where one blob's bytes are: the pack's file name, offset and length."""

    pack: str
    offset: int
    length: int


@dataclass(frozen=True)
class Packed:
    # The pack file's bytes in order: the mails as the batch holds them, then the table
    # and the tail. Written one after another, never joined: a batch of large mails is
    # not copied into one more buffer.
    chunks: tuple[bytes, ...]
    entries: dict[str, tuple[int, int]]  # sha -> (offset, length)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def pack(blobs: Mapping[str, bytes]) -> Packed:
    """A pack holding ``blobs`` (SHA-256 hex -> bytes)."""
    entries: dict[str, tuple[int, int]] = {}
    table: list[bytes] = []
    offset = 0
    for sha, data in blobs.items():
        entries[sha] = (offset, len(data))
        table.append(ENTRY.pack(bytes.fromhex(sha), offset, len(data)))
        offset += len(data)
    return Packed((*blobs.values(), b"".join(table), TAIL.pack(len(table), MAGIC)), entries)


def read_table(path: Path) -> Any:
    """The entries of the pack at ``path`` as a numpy record array (``digest``,
    ``offset``, ``length``), checked whole: the tail, the count, and blobs that follow
    one another from offset 0 up to the table. Raises ``PackUnreadable`` naming what
    is wrong; ``OSError`` as the file system gives it."""
    import numpy as np  # here: only a store that reads packs pays for the import

    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < TAIL.size:
            raise PackUnreadable(f"{size} bytes, shorter than a pack's tail")
        handle.seek(size - TAIL.size)
        count, magic = TAIL.unpack(_read_exactly(handle, TAIL.size))
        if magic != MAGIC:
            raise PackUnreadable("its tail is not a pack's (truncated, altered or foreign)")
        if count * ENTRY.size > size - TAIL.size:
            raise PackUnreadable(f"its tail names {count} blobs, more than its {size} bytes can hold")
        data_end = size - TAIL.size - count * ENTRY.size
        handle.seek(data_end)
        table = np.frombuffer(_read_exactly(handle, count * ENTRY.size), dtype=_table_dtype())
    ends = table["offset"] + table["length"]
    starts_ok = count == 0 or (table["offset"][0] == 0 and bool(np.all(table["offset"][1:] == ends[:-1])))
    if not starts_ok or (int(ends[-1]) if count else 0) != data_end:
        raise PackUnreadable("its entries do not point at its blobs one after another (altered)")
    return table


def _read_exactly(handle: BinaryIO, size: int) -> bytes:
    """``size`` bytes, or ``PackUnreadable``: a pack is never cut in place by us (it
    is replaced whole), so a short read means something else truncated it."""
    data = handle.read(size)
    if len(data) != size:
        raise PackUnreadable(f"cut short while being read ({len(data)} of {size} bytes)")
    return data


def read_entries(path: Path) -> dict[str, tuple[int, int]]:
    """SHA-256 hex -> (offset, length) of every blob in the pack at ``path``."""
    table = read_table(path)
    digests = table["digest"].tobytes()  # whole: a bytes field would drop trailing zero bytes
    return {
        digests[index * 32 : index * 32 + 32].hex(): (offset, length)
        for index, (offset, length) in enumerate(
            zip(table["offset"].tolist(), table["length"].tolist(), strict=True)
        )
    }


def _table_dtype() -> Any:
    import numpy as np

    return np.dtype([("digest", "V32"), ("offset", "<u8"), ("length", "<u8")])


def new_pack_name() -> str:
    """Unique among writers: time, process and a random part (sortable by time)."""
    return f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:12]}{SUFFIX}"


class PackIndex:
    """Which pack holds which blob, read from the packs' tables and kept in memory as
    sorted numpy columns: 36 bytes per blob (the first 8 bytes of its hash, twice:
    once contiguous for the search; the pack, offset and length), so the index of a
    store of a million mails takes about 41 MB, where a dict keyed by hash took 197
    (measured with tracemalloc); a lookup there takes about 0.02 ms. A lookup finds every slot whose hash
    starts the same way; the reader checks the whole hash on the bytes it reads.

    Refreshed from the folder when a lookup misses (another process wrote a pack, or
    rewrote one by erasure): a file's inode number tells a rewritten pack from one
    already read. A pack that cannot be read is listed in ``damaged`` with the reason,
    so a missing blob is reported with its likely cause. Safe to share between
    threads (the web app's)."""

    MERGE_AT = 4096  # slots kept in a dict before they are merged into the sorted columns

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.damaged: dict[str, str] = {}  # pack name -> why it cannot be read
        self._names: list[str] = []  # pack number -> name (numbers are never reused)
        self._numbers: dict[str, int] = {}  # readable pack name -> number
        self._inodes: dict[str, int] = {}  # pack name -> inode read (readable or damaged)
        self._columns: Any = None  # sorted record array: key, pack, offset, length
        self._keys: Any = None  # its keys, contiguous (what a lookup searches)
        self._recent: dict[int, list[tuple[int, int, int]]] = {}  # key -> (pack, offset, length)
        self._recent_count = 0
        self._read_tables: list[Any] = []  # columns of packs read since the last merge
        self._loaded = False
        self._lock = threading.RLock()

    def slots(self, sha: str, *, refresh: bool = False) -> list[Slot]:
        """Every slot whose hash starts as ``sha`` does (normally one, or none)."""
        with self._lock:
            if refresh or not self._loaded:
                self.refresh()
            key = _key(sha)
            found = list(self._recent.get(key, ()))
            columns = self._columns
            if columns is not None and len(columns):
                import numpy as np

                wanted = np.uint64(key)
                # On the contiguous copy of the keys: given a field of the record
                # array, searchsorted would copy the whole column on every lookup.
                low = int(np.searchsorted(self._keys, wanted, "left"))
                high = int(np.searchsorted(self._keys, wanted, "right"))
                rows = columns[low:high]
                found += zip(
                    rows["pack"].tolist(), rows["offset"].tolist(), rows["length"].tolist(), strict=True
                )
            return [Slot(self._names[number], offset, length) for number, offset, length in found]

    def packs(self) -> list[str]:
        """The readable packs, as last read."""
        with self._lock:
            if not self._loaded:
                self.refresh()
            return sorted(self._numbers)

    def refresh(self) -> None:
        """Read the packs that are new or rewritten since the last look; forget gone ones."""
        with self._lock:
            self._loaded = True
            current: dict[str, int] = {}
            with contextlib.suppress(FileNotFoundError), os.scandir(self.folder) as listing:
                current = {
                    entry.name: entry.inode()
                    for entry in listing
                    if entry.name.endswith(SUFFIX) and not entry.name.startswith(".")
                }
            for name in [name for name, inode in self._inodes.items() if current.get(name) != inode]:
                self.forget(name)
            for name in sorted(current):
                if self._inodes.get(name) != current[name]:
                    self._read(name, current[name])
            self._merge()

    def added(self, name: str, inode: int, entries: Mapping[str, tuple[int, int]]) -> None:
        """A pack this process just wrote: known without reading it back."""
        with self._lock:
            number = self._number(name, inode)
            for sha, (offset, length) in entries.items():
                self._recent.setdefault(_key(sha), []).append((number, offset, length))
            self._recent_count += len(entries)
            if self._recent_count >= self.MERGE_AT:
                self._merge()

    def forget(self, name: str) -> None:
        with self._lock:
            self._inodes.pop(name, None)
            self.damaged.pop(name, None)
            number = self._numbers.pop(name, None)
            if number is None:
                return
            if self._columns is not None:
                self._set_columns(self._columns[self._columns["pack"] != number])
            self._read_tables = [table[table["pack"] != number] for table in self._read_tables]
            for key in list(self._recent):
                kept = [slot for slot in self._recent[key] if slot[0] != number]
                self._recent_count -= len(self._recent[key]) - len(kept)
                if kept:
                    self._recent[key] = kept
                else:
                    del self._recent[key]

    def _number(self, name: str, inode: int) -> int:
        self.forget(name)
        self._inodes[name] = inode
        self._numbers[name] = len(self._names)
        self._names.append(name)
        return self._numbers[name]

    def _read(self, name: str, inode: int) -> None:
        try:
            table = read_table(self.folder / name)
        except FileNotFoundError:
            return  # removed meanwhile (erasure): nothing of it to find
        except (OSError, PackUnreadable) as exc:
            self.forget(name)
            self.damaged[name] = str(exc)
            self._inodes[name] = inode
            return
        self._read_tables.append(_columns_of(table, self._number(name, inode)))

    def _merge(self) -> None:
        """The packs read and the recent slots into the sorted columns: one sort per
        refresh, or per ``MERGE_AT`` slots written (not one per pack or batch)."""
        if not self._recent and not self._read_tables:
            return
        import numpy as np

        rows = [(key, *slot) for key, slots in self._recent.items() for slot in slots]
        parts = [*([self._columns] if self._columns is not None else []), *self._read_tables]
        parts.append(np.array(rows, dtype=_columns_dtype()))
        self._recent, self._recent_count, self._read_tables = {}, 0, []
        merged = np.concatenate(parts)
        self._set_columns(merged[np.argsort(merged["key"], kind="stable")])

    def _set_columns(self, columns: Any) -> None:
        import numpy as np

        self._columns = columns
        self._keys = np.ascontiguousarray(columns["key"])


def _key(sha: str) -> int:
    """The first 8 bytes of a hash, as the index sorts them."""
    return int(sha[:16], 16)


def _columns_dtype() -> Any:
    import numpy as np

    return np.dtype([("key", "<u8"), ("pack", "<u4"), ("offset", "<u8"), ("length", "<u8")])


def _columns_of(table: Any, number: int) -> Any:
    import numpy as np

    columns = np.empty(len(table), dtype=_columns_dtype())
    columns["key"] = np.frombuffer(table["digest"].tobytes(), dtype=">u8")[::4] if len(table) else []
    columns["pack"] = number
    columns["offset"] = table["offset"]
    columns["length"] = table["length"]
    return columns


def read_slot(folder: Path, slot: Slot) -> bytes:
    """The bytes at ``slot`` (fewer when the pack was cut short: the caller's hash check
    catches that). ``FileNotFoundError`` when the pack is gone."""
    descriptor = os.open(folder / slot.pack, os.O_RDONLY)
    try:
        return os.pread(descriptor, slot.length, slot.offset)
    finally:
        os.close(descriptor)


def split(path: Path, doomed: Iterable[str]) -> tuple[set[str], dict[str, bytes]]:
    """(the ``doomed`` blobs the pack at ``path`` holds, the blobs it keeps). The kept
    bytes are read only when something is to go."""
    entries = read_entries(path)
    gone = set(doomed) & entries.keys()
    if not gone:
        return gone, {}
    data = path.read_bytes()
    kept = {sha: data[start : start + size] for sha, (start, size) in entries.items() if sha not in gone}
    return gone, kept

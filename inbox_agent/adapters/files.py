"""Durable file writes shared by the store, the directory transport and the append-only logs."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any


def write_atomically(path: Path, data: bytes, *, mid_write: Callable[[], None] | None = None) -> None:
    """``path`` holds either the old or the new content, never a mix, even after a
    crash or power loss. The file is created 0600 (mkstemp); ``mid_write`` runs after
    the bytes are written and before they are synced (the store's crash point)."""
    # Dot-prefixed temp name in the same folder: os.replace stays on one file system,
    # and whoever collects the folder's files never picks up a half-written one.
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            if mid_write is not None:
                mid_write()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_dir(path.parent)


def append_json_line(path: Path, record: dict[str, Any]) -> None:
    """One JSON object as one line, appended (O_APPEND, 0600) and fsynced before this
    returns: the record is on disk before whatever it records is acknowledged."""
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def whole_json_lines(data: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, its JSON value, or None when it is not JSON) for each non-blank
    line of an append-only log. The part after the last newline is left out: a line a
    crash cut off mid-append, never acknowledged."""
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError:  # UnicodeDecodeError included
            yield number, None


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_group_atomically(
    items: Sequence[tuple[Path, bytes | Sequence[bytes]]],
    *,
    mid_write: Callable[[], None] | None = None,
    after_rename: Callable[[], None] | None = None,
) -> None:
    """Many new files, each either absent or whole, with two syncs for the whole group
    instead of two fsyncs per file (``write_atomically``): every temp file is written,
    one sync makes all their bytes durable, every temp file is renamed to its name, one
    more sync makes the names durable. Only for files nothing references yet (a batch's
    blobs before its commit): until the second sync returns, a power loss may drop a
    name, never leave a name on partial bytes."""
    if not items:
        return
    temps: list[tuple[str, Path]] = []
    renamed = 0
    try:
        for path, data in items:
            handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((temp_name, path))
            with os.fdopen(handle, "wb") as temp:
                temp.writelines((data,) if isinstance(data, bytes) else data)  # a pack comes in chunks
                temp.flush()
                if mid_write is not None:
                    mid_write()
        sync_file_system(items[0][0].parent, [temp for temp, _ in temps])
        for temp_name, path in temps:
            os.replace(temp_name, path)
            renamed += 1
        if after_rename is not None:
            after_rename()
    except BaseException:
        for temp_name, _ in temps[renamed:]:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
        raise
    sync_file_system(items[0][0].parent, sorted({str(path.parent) for path, _ in items}))


def sync_file_system(anchor: Path, paths: Sequence[str]) -> None:
    """Make every pending write of ``paths`` durable: one ``syncfs`` of the file system
    that holds ``anchor`` (Linux), else an fsync of each path (files and folders)."""
    if _syncfs is not None:
        descriptor = os.open(anchor, os.O_RDONLY)
        try:
            if _syncfs(descriptor) == 0:
                return
        finally:
            os.close(descriptor)
    for name in paths:
        descriptor = os.open(name, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _load_syncfs() -> Callable[[int], int] | None:
    """libc's syncfs(2) when this platform has one (Linux >= 2.6.39), else None."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syncfs  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs()

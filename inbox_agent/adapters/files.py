"""Durable file writes shared by the store and the directory transport."""

from __future__ import annotations

import contextlib
import ctypes
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path


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


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_group_atomically(
    items: Sequence[tuple[Path, bytes]],
    *,
    before_each: Callable[[], None] | None = None,
    mid_write: Callable[[], None] | None = None,
    after_rename: Callable[[], None] | None = None,
) -> None:
    """Many new files, each either absent or whole, with two syncs for the whole group
    instead of two fsyncs per file (``write_atomically``): every file's bytes are
    written, one sync makes them durable, every file gets its name, one more sync makes
    the names durable. Only for files nothing references yet (a batch's blobs before
    its commit): until the second sync returns, a power loss may drop a name, never
    leave a name on partial bytes. A name already taken is left as it is (the files are
    content-addressed: same name, same bytes).

    On Linux the files are written unnamed (``O_TMPFILE``) and linked to their names
    after the first sync: no temp name to create and rename away, and a crash leaves
    nothing behind. Elsewhere (or on a file system without it) temp files are renamed.
    ``after_rename`` runs once every name is in place, before the second sync."""
    if not items:
        return
    if _unnamed_files_work(items[0][0].parent):
        for start in range(0, len(items), _OPEN_AT_ONCE):
            _write_linked(items[start : start + _OPEN_AT_ONCE], before_each, mid_write, after_rename)
        return
    _write_renamed(items, before_each, mid_write, after_rename)


# Unnamed files stay open until they are linked: at most this many at a time (each
# group costs its own two syncs), far below the usual limit of 1,024 descriptors.
_OPEN_AT_ONCE = 256


def _write_linked(
    items: Sequence[tuple[Path, bytes]],
    before_each: Callable[[], None] | None,
    mid_write: Callable[[], None] | None,
    after_link: Callable[[], None] | None,
) -> None:
    opened: list[tuple[int, Path]] = []
    try:
        for path, data in items:
            if before_each is not None:
                before_each()
            descriptor = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o600)
            opened.append((descriptor, path))
            _write_all(descriptor, data)
            if mid_write is not None:
                mid_write()
        if not _sync_file_system_of(items[0][0].parent):
            for descriptor, _ in opened:
                os.fsync(descriptor)
        for descriptor, path in opened:
            with contextlib.suppress(FileExistsError):  # already stored: the same bytes
                _link_unnamed(descriptor, path)
        if after_link is not None:
            after_link()
    finally:
        for descriptor, _ in opened:
            os.close(descriptor)
    sync_file_system(items[0][0].parent, sorted({str(path.parent) for path, _ in items}))


def _link_unnamed(descriptor: int, path: Path) -> None:
    """Give the unnamed file open as ``descriptor`` the name ``path``: linkat(2) with
    AT_SYMLINK_FOLLOW through /proc. A folder descriptor is passed because without one
    os.link calls link(2), which does not follow the /proc link (EXDEV)."""
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{descriptor}", path.name, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


_unnamed_support: dict[int, bool] = {}  # file system (st_dev) -> O_TMPFILE and linking work


def _unnamed_files_work(folder: Path) -> bool:
    """Whether unnamed files can be made in ``folder`` and linked (Linux with /proc, on a
    file system that has O_TMPFILE: ext4, xfs, btrfs, tmpfs). Tried once per file system."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return False
    device = os.stat(folder).st_dev
    if device not in _unnamed_support:
        probe = folder / f".unnamed-file-probe.{os.getpid()}"
        try:
            descriptor = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
            try:
                _link_unnamed(descriptor, probe)
            finally:
                os.close(descriptor)
            os.unlink(probe)
            _unnamed_support[device] = True
        except OSError:  # EOPNOTSUPP, EISDIR, EINVAL, EXDEV: an older kernel, another file system
            with contextlib.suppress(OSError):
                os.unlink(probe)
            _unnamed_support[device] = False
    return _unnamed_support[device]


def _write_renamed(
    items: Sequence[tuple[Path, bytes]],
    before_each: Callable[[], None] | None,
    mid_write: Callable[[], None] | None,
    after_rename: Callable[[], None] | None,
) -> None:
    temps: list[tuple[str, Path]] = []
    renamed = 0
    try:
        for path, data in items:
            if before_each is not None:
                before_each()
            handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((temp_name, path))
            with os.fdopen(handle, "wb") as temp:
                temp.write(data)
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
    if _sync_file_system_of(anchor):
        return
    for name in paths:
        descriptor = os.open(name, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _sync_file_system_of(anchor: Path) -> bool:
    """``syncfs`` of the file system holding ``anchor``; False where there is none."""
    if _syncfs is None:
        return False
    descriptor = os.open(anchor, os.O_RDONLY)
    try:
        return bool(_syncfs(descriptor) == 0)
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

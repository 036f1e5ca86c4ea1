"""`backup DEST` and `restore SRC`: a consistent copy of the data directory, and back.

Backup while the daemon runs: raw mail and attachments change only by erasure
(retention), under the store's write lock, so they are copied first without the
lock; then, under it — which also applies any pending journal — the JSON files, the
accepted-mail log, the files written meanwhile, the packs retention wrote again
(shorter) and, gone from the copy, the packs it removed. The daemon waits for that
short second step at most. The copy is built in ``DEST.partial`` and renamed when
whole, then verified: a cut-off backup never looks like a finished one. The files kept
beside the store (staff accounts, the web audit log, corrections, applied models:
``side_files.py``) are copied last, without the lock.

Restore: the source must verify clean; no daemon may run; the current data directory
is renamed aside (``<data_dir>.replaced-<time>``, never deleted) and the backup copied
in its place, with the side files of the replaced directory that the backup lacks.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from inbox_agent.adapters.files import fsync_dir
from inbox_agent.adapters.sealed import StoreError
from inbox_agent.adapters.side_files import carry_missing_side_files, copy_side_files
from inbox_agent.adapters.store_verify import VerifyReport, verify
from inbox_agent.adapters.tinydb_docs import DIR_MODE, FILE_MODE
from inbox_agent.adapters.tinydb_store import Store, lock_daemon

IMMUTABLE = ("raw", "attachments")  # changed only by erasure: copied without the lock first
LOCKED = ("state.json", "cases", "outbox-sent.log", "quarantine-dropped.log")
SKIPPED = {"daemon.lock", "write.lock", "journal.json"}


def backup(store: Store, dest: Path) -> VerifyReport:
    dest = Path(dest)
    _refuse_non_empty(dest)
    partial = dest.with_name(dest.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)  # our own left-over from an interrupted backup
    partial.mkdir(mode=DIR_MODE, parents=True)
    for name in IMMUTABLE:
        _copy(store.root / name, partial / name)
    with store.write_lock():
        for name in LOCKED:
            _copy(store.root / name, partial / name)
        for name in IMMUTABLE:  # what was written or erased since the first pass
            _copy(store.root / name, partial / name, keep_existing=True)
        _drop_removed(store.packs_dir, partial / store.packs_dir.relative_to(store.root))
    copy_side_files(store.root, partial)  # written outside the store's lock: the daemon need not wait
    if dest.exists():
        dest.rmdir()
    os.replace(partial, dest)
    fsync_dir(dest.parent)
    return verify(dest, shard_size=store.shard_size)


def restore(source: Path, data_dir: Path, *, shard_size: int = 500) -> tuple[VerifyReport, Path | None]:
    """(the source's verify report, where the replaced data directory was moved)."""
    report = verify(Path(source), shard_size=shard_size)
    if not report.clean:
        return report, None
    data_dir = Path(data_dir)
    aside: Path | None = None
    if data_dir.exists():
        lock = lock_daemon(data_dir)  # StoreLocked while a daemon runs; the data may be damaged
        try:
            aside = data_dir.with_name(f"{data_dir.name}.replaced-{time.strftime('%Y%m%dT%H%M%S')}")
            os.replace(data_dir, aside)
        finally:
            os.close(lock)
    partial = data_dir.with_name(data_dir.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(mode=DIR_MODE, parents=True)
    for child in Path(source).iterdir():
        if child.name not in SKIPPED:
            _copy(child, partial / child.name)
    if aside is not None:
        for name in carry_missing_side_files(aside, partial):
            report.notes.append(
                f"{name}: not in the backup (made by an earlier version); kept the replaced one"
            )
    os.replace(partial, data_dir)
    fsync_dir(data_dir.parent)
    return report, aside


def _refuse_non_empty(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StoreError(f"backup destination {dest} exists and is not empty; give a new folder")


def _copy(source: Path, target: Path, *, keep_existing: bool = False) -> None:
    """Copy a file or a tree (0600 files, 0700 folders), skipping temp files and files
    that vanish meanwhile (retention may delete raw mail). ``keep_existing``: a file
    already copied is left alone while its size is unchanged (named by content, or a
    pack: erasure only ever makes one shorter)."""
    if source.is_dir():
        target.mkdir(mode=DIR_MODE, exist_ok=True)
        for child in source.iterdir():
            if child.name not in SKIPPED and not child.name.startswith("."):
                _copy(child, target / child.name, keep_existing=keep_existing)
        return
    try:
        if keep_existing and target.exists() and target.stat().st_size == source.stat().st_size:
            return  # same name, same size: the same bytes (a pack rewritten by erasure is shorter)
        shutil.copyfile(source, target)
    except FileNotFoundError:
        return
    os.chmod(target, FILE_MODE)


def _drop_removed(source: Path, target: Path) -> None:
    """Packs copied in the first pass that retention removed since: not kept in the copy."""
    if not target.is_dir():
        return
    for copied in target.iterdir():
        if not (source / copied.name).exists():
            copied.unlink()

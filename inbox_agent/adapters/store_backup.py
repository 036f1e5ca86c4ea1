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

Restore: the source must be a backup (a folder holding ``state.json``) and verify
clean; no daemon may run; the backup is copied whole beside the data directory, with
the side files of the live directory that the backup lacks, and only then is the live
directory renamed aside (``<data_dir>.replaced-<time>``, never deleted) and the copy
renamed into its place.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from inbox_agent.adapters.files import fsync_dir
from inbox_agent.adapters.sealed import StoreError
from inbox_agent.adapters.side_files import carry_missing_side_files, copy_side_files
from inbox_agent.adapters.store_journal import STATE
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


class NotABackup(Exception):
    """The restore source is no backup at all: missing, not a folder, the data directory
    itself, or a folder without a store. Refused before anything is touched."""


def restore(source: Path, data_dir: Path, *, shard_size: int = 500) -> tuple[VerifyReport, Path | None]:
    """(the source's verify report, where the replaced data directory was moved).

    The new data directory is built whole beside the live one first; only then is the
    live one renamed aside and the copy renamed in, so a source that cannot be read,
    a full disk or an interrupted copy leaves the live data where it was."""
    source, data_dir = Path(source), Path(data_dir)
    _refuse_not_a_backup(source, data_dir)
    report = verify(source, shard_size=shard_size)
    if not report.clean:
        return report, None
    # Refused while a daemon runs (StoreLocked), and held so none starts until the swap.
    lock = lock_daemon(data_dir) if data_dir.exists() else None
    try:
        partial = _build_copy(source, data_dir)
        if data_dir.exists():
            for name in carry_missing_side_files(data_dir, partial):
                report.notes.append(
                    f"{name}: not in the backup (made by an earlier version); kept the replaced one"
                )
        aside = _swap_in(partial, data_dir)
    finally:
        if lock is not None:
            os.close(lock)
    return report, aside


def _refuse_not_a_backup(source: Path, data_dir: Path) -> None:
    """A wrong path must not cost the live data: a missing or empty folder verifies
    "clean" (nothing in it is damaged), yet restoring it would leave an empty store
    that hands out case numbers from 1 again. Every backup holds ``state.json``."""
    if not source.exists():
        raise NotABackup(f"{source} does not exist")
    if not source.is_dir():
        raise NotABackup(f"{source} is not a folder")
    live = data_dir.resolve()
    if source.resolve() == live or live in source.resolve().parents:
        raise NotABackup(f"{source} is the data directory itself (or inside it), not a backup of it")
    looks_like_a_store = (source / "cases").is_dir() or (source / "journal.json").exists()
    if not (source / STATE).is_file() and not looks_like_a_store:
        # (with store files but no state.json it is a damaged backup: verify names it)
        raise NotABackup(
            f"{source} is not a backup: it holds no {STATE}, which every backup made by "
            "`inbox-agent backup` holds"
        )


def _build_copy(source: Path, data_dir: Path) -> Path:
    """The backup copied whole into ``<data_dir>.partial``; removed again on failure."""
    partial = data_dir.with_name(data_dir.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)  # our own left-over from an interrupted restore
    partial.mkdir(mode=DIR_MODE, parents=True)
    try:
        for child in source.iterdir():
            if child.name not in SKIPPED:
                _copy(child, partial / child.name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return partial


def _swap_in(partial: Path, data_dir: Path) -> Path | None:
    """Two renames: the live directory aside (never deleted), the copy in its place."""
    aside: Path | None = None
    if data_dir.exists():
        aside = data_dir.with_name(f"{data_dir.name}.replaced-{time.strftime('%Y%m%dT%H%M%S')}")
        os.replace(data_dir, aside)
    try:
        os.replace(partial, data_dir)
    except OSError:
        if aside is not None:
            os.replace(aside, data_dir)  # put the live data back rather than leave none
        raise
    fsync_dir(data_dir.parent)
    return aside


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

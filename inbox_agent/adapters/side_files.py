"""The files beside the store: kept in the data directory, written outside the store.

    staff-accounts.json          the web app's accounts (replaced whole, atomically)
    web-audit.log                every sign-in and web action (appended, never rewritten)
    category-corrections.jsonl   staff corrections, the labelled examples `train` reads
    models/                      models applied with `train --apply`, and the pointer

They are not sealed like the store's files, but a backup must carry them: a data
directory restored without them signs every staff member out for good (no account is
left), loses the audit trail a complaints officer answers to, and silently goes back
to the shipped model. `verify` reads them as their own readers do.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from inbox_agent.adapters.audit_log import FILE_NAME as AUDIT_LOG
from inbox_agent.adapters.files import whole_json_lines
from inbox_agent.adapters.model_store import CORRECTIONS_FILE, MODELS_DIR
from inbox_agent.adapters.sealed import StoreDamaged
from inbox_agent.adapters.staff_accounts import FILE_NAME as STAFF_ACCOUNTS
from inbox_agent.adapters.staff_accounts import StaffAccountsFile
from inbox_agent.adapters.tinydb_docs import DIR_MODE, FILE_MODE
from inbox_agent.config.categorizer import CURRENT_POINTER, applied_model

APPENDED = (AUDIT_LOG, CORRECTIONS_FILE)  # copied up to their last whole line
_TAIL = 65536


def copy_side_files(source: Path, target: Path) -> None:
    """Copy what exists of the side files from data directory ``source`` to ``target``."""
    accounts = source / STAFF_ACCOUNTS
    if accounts.is_file():
        _copy_file(accounts, target / STAFF_ACCOUNTS)
    for name in APPENDED:
        if (source / name).is_file():
            _copy_whole_lines(source / name, target / name)
    _copy_models(source / MODELS_DIR, target / MODELS_DIR)


def carry_missing_side_files(replaced: Path, restored: Path) -> list[str]:
    """The side files a backup lacks (made before backups carried them), taken from the
    data directory it replaces: they belong to the staff and the model, not to one
    commit of the store. Returns the names carried over."""
    carried = []
    for name in (STAFF_ACCOUNTS, *APPENDED, MODELS_DIR):
        if not (replaced / name).exists() or (restored / name).exists():
            continue
        if name == MODELS_DIR:
            _copy_models(replaced / name, restored / name)
        elif name in APPENDED:
            _copy_whole_lines(replaced / name, restored / name)
        else:
            _copy_file(replaced / name, restored / name)
        carried.append(name)
    return carried


def check_side_files(root: Path) -> list[str]:
    """Why a side file of data directory ``root`` cannot be used (empty when all can)."""
    problems: list[str] = []
    try:
        StaffAccountsFile(root).names()
    except StoreDamaged as exc:
        problems.append(str(exc))
    for name in APPENDED:
        problems += _unreadable_lines(root / name)
    applied_model(root / MODELS_DIR, problems)
    return problems


def _copy_file(source: Path, target: Path) -> None:
    try:
        shutil.copyfile(source, target)
    except FileNotFoundError:
        return  # removed by hand meanwhile: nothing to copy
    os.chmod(target, FILE_MODE)


def _copy_whole_lines(source: Path, target: Path) -> None:
    """An append-only log, cut after its last newline: a line being appended while we
    copy is left to the next backup rather than copied half."""
    _copy_file(source, target)
    if not target.exists():
        return
    with open(target, "r+b") as handle:
        end = handle.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - _TAIL)
            handle.seek(start)
            chunk = handle.read(end - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            end = start
        handle.truncate(0)


def _copy_models(source: Path, target: Path) -> None:
    """The pointer first, then the model files: a model is never rewritten or removed, so
    every model the copied pointer names is copied too, even if `train --apply` runs."""
    if not source.is_dir():
        return
    target.mkdir(mode=DIR_MODE, exist_ok=True)
    if (source / CURRENT_POINTER).is_file():
        _copy_file(source / CURRENT_POINTER, target / CURRENT_POINTER)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.name != CURRENT_POINTER and not path.name.startswith("."):
            _copy_file(path, target / path.name)


def _unreadable_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    bad = [number for number, record in whole_json_lines(data) if not isinstance(record, dict)]
    if not bad:
        return []
    count = "1 line is" if len(bad) == 1 else f"{len(bad)} lines are"
    return [f"{path}: {count} not a JSON record (the first: line {bad[0]})"]


__all__ = ["APPENDED", "carry_missing_side_files", "check_side_files", "copy_side_files"]

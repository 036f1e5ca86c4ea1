"""`inbox-agent verify`: fsck for the data directory, read-only.

Checks every file (sealed JSON files whole and at the generation ``state.json`` lists,
raw mail and attachments hashing to their names, the accepted-mail log's lines) and
the cross-references: every message in exactly one place and its case stored, every
case in the shard its number names and numbered below ``next_case_seq``, every blob
a message, an outbox entry or a quarantine entry needs present and whole (unless
retention purged it: the case, or the message of no case, carries ``raw_purged``),
outbox entries pointing at real cases, checkpoints well formed; and the files beside
the store as their readers read them (``side_files.py``).
Problems are damage (exit non-zero); notes are harmless left-overs of crashes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbox_agent.adapters.blobs import BlobMissing
from inbox_agent.adapters.model_store import MODELS_DIR
from inbox_agent.adapters.quarantine_log import DroppedQuarantineFile
from inbox_agent.adapters.sealed import StoreDamaged, StoreError
from inbox_agent.adapters.sent_log import parse as parse_sent_log
from inbox_agent.adapters.side_files import check_side_files
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.config.categorizer import applied_model
from inbox_agent.policies.retention import PURGED_FLAG

SENT_LOG = "outbox-sent.log"


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        return not self.problems


def verify(root: Path, *, shard_size: int = 500) -> VerifyReport:
    report = VerifyReport()
    if not Path(root).is_dir():
        # Not "clean (empty)": nothing was checked. A new install gets its data directory
        # at its first `run`; otherwise data_dir names the wrong place or it was removed.
        what = "is not a folder" if Path(root).exists() else "does not exist"
        report.problems.append(f"{root}: the data directory {what}: nothing to verify")
        return report
    try:
        store = Store(root, shard_size=shard_size, read_only=True, build_index=False)
    except StoreError as exc:
        report.problems.append(str(exc))
        return report
    if store.journal_path.exists():
        report.notes.append(
            "journal.json: a commit is being applied (or was cut off); the next writer applies it"
        )
    cases, messages = _read_shards(store, report)
    _check_cases(store, cases, report)
    _check_messages(store, cases, messages, report)
    _check_state(store, cases, report)
    _check_packs(store, report)
    _check_sent_log(store, report)
    _check_dropped_log(store, report)
    report.problems += check_side_files(store.root)
    _check_model_readable(store.root)
    leftovers = [p for p in store.root.rglob(".*.tmp")]
    if leftovers:
        report.notes.append(
            f"{len(leftovers)} temp files left by interrupted writes (never read; safe to delete)"
        )
    return report


def _check_model_readable(root: Path) -> None:
    """An applied model this user may not read is a permission error like any store
    file's (raised: the CLI names it, exit 6), not a clean report."""
    unreadable = applied_model(root / MODELS_DIR, []).unreadable
    if unreadable is not None:
        raise unreadable


def _read_shards(
    store: Store, report: VerifyReport
) -> tuple[dict[str, tuple[Path, dict]], list[tuple[Path, dict]]]:
    cases: dict[str, tuple[Path, dict]] = {}
    messages: list[tuple[Path, dict]] = []
    for path in store.shard_files():
        try:
            data = store._read_json(path, cache=False)
        except StoreDamaged as exc:
            report.problems.append(str(exc))
            continue
        report.counts["shard files"] += 1
        for doc in data.get("cases", {}).values():
            if doc["case_id"] in cases:
                report.problems.append(f"{path}: case {doc['case_id']} is also in {cases[doc['case_id']][0]}")
            cases[doc["case_id"]] = (path, doc)
        messages.extend((path, doc) for doc in data.get("messages", {}).values())
    report.counts["cases"] = len(cases)
    report.counts["messages"] = len(messages)
    return cases, messages


def _check_cases(store: Store, cases: dict[str, tuple[Path, dict]], report: VerifyReport) -> None:
    seqs: Counter[int] = Counter(int(doc.get("seq", 0)) for _path, doc in cases.values())
    for case_id, (path, doc) in cases.items():
        if store.shard_path(case_id) != path:
            report.problems.append(f"{path}: case {case_id} belongs in {store.shard_path(case_id).name}")
        if seqs[int(doc.get("seq", 0))] > 1:
            report.problems.append(f"{path}: case number {doc.get('seq')} is used by more than one case")
    stored_next = int(store._read_state_table("meta").get("1", {}).get("next_case_seq", 1))
    highest = max(seqs, default=0)
    if stored_next <= highest:
        report.problems.append(
            f"{store.state_path}: next case number {stored_next} is not above the highest stored case {highest}"
        )


def _check_messages(
    store: Store, cases: dict[str, tuple[Path, dict]], messages: list[tuple[Path, dict]], report: VerifyReport
) -> None:
    keys: dict[str, Path] = {}
    purged = {case_id for case_id, (_p, doc) in cases.items() if PURGED_FLAG in doc.get("flags", ())}
    for path, doc in messages:
        key, case_id = doc["key"], doc.get("case_id", "")
        if key in keys:
            report.problems.append(f"{path}: message {key} is also stored in {keys[key]}")
        keys[key] = path
        if case_id and case_id not in cases:
            report.problems.append(f"{path}: message {key} belongs to {case_id}, which is not stored")
        if case_id and case_id in cases and cases[case_id][0] != path:
            report.problems.append(f"{path}: message {key} is not in its case's shard")
        # Retention erased the files of a purged case's messages, and of mail of no
        # case it marked on the message itself (the record stays, the files are gone).
        if case_id in purged or PURGED_FLAG in doc.get("flags", ()):
            continue
        _check_blob(store, doc["raw_sha256"], f"message {key}", report)
        for item in doc.get("attachments", ()):
            _check_attachment(store, item, f"message {key}", report)


def _check_blob(store: Store, sha256: str, whose: str, report: VerifyReport) -> None:
    try:
        store.get_blob(sha256)  # read whole and checked against its hash, in a pack or a file
    except BlobMissing as exc:
        report.problems.append(f"{exc.path}: raw mail {sha256} missing (the raw mail of {whose})")
        return
    except StoreDamaged as exc:
        report.problems.append(f"{exc.path}: {exc.what} (the raw mail of {whose})")
        return
    report.counts["raw mails checked"] += 1


def _check_packs(store: Store, report: VerifyReport) -> None:
    """Every pack read whole: one whose entries cannot be read hides every raw mail in
    it, and a damaged mail no case refers to is still damage on disk."""
    for name, why in sorted(store.pack_problems().items()):
        report.problems.append(f"{store.packs_dir / name}: damaged: {why}")


def _check_attachment(store: Store, item: list[Any], whose: str, report: VerifyReport) -> None:
    safe_name, size = str(item[1]), int(item[3])
    path = store.attachment_path(safe_name)
    if not path.exists():
        report.problems.append(f"{path}: missing (an attachment of {whose})")
        return
    data = path.read_bytes()
    report.counts["attachments checked"] += 1
    if len(data) != size or not hashlib.sha256(data).hexdigest().startswith(safe_name.split(".")[0]):
        report.problems.append(f"{path}: its bytes do not match its name and size (an attachment of {whose})")


def _check_state(store: Store, cases: dict[str, tuple[Path, dict]], report: VerifyReport) -> None:
    for entry in store.outbox_entries():
        report.counts["outbox entries"] += 1
        if entry["case_id"] not in cases:
            report.problems.append(
                f"{store.state_path}: outbox entry {entry['outbox_id']} points at no stored case"
            )
        _check_blob(store, entry["raw_sha256"], f"outbox entry {entry['outbox_id']}", report)
    for entry in store.quarantine_entries():
        report.counts["quarantine entries"] += 1
        if entry.get("raw_sha256"):
            _check_blob(store, entry["raw_sha256"], f"quarantine entry {entry.get('key')}", report)
    for key in store._read_state_table("checkpoints"):
        doc = store._read_state_table("checkpoints")[key]
        if not all(isinstance(doc.get(name), int) and doc[name] >= 0 for name in ("uidvalidity", "uid")):
            report.problems.append(
                f"{store.state_path}: checkpoint {doc.get('key')} is not a (uidvalidity, uid) pair"
            )


def _check_sent_log(store: Store, report: VerifyReport) -> None:
    path = store.root / SENT_LOG
    if not path.exists():
        return
    try:
        ids = parse_sent_log(path, path.read_bytes())
    except StoreDamaged as exc:
        report.problems.append(str(exc))
        return
    if ids:
        report.notes.append(
            f"{SENT_LOG}: {len(ids)} accepted mails not yet marked sent (the next run marks them)"
        )


def _check_dropped_log(store: Store, report: VerifyReport) -> None:
    try:
        report.counts["dropped quarantine records"] += len(DroppedQuarantineFile(store.root).entries())
    except StoreDamaged as exc:
        report.problems.append(str(exc))

"""Every store file proves it is whole; damage is refused with the file's name and
nothing is overwritten; case numbers never go back; verify, backup and restore."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from test_store import _case, _commit_cases, _message

from inbox_agent.adapters.sealed import StoreDamaged, seal, unseal
from inbox_agent.adapters.sent_log import HEADER, SentLog
from inbox_agent.adapters.store_backup import backup, restore
from inbox_agent.adapters.store_verify import verify
from inbox_agent.adapters.tinydb_store import Store, StoreError
from inbox_agent.domain.lifecycle import case_id_for
from inbox_agent.domain.model import MessageRecord
from inbox_agent.services.ports import Changes


def _empty(raw: bytes) -> bytes:
    return b""


def _braces(raw: bytes) -> bytes:
    return b"{}"


def _truncated(raw: bytes) -> bytes:
    return raw[: len(raw) * 2 // 3]


def _bit_flipped(raw: bytes) -> bytes:
    flipped = bytearray(raw)
    flipped[-10] ^= 0x04  # inside the JSON body: still valid-looking text
    return bytes(flipped)


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": _empty,
    "braces": _braces,
    "truncated": _truncated,
    "bit_flipped": _bit_flipped,
}


def _with_blob(store: Store, message: MessageRecord, **fields: str) -> MessageRecord:
    sha = store.put_blob(f"From: a@example.com\r\n\r\nmail {message.key}".encode())
    return replace(message, raw_sha256=sha, **fields)


def _store_with_data(root: Path) -> Store:
    """14 cases in two shards and one unfiled mail, every raw mail stored: verify is clean."""
    store = Store(root, shard_size=10)
    changes = Changes(next_case_seq=15)
    for seq in range(1, 15):
        changes.put_case(_case(seq))
        changes.messages.append(_with_blob(store, _message(seq)))
    changes.messages.append(_with_blob(store, _message(99), case_id=""))
    store.commit(changes)
    return store


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


STORE_FILES = ["state.json", "cases/000000.json", "cases/000001.json", "cases/unfiled-2026-11.json"]


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("name", STORE_FILES)
def test_damaged_store_file_is_refused_by_name_and_nothing_is_written(
    tmp_path: Path, name: str, damage: str
) -> None:
    root = tmp_path / "data"
    _store_with_data(root)
    target = root / name
    target.write_bytes(DAMAGE[damage](target.read_bytes()))
    before = _snapshot(root)
    for read_only in (False, True):
        with pytest.raises(StoreDamaged) as refused:
            Store(root, shard_size=10, read_only=read_only)
        assert str(target) in str(refused.value)
    report = verify(root, shard_size=10)
    assert not report.clean and any(str(target) in problem for problem in report.problems)
    assert _snapshot(root) == before


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_journal_is_refused_by_name(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "data"
    store = _store_with_data(root)
    changes = Changes(next_case_seq=16)
    changes.put_case(_case(15))
    original = store._apply
    store._apply = lambda generation, ops, texts=None: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full"))  # type: ignore[method-assign]
    with pytest.raises(OSError):
        store.commit(changes)
    store._apply = original  # type: ignore[method-assign]
    journal = root / "journal.json"
    journal.write_bytes(DAMAGE[damage](journal.read_bytes()))
    before = _snapshot(root)
    with pytest.raises(StoreDamaged, match="journal.json"):
        Store(root, shard_size=10)
    assert _snapshot(root) == before


def test_stale_foreign_and_missing_shards_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = _store_with_data(root)
    shard = root / "cases" / "000000.json"
    old = shard.read_bytes()
    _commit_cases(store, range(3, 4))  # rewrites shard 0 at a newer generation
    shard.write_bytes(old)  # an older copy put back
    with pytest.raises(StoreDamaged, match="stale copy"):
        Store(root, shard_size=10)
    shard.unlink()
    with pytest.raises(StoreDamaged, match="000000.json is damaged: the file is missing"):
        Store(root, shard_size=10, read_only=True)
    other = tmp_path / "other"
    _store_with_data(other)
    (root / "cases" / "000000.json").write_bytes((other / "cases" / "000001.json").read_bytes())
    with pytest.raises(StoreDamaged, match="not 'cases/000000.json'"):
        Store(root, shard_size=10)


def test_missing_state_json_beside_cases_is_refused_not_restarted(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _store_with_data(root)
    (root / "state.json").unlink()
    with pytest.raises(StoreDamaged, match="state.json is damaged: the file is missing while"):
        Store(root, shard_size=10)
    assert not (root / "state.json").exists()


def test_next_case_number_is_derived_from_the_stored_cases_and_a_clash_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = _store_with_data(root)
    # A state.json that is whole but says numbering starts again at 1 (as after a reset).
    generation, state = unseal(root / "state.json", "state.json", (root / "state.json").read_bytes())
    state["meta"]["1"]["next_case_seq"] = 1
    (root / "state.json").write_bytes(seal("state.json", generation, state))
    reopened = Store(root, shard_size=10)
    assert reopened.meta()["next_case_seq"] == 15
    intruder = _case(3, customer="mallory@example.com")
    intruder = replace(intruder, created_at="2026-11-21T00:00:00+00:00")
    before = _snapshot(root)
    with pytest.raises(StoreError, match=f"case id clash: {case_id_for(3, 2026)}"):
        reopened.commit(Changes(cases={intruder.case_id: intruder}, next_case_seq=4))
    assert _snapshot(root) == before
    assert reopened.get_case(case_id_for(3, 2026)) == _case(3)
    del store


def test_read_only_store_takes_no_lock_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _store_with_data(root)
    before = _snapshot(root)
    reader = Store(root, shard_size=10, read_only=True)
    holder = Store(root, shard_size=10)
    with holder.write_lock():  # a writer holds the lock: the reader is not blocked
        assert len(list(reader.iter_cases())) == 14
    assert _snapshot(root) == before
    with pytest.raises(StoreError, match="read-only"):
        reader.commit(Changes(status={"x": 1}))
    assert Store(tmp_path / "never", read_only=True).meta()["next_case_seq"] == 1
    assert not (tmp_path / "never").exists()


def test_damaged_raw_mail_is_refused_on_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    sha = store.put_blob(b"From: a@example.com\r\n\r\nhello")
    (path,) = store.packs_dir.iterdir()
    path.write_bytes(path.read_bytes().replace(b"hello", b"hellO"))
    with pytest.raises(StoreDamaged, match=f"{path.name}.*{sha}.*do not hash to its name"):
        Store(tmp_path / "data").get_blob(sha)  # another process: it reads the pack's entries
    with pytest.raises(StoreDamaged, match=f"{path.name}.*{sha}.*do not hash to its name"):
        store.get_blob(sha)


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_accepted_mail_log_is_refused_by_name(tmp_path: Path, damage: str) -> None:
    log = SentLog(tmp_path / "outbox-sent.log")
    log.reserve(2)
    log.append("WLT-2026-000001.ack_first.0123456789abcdef")
    log.append("WLT-2026-000002.ack_first.0123456789abcdef")
    assert len(log.read()) == 2
    raw = log.path.read_bytes().rstrip(b"\0")
    flip = damage == "bit_flipped"
    raw = raw.replace(b"000002.ack", b"000003.ack") if flip else DAMAGE[damage](raw)
    log.path.write_bytes(raw)
    with pytest.raises(StoreDamaged, match="outbox-sent.log"):
        SentLog(log.path).read()


def test_accepted_mail_whose_line_cannot_be_written_is_held_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = SentLog(tmp_path / "outbox-sent.log")
    log.reserve(1)
    monkeypatch.setenv("INBOX_AGENT_FAULT_AT", "sent_log_append")
    monkeypatch.setenv("INBOX_AGENT_FAULT_ERRNO", "EIO")
    monkeypatch.setenv("INBOX_AGENT_FAULT_UNTIL", str(tmp_path / "fixed"))
    log.append("WLT-2026-000001.ack_first.0123456789abcdef")
    assert log.read() == {"WLT-2026-000001.ack_first.0123456789abcdef"}
    assert log.unrecorded == log.read()
    (tmp_path / "fixed").touch()
    log.clear()
    assert log.read() == set()


def test_reserve_fails_cleanly_when_the_disk_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOX_AGENT_FAULT_AT", "sent_log_reserve")
    with pytest.raises(OSError) as full:
        SentLog(tmp_path / "outbox-sent.log").reserve(5)
    assert full.value.errno == errno.ENOSPC


def test_verify_is_clean_on_a_healthy_store_and_names_a_missing_blob(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = Store(root, shard_size=10)
    raw = b"From: a@example.com\r\n\r\nI was charged twice"
    sha = store.put_blob(raw)
    case, message = _case(1), _message(1)
    message = replace(message, raw_sha256=sha)
    store.commit(Changes(cases={case.case_id: case}, messages=[message], next_case_seq=2))
    report = verify(root, shard_size=10)
    assert report.clean, report.problems
    assert report.counts["cases"] == 1 and report.counts["raw mails checked"] == 1
    (pack,) = store.packs_dir.iterdir()
    os.unlink(pack)
    report = verify(root, shard_size=10)
    assert [p for p in report.problems if "missing (the raw mail of message" in p]


def test_backup_then_restore_brings_every_case_back(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = _store_with_data(root)
    report = backup(store, tmp_path / "backup")
    assert report.clean, report.problems
    (root / "cases" / "000001.json").write_bytes(b"{}")
    with pytest.raises(StoreDamaged):
        Store(root, shard_size=10)
    report, aside = restore(tmp_path / "backup", root, shard_size=10)
    assert report.clean and aside is not None and aside.exists()
    restored = Store(root, shard_size=10)
    assert [case.seq for case in restored.iter_cases()] == list(range(1, 15))
    assert restored.meta()["next_case_seq"] == 15


def test_backup_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    store = _store_with_data(tmp_path / "data")
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "something").write_text("x")
    with pytest.raises(StoreError, match="not empty"):
        backup(store, tmp_path / "dest")


def test_restore_refuses_a_damaged_backup_and_keeps_the_data(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = _store_with_data(root)
    backup(store, tmp_path / "backup")
    (tmp_path / "backup" / "state.json").write_bytes(b"")
    before = _snapshot(root)
    report, aside = restore(tmp_path / "backup", root, shard_size=10)
    assert not report.clean and aside is None
    assert _snapshot(root) == before


def test_a_data_directory_of_the_unsealed_0_1_store_is_refused_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "state.json").write_text('{"meta": {"1": {"schema": 1, "generation": 3, "next_case_seq": 4}}}')
    with pytest.raises(
        StoreDamaged, match="state.json is damaged: it has no integrity header: written by inbox-agent 0.1"
    ):
        Store(root)


def test_a_cleared_log_keeps_its_header_and_the_next_reserve_syncs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """clear() cuts the log back to its header: the next batch reserves its room with
    one sync, in front of the send, instead of creating the file again."""
    log = SentLog(tmp_path / "outbox-sent.log")
    log.reserve(2)
    log.append("WLT-2026-000001.ack_first.0123456789abcdef")
    log.clear()
    assert log.path.read_bytes() == HEADER and log.read() == set()
    syncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (syncs.append(fd), real_fsync(fd)))
    log.reserve(3)
    assert len(syncs) == 1
    log.append("WLT-2026-000002.ack_first.0123456789abcdef")
    assert SentLog(log.path).read() == {"WLT-2026-000002.ack_first.0123456789abcdef"}

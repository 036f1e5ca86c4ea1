"""The store keeps committed state through crashes, torn writes and a second daemon."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from inbox_agent.adapters.fresh_store import FreshStore
from inbox_agent.adapters.sealed import StoreDamaged, seal, unseal
from inbox_agent.adapters.store_journal import AtomicJSONStorage
from inbox_agent.adapters.store_verify import verify
from inbox_agent.adapters.tinydb_store import Store, StoreError, StoreLocked
from inbox_agent.domain.lifecycle import case_id_for
from inbox_agent.domain.model import Case, CaseStatus, Event, MessageRecord
from inbox_agent.services.ports import Changes


def _case(seq: int, customer: str = "alice@example.com") -> Case:
    at = "2026-11-20T10:00:00+00:00"
    return Case(
        case_id=case_id_for(seq, 2026),
        seq=seq,
        customer=customer,
        customer_name="Alice",
        subject=f"complaint {seq}",
        language="en",
        category="wrong_charge",
        categories=("wrong_charge",),
        confidence=0.9,
        matched=(("wrong_charge", "charged twice"),),
        severity="normal",
        status=CaseStatus.OPEN,
        created_at=at,
        updated_at=at,
        message_ids=(f"<m{seq}@example.com>",),
        events=(Event(at=at, kind="opened", actor=customer),),
    )


def _message(seq: int) -> MessageRecord:
    return MessageRecord(
        key=f"<m{seq}@example.com>|{seq:064x}",
        case_id=case_id_for(seq, 2026),
        direction="in",
        message_id=f"<m{seq}@example.com>",
        raw_sha256=f"{seq:064x}",
        sender="alice@example.com",
        subject=f"complaint {seq}",
        date="",
        received_at="2026-11-20T10:00:00+00:00",
        source="test",
        text="I was charged twice",
    )


def _commit_cases(store: Store, seqs: range) -> None:
    changes = Changes(next_case_seq=seqs.stop)
    for seq in seqs:
        changes.put_case(_case(seq))
        changes.messages.append(_message(seq))
    store.commit(changes)


def test_commit_round_trip_and_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "data", shard_size=10)
    _commit_cases(store, range(1, 26))
    reopened = Store(tmp_path / "data", shard_size=10)
    reopened.rebuild_index()
    case = reopened.get_case(case_id_for(17, 2026))
    assert case == _case(17)
    assert [m.key for m in reopened.case_messages(case.case_id)] == [_message(17).key]
    assert reopened.index.message_cases["<m17@example.com>"] == case.case_id
    assert f"{17:064x}" in reopened.index.hashes
    assert len(reopened.index.active_cases) == 25
    # 25 cases in shards of 10 -> three shard files, each bounded in size
    assert sorted(p.name for p in (tmp_path / "data" / "cases").glob("0*.json")) == [
        "000000.json",
        "000001.json",
        "000002.json",
    ]
    assert reopened.meta()["next_case_seq"] == 26


def test_files_are_private(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    _commit_cases(store, range(1, 3))
    store.put_blob(b"raw mail")
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "state.json").stat().st_mode) == 0o600
    for path in (tmp_path / "data" / "cases").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for path in (tmp_path / "data" / "raw").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600)


def test_torn_temp_file_from_a_crash_mid_write_leaves_the_committed_state(tmp_path: Path) -> None:
    store = Store(tmp_path / "data", shard_size=10)
    _commit_cases(store, range(1, 4))
    shard = tmp_path / "data" / "cases" / "000000.json"
    before = shard.read_bytes()
    # A writer killed mid-write leaves its half-written temp file; the real file is untouched.
    (shard.parent / ".000000.json.999.tmp").write_bytes(before[: len(before) // 2])
    reopened = Store(tmp_path / "data", shard_size=10)
    reopened.rebuild_index()
    assert reopened.get_case(case_id_for(2, 2026)) == _case(2)


def test_database_cut_off_in_the_middle_of_a_write_in_a_subprocess(tmp_path: Path) -> None:
    """SIGKILL at the named point inside atomic_write: the previous commit stays readable."""
    data = tmp_path / "data"
    store = Store(data, shard_size=10)
    _commit_cases(store, range(1, 4))
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from test_store import _commit_cases
from inbox_agent.adapters.tinydb_store import Store
store = Store({str(data)!r}, shard_size=10)
_commit_cases(store, range(4, 8))
"""
    env = {**os.environ, "INBOX_AGENT_CRASH_AT": "store_mid_write:2"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert result.returncode == -9
    reopened = Store(data, shard_size=10)  # replays the journal
    reopened.rebuild_index()
    for seq in range(1, 8):
        assert reopened.get_case(case_id_for(seq, 2026)) == _case(seq)
    assert not (data / "journal.json").exists()


def _commit_leaving_the_journal(store: Store, changes: Changes) -> None:
    """A commit that stops after its commit point, before the journal is applied."""

    def fail(generation: int, ops: list, texts: object = None) -> None:
        raise OSError(28, "No space left on device")

    original = store._apply
    store._apply = fail  # type: ignore[method-assign]
    with pytest.raises(OSError):
        store.commit(changes)
    store._apply = original  # type: ignore[method-assign]


def test_journal_left_by_a_crash_is_applied_on_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data, shard_size=10)
    _commit_cases(store, range(1, 2))
    changes = Changes(next_case_seq=3)
    changes.put_case(_case(2))
    _commit_leaving_the_journal(store, changes)
    assert (data / "journal.json").exists()
    reopened = Store(data, shard_size=10)
    assert reopened.get_case(case_id_for(2, 2026)) == _case(2)
    assert reopened.meta()["next_case_seq"] == 3
    assert not (data / "journal.json").exists()


def test_journal_left_by_a_failed_commit_is_applied_before_the_next_commit(tmp_path: Path) -> None:
    """A commit that failed after its commit point (e.g. disk full while applying) is
    not overwritten by the next commit's journal: the next writer applies it first."""
    data = tmp_path / "data"
    store = Store(data, shard_size=10)
    _commit_cases(store, range(1, 2))
    changes = Changes(next_case_seq=3)
    changes.put_case(_case(2))
    _commit_leaving_the_journal(store, changes)
    _commit_cases(store, range(3, 4))
    reopened = Store(data, shard_size=10)
    assert [case.seq for case in reopened.iter_cases()] == [1, 2, 3]


def test_unreadable_shard_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Store(data, shard_size=10)
    _commit_cases(store, range(1, 2))
    (data / "cases" / "000000.json").write_text('{"cases": {"1": ')
    with pytest.raises(StoreError, match="000000.json is damaged: no store header"):
        Store(data, shard_size=10)


def test_second_daemon_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = Store(tmp_path / "data")
    first.acquire_daemon_lock()
    script = (
        "import sys; from inbox_agent.adapters.tinydb_store import Store, StoreLocked\n"
        f"s = Store({str(tmp_path / 'data')!r})\n"
        "try:\n    s.acquire_daemon_lock()\nexcept StoreLocked as e:\n    print(e); sys.exit(7)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 7
    assert f"pid {os.getpid()}" in result.stdout
    first.release_daemon_lock()
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0


def test_writer_waits_for_the_write_lock_then_times_out(tmp_path: Path) -> None:
    holder = Store(tmp_path / "data")
    other = Store(tmp_path / "data", lock_timeout=0.3)
    with holder.write_lock(), pytest.raises(StoreLocked, match="locked by another writer"):
        other.commit(Changes(status={"x": 1}))
    other.commit(Changes(status={"x": 2}))
    assert holder.status()["x"] == 2


def test_attachment_names_cannot_escape(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    path = store.put_attachment("0123456789abcdef.png", b"\x89PNG")
    assert path.is_relative_to(tmp_path / "data" / "attachments")
    for bad in ("../evil", "/etc/passwd", "..\\x", ".hidden", ""):
        with pytest.raises(StoreError):
            store.put_attachment(bad, b"x")


def test_rate_counters_of_quiet_senders_are_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    store.commit(
        Changes(
            counters={
                "ack:quiet@example.com": {"times": ["2026-11-20T08:00:00Z", "2026-11-20T09:00:00Z"]},
                "ack:busy@example.com": {"times": ["2026-11-20T09:00:00Z", "2026-11-22T10:00:00Z"]},
            }
        )
    )
    stale = store.counters_older_than("2026-11-21T12:00:00Z")
    assert stale == {"ack:quiet@example.com"}

    store.commit(Changes(counters_removed=stale))
    assert store.counter("ack:quiet@example.com") == {"key": "ack:quiet@example.com"}
    assert store.counter("ack:busy@example.com")["times"][-1] == "2026-11-22T10:00:00Z"
    _generation, on_disk = unseal(
        tmp_path / "data" / "state.json", "state.json", (tmp_path / "data" / "state.json").read_bytes()
    )
    assert [doc["key"] for doc in on_disk["counters"].values()] == ["ack:busy@example.com"]
    # A fresh process sees the same.
    assert Store(tmp_path / "data").counter("ack:busy@example.com")["times"][0] == "2026-11-20T09:00:00Z"


def _journal_writes(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every journal the store writes from now on."""
    import inbox_agent.adapters.tinydb_store as tinydb_store

    written: list[Path] = []
    original = tinydb_store.atomic_write

    def recording(path: Path, data: bytes, **kwargs: object) -> None:
        if path == store.journal_path:
            written.append(path)
        original(path, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tinydb_store, "atomic_write", recording)
    return written


def test_a_commit_of_state_json_alone_writes_no_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One atomic write of one file is its own commit point; a commit that touches a
    shard still goes through the journal."""
    data = tmp_path / "data"
    store = Store(data, shard_size=10)
    journals = _journal_writes(store, monkeypatch)
    store.commit(Changes(checkpoints={"imap:INBOX": {"uid": 7}}, status={"last_poll": "now"}))
    assert journals == []
    _commit_cases(store, range(1, 2))
    assert journals == [store.journal_path]
    reopened = Store(data, shard_size=10)
    assert reopened.checkpoint("imap:INBOX")["uid"] == 7  # type: ignore[index]
    assert reopened.get_case(case_id_for(1, 2026)) == _case(1)


def test_a_journal_whose_removal_was_lost_is_dropped_after_a_later_state_commit(tmp_path: Path) -> None:
    """Power lost after a journalled commit and a state.json-only commit: the journal's
    unlink may not have reached the disk while the later state.json did. state.json is
    the journal's last write, so a journal older than state.json was applied in full: it
    is dropped, not replayed over the newer state (nor taken for damage)."""
    data = tmp_path / "data"
    store = Store(data, shard_size=10)
    kept: list[bytes] = []
    original = store._apply

    def keep_journal(generation: int, ops: list, texts: object = None) -> None:
        kept.append(store.journal_path.read_bytes())
        original(generation, ops, texts)

    store._apply = keep_journal  # type: ignore[method-assign]
    _commit_cases(store, range(1, 3))
    store._apply = original  # type: ignore[method-assign]
    store.commit(Changes(checkpoints={"imap:INBOX": {"uid": 9}}))
    (data / "journal.json").write_bytes(kept[0])  # the lost unlink
    reopened = Store(data, shard_size=10)
    reopened.commit(Changes(checkpoints={"imap:INBOX": {"uid": 10}}))  # a writer recovers first
    assert not (data / "journal.json").exists()
    assert reopened.checkpoint("imap:INBOX")["uid"] == 10  # type: ignore[index]
    assert [case.seq for case in Store(data, shard_size=10).iter_cases()] == [1, 2]


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    original = Path.read_bytes

    def counted(self: Path) -> bytes:
        reads.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    return reads


def test_a_few_shards_stay_parsed_and_a_sweep_over_all_keeps_the_ones_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(tmp_path / "data", shard_size=10).commit(Changes())  # state.json exists
    _commit_cases(Store(tmp_path / "data", shard_size=10), range(1, 81))  # eight shards
    store = Store(tmp_path / "data", shard_size=10)
    store.rebuild_index()
    reads = _counting_reads(monkeypatch)
    in_use = case_id_for(35, 2026)  # a thread being answered, in a shard the sweep passes

    assert store.get_case(in_use) is not None
    assert reads == ["000003.json"]
    swept = list(store.iter_cases(store.index.active_cases))  # the escalation sweep's read
    assert len(swept) == 80
    reads.clear()
    assert store.get_case(in_use) is not None
    assert reads == []  # the shard in use was not pushed out by the sweep

    # Memory is bounded: shards read one after another push the oldest out.
    for seq in range(1, 81, 10):
        store.get_case(case_id_for(seq, 2026))
    reads.clear()
    store.get_case(case_id_for(1, 2026))
    assert reads == ["000000.json"]


def test_the_web_process_keeps_more_parsed_shards_than_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(tmp_path / "data", shard_size=10).commit(Changes())
    _commit_cases(Store(tmp_path / "data", shard_size=10), range(1, 81))
    reads = _counting_reads(monkeypatch)
    for kind, rereads in ((Store, ["000000.json"]), (FreshStore, [])):
        store = kind(tmp_path / "data", shard_size=10)
        for seq in range(1, 81, 10):  # staff opening cases all over the store
            store.get_case(case_id_for(seq, 2026))
        reads.clear()
        store.get_case(case_id_for(1, 2026))
        assert reads == rereads, kind.__name__


def _counting_stats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the store files whose stat the store asks for."""
    stats: list[str] = []
    original = Path.stat

    def counted(self: Path, **kwargs: bool) -> os.stat_result:
        if self.suffix == ".json":
            stats.append(self.name)
        return original(self, **kwargs)

    monkeypatch.setattr(Path, "stat", counted)
    return stats


def test_under_the_write_lock_each_cached_file_is_checked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every writer takes the lock, so while it is held no other process replaces a
    file: one stat per file per hold, not one per read. Released, files are checked again."""
    _commit_cases(Store(tmp_path / "data", shard_size=10), range(1, 21))
    store = Store(tmp_path / "data", shard_size=10)
    stats = _counting_stats(monkeypatch)
    with store.write_lock():  # taking it checks for a journal and reads state.json
        for _ in range(3):
            assert store.get_case(case_id_for(5, 2026)) is not None
            store.meta()
        assert sorted(stats) == ["000000.json", "journal.json", "state.json"], stats
    stats.clear()
    store.get_case(case_id_for(5, 2026))
    store.get_case(case_id_for(5, 2026))
    assert stats.count("000000.json") == 2, "without the lock every read checks the file"


@pytest.mark.parametrize("failing", ["caching the shard", "writing state.json"])
def test_a_file_replaced_by_a_failed_commit_is_read_again_under_the_same_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A commit that replaced a file and failed before caching it (disk full on the next
    step) must not leave the old copy trusted for the rest of the lock's hold."""
    _commit_cases(Store(tmp_path / "data", shard_size=10), range(1, 3))
    store = Store(tmp_path / "data", shard_size=10)
    case_id = case_id_for(1, 2026)
    with store.write_lock():
        assert store.get_case(case_id) is not None  # cached and checked
        with monkeypatch.context() as patch:
            if failing == "caching the shard":
                patch.setattr(Store, "_remember", _no_space)
            else:  # the shard is written, then state.json (always last) fails
                flush = AtomicJSONStorage.flush
                patch.setattr(
                    AtomicJSONStorage,
                    "flush",
                    lambda self: _no_space() if self.path.name == "state.json" else flush(self),
                )
            changes = Changes(next_case_seq=3)
            changes.put_case(replace(_case(1), subject="changed"))
            with pytest.raises(OSError):
                store.commit(changes)
        if failing == "caching the shard":
            assert store.get_case(case_id).subject == "changed"
        else:  # the new shard is seen, as any read would see it (not the cached old copy)
            with pytest.raises(StoreDamaged, match="written by commit 2 but state.json lists commit 1"):
                store.get_case(case_id)
    with store.write_lock():  # the next hold applies the journal first
        assert store.get_case(case_id).subject == "changed"


def _no_space(*args: object) -> None:
    raise OSError(28, "No space left on device")


# ------------------------------------------------------------ the shard size is the store's


def test_a_store_keeps_the_shard_size_it_was_created_with(tmp_path: Path) -> None:
    """A case's shard is its number divided by the shard size: with another size a store
    read no case where it lay (a customer's reply opened a new case) and wrote a second
    copy of a changed one into another file. The configured size is for new stores."""
    root = tmp_path / "data"
    _commit_cases(Store(root, shard_size=10), range(1, 26))
    other = Store(root, shard_size=5)
    assert other.shard_size == 10 and other.configured_shard_size == 5
    assert other.get_case(case_id_for(17, 2026)) == _case(17)
    changes = Changes()
    changes.put_case(replace(_case(17), subject="changed"))
    other.commit(changes)
    # (the helper's messages name raw mail it never stored: only the shards are checked here)
    assert [p for p in verify(root, shard_size=5).problems if "/cases/" in p] == []
    assert sorted(p.name for p in (root / "cases").glob("0*.json")) == [
        "000000.json",
        "000001.json",
        "000002.json",
    ]
    assert Store(root, shard_size=10).get_case(case_id_for(17, 2026)).subject == "changed"


def _drop_recorded_shard_size(root: Path) -> None:
    """state.json as the stores before this change wrote it: no shard size in meta."""
    generation, state = unseal(root / "state.json", "state.json", (root / "state.json").read_bytes())
    del state["meta"]["1"]["shard_size"]
    (root / "state.json").write_bytes(seal("state.json", generation, state))


def test_an_older_store_opened_with_another_shard_size_is_refused_naming_the_setting(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _commit_cases(Store(root, shard_size=10), range(1, 26))
    _drop_recorded_shard_size(root)
    with pytest.raises(
        StoreError, match=r"000000\.json holds case WLT-2026-000005, .*shard_size; set it back"
    ):
        Store(root, shard_size=5)
    with pytest.raises(StoreError, match="another \\[storage\\] shard_size"):
        Store(root, shard_size=5, read_only=True)
    # The size it was written with opens it, and the next commit records that size.
    store = Store(root, shard_size=10)
    _commit_cases(store, range(26, 27))
    assert store.meta()["shard_size"] == 10
    assert Store(root, shard_size=5).get_case(case_id_for(26, 2026)) == _case(26)


def test_a_damaged_recorded_shard_size_stops_the_store_naming_state_json(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _commit_cases(Store(root, shard_size=10), range(1, 3))
    generation, state = unseal(root / "state.json", "state.json", (root / "state.json").read_bytes())
    state["meta"]["1"]["shard_size"] = "ten"
    (root / "state.json").write_bytes(seal("state.json", generation, state))
    with pytest.raises(StoreDamaged, match="state.json is damaged: meta.shard_size is 'ten'"):
        Store(root, shard_size=10)

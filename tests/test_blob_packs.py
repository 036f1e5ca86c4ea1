"""Raw and outgoing mails kept in packs, one file per batch (adapters/blob_packs.py):
what a batch writes, what another process reads, erasure, damage, the old layout."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox_agent.adapters import blob_packs
from inbox_agent.adapters.blob_packs import PackIndex, PackUnreadable, Slot, read_entries
from inbox_agent.adapters.blobs import BlobMissing
from inbox_agent.adapters.sealed import StoreDamaged
from inbox_agent.adapters.store_backup import backup
from inbox_agent.adapters.store_verify import verify
from inbox_agent.adapters.tinydb_store import Store


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mails(count: int, tag: str = "m") -> dict[str, bytes]:
    mails = [f"From: {tag}{n}@example.com\r\n\r\nmail {tag} number {n}\r\n".encode() for n in range(count)]
    return {_sha(data): data for data in mails}


def _all_raw_bytes(store: Store) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(store.raw_dir.rglob("*")) if path.is_file())


def test_a_batch_of_mails_is_one_new_file_and_each_mail_reads_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    mails = _mails(50)
    store.put_files(mails, {"ab12.pdf": b"%PDF attachment"})
    packs = list(store.packs_dir.iterdir())
    assert len(packs) == 1 and packs[0].suffix == ".pack"
    assert [path for path in store.raw_dir.rglob("*") if path.is_file()] == packs
    assert store.attachment_path("ab12.pdf").read_bytes() == b"%PDF attachment"
    assert all(store.get_blob(sha) == data for sha, data in mails.items())
    assert store.stored_blobs() == set(mails)
    assert set(read_entries(packs[0])) == set(mails)


def test_bytes_already_stored_are_not_written_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    mails = _mails(5)
    store.put_files(mails, {})
    store.put_files(mails, {})
    assert len(list(store.packs_dir.iterdir())) == 1
    assert store.put_blob(next(iter(mails.values()))) == next(iter(mails))
    assert len(list(store.packs_dir.iterdir())) == 1
    fresh = Store(tmp_path / "data")  # a restart reads what is stored before writing
    fresh.put_files(mails, {})
    assert len(list(store.packs_dir.iterdir())) == 1


def test_another_process_reads_packs_written_after_its_first_look(tmp_path: Path) -> None:
    writer = Store(tmp_path / "data")
    writer.put_files(_mails(3, "a"), {})
    reader = Store(tmp_path / "data", read_only=True)
    assert reader.stored_blobs() == set(_mails(3, "a"))
    later = _mails(3, "b")
    writer.put_files(later, {})
    assert all(reader.get_blob(sha) == data for sha, data in later.items())


def test_the_head_of_a_mail_is_read_without_the_rest(tmp_path: Path) -> None:
    """The quarantine page shows a mail's headers: it reads the first bytes only."""
    writer = Store(tmp_path / "data")
    big = b"From: big@example.com\r\nSubject: large\r\n\r\n" + b"x" * 3_000_000
    small = _mails(2)
    writer.put_files({**small, _sha(big): big}, {})  # the small ones first: erasing them moves it
    assert writer.blob_heads([_sha(big)], 100) == {_sha(big): big[:100]}
    assert writer.blob_heads(small, 10_000) == small  # shorter than the limit: whole
    reader = Store(tmp_path / "data", read_only=True)
    reader.stored_blobs()  # its first look at the packs
    later = {_sha(data): data for data in (b"From: later@example.com\r\n\r\nafter the reader looked",)}
    writer.put_files(later, {})
    writer.delete_blobs(small)  # the pack is rewritten: the reader's offsets are stale
    heads = reader.blob_heads([*later, _sha(big), "0" * 64], 40)
    assert heads[next(iter(later))] == next(iter(later.values()))[:40]
    assert heads[_sha(big)] == big[:40]
    assert "0000000000" in heads["0" * 64] and "missing" in heads["0" * 64]


def test_erasure_rewrites_the_pack_without_the_erased_mails(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    mails = _mails(10)
    store.put_files(mails, {})
    reader = Store(tmp_path / "data", read_only=True)
    assert reader.stored_blobs() == set(mails)  # it now holds the old offsets
    doomed = list(mails)[2:5]
    with store.write_lock():
        assert store.delete_blobs([*doomed, "0" * 64]) == 3
    stored = _all_raw_bytes(store)
    assert not any(mails[sha] in stored for sha in doomed)
    kept = {sha: data for sha, data in mails.items() if sha not in doomed}
    assert all(store.get_blob(sha) == data for sha, data in kept.items())
    assert all(reader.get_blob(sha) == data for sha, data in kept.items())  # stale offsets: reread
    for sha in doomed:
        with pytest.raises(BlobMissing, match=f"raw mail {sha} is in no pack and no file"):
            reader.get_blob(sha)
    with store.write_lock():
        assert store.delete_blobs(kept) == len(kept)
        assert not store.delete_blob(doomed[0])
    assert list(store.packs_dir.iterdir()) == []  # nothing left in it: the pack is gone
    assert reader.stored_blobs() == set()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(st.lists(st.binary(max_size=64), min_size=1, max_size=8), min_size=1, max_size=5),
    erase=st.lists(st.integers(min_value=0, max_value=39), max_size=20),
)
def test_stored_mails_are_always_what_was_written_minus_what_was_erased(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[bytes]], erase: list[int]
) -> None:
    store = Store(tmp_path_factory.mktemp("packs") / "data")
    expected: dict[str, bytes] = {}
    for batch in batches:
        blobs = {_sha(data): data for data in batch}
        store.put_files(blobs, {})
        expected.update(blobs)
    order = sorted(expected)
    doomed = {order[index % len(order)] for index in erase}
    with store.write_lock():
        assert store.delete_blobs(doomed) == len(doomed)
    survivors = {sha: data for sha, data in expected.items() if sha not in doomed}
    other = Store(store.root, read_only=True)
    for view in (store, other):
        assert view.stored_blobs() == set(survivors)
        assert all(view.get_blob(sha) == data for sha, data in survivors.items())
    for sha in doomed:
        with pytest.raises(BlobMissing):
            other.get_blob(sha)
    assert verify(store.root).clean


def test_a_damaged_pack_tail_is_named_by_reads_and_by_verify(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    mails = _mails(4)
    store.put_files(mails, {})
    (path,) = store.packs_dir.iterdir()
    path.write_bytes(path.read_bytes()[:-5])  # cut short: its tail is gone
    reader = Store(tmp_path / "data", read_only=True)
    with pytest.raises(BlobMissing, match=f"{path.name}.*cannot be read: its tail is not a pack's"):
        reader.get_blob(next(iter(mails)))
    assert any(
        path.name in problem and "damaged: its tail is not a pack" in problem
        for problem in verify(store.root).problems
    )
    # Erasure in a pack damaged since this process wrote it: refused, naming the file.
    with store.write_lock(), pytest.raises(StoreDamaged, match=path.name):
        store.delete_blobs([next(iter(mails))])


def test_a_pack_cut_while_its_table_is_read_is_named_not_a_crash(tmp_path: Path, monkeypatch) -> None:
    """Something truncates the file between the size look-up and the reads: a clear
    ``PackUnreadable``, not a struct or numpy error from half a table."""
    store = Store(tmp_path / "data")
    store.put_files(_mails(4), {})
    (path,) = store.packs_dir.iterdir()
    whole = path.read_bytes()
    real_fstat = os.fstat

    def cut_after_fstat(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        os.truncate(path, len(whole) - 60)  # the tail and part of the table go
        return result

    monkeypatch.setattr(blob_packs.os, "fstat", cut_after_fstat)
    with pytest.raises(PackUnreadable, match="cut short while being read"):
        read_entries(path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.replace(b"number 1", b"numbex 1"),  # a flipped byte inside a mail
        lambda data: data[:10] + data[12:],  # two bytes gone: every offset after them is off
    ],
)
def test_altered_mail_bytes_in_a_pack_are_refused_naming_the_pack(tmp_path: Path, damage) -> None:
    store = Store(tmp_path / "data")
    mails = _mails(3)
    store.put_files(mails, {})
    (path,) = store.packs_dir.iterdir()
    path.write_bytes(damage(path.read_bytes()))
    reader = Store(tmp_path / "data", read_only=True)
    with pytest.raises(StoreDamaged, match=path.name):
        for sha in mails:
            reader.get_blob(sha)
    assert any(path.name in problem for problem in verify(store.root).problems)


def test_mails_kept_as_single_files_by_an_older_version_are_read_checked_and_erased(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    data = b"From: old@example.com\r\n\r\nstored before packs"
    sha = _sha(data)
    store.blob_path(sha).parent.mkdir(parents=True)
    store.blob_path(sha).write_bytes(data)
    assert store.get_blob(sha) == data and store.stored_blobs() == {sha}
    store.put_files({sha: data}, {})
    assert not store.packs_dir.exists() or not list(store.packs_dir.iterdir())  # already stored
    store.blob_path(sha).write_bytes(data + b"!")
    with pytest.raises(StoreDamaged, match="do not hash to its name"):
        store.get_blob(sha)
    with store.write_lock():
        assert store.delete_blob(sha)
    assert not store.blob_path(sha).exists()


def test_backup_copies_the_packs_as_erasure_left_them(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    first, second = _mails(4, "a"), _mails(4, "b")
    store.put_files(first, {})
    store.put_files(second, {})
    doomed = list(first)[:2]
    with store.write_lock():
        store.delete_blobs([*doomed, *second])
    report = backup(store, tmp_path / "backup")
    assert report.clean, report.problems
    copy = Store(tmp_path / "backup", read_only=True)
    assert copy.stored_blobs() == set(list(first)[2:])
    assert len(list(copy.packs_dir.iterdir())) == 1
    assert not any(first[sha] in _all_raw_bytes(copy) for sha in doomed)


def test_pack_files_are_private(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    store.put_files(_mails(2), {})
    with store.write_lock():
        store.delete_blobs(list(_mails(2))[:1])
    (path,) = store.packs_dir.iterdir()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(store.packs_dir).st_mode & 0o777 == 0o700


def test_the_index_finds_every_slot_across_merges_forgets_and_shared_prefixes(tmp_path: Path) -> None:
    index = PackIndex(tmp_path)
    index.refresh()  # an empty folder; the packs below are known as this process's own writes
    index.MERGE_AT = 7  # merge often
    expected: dict[str, set[Slot]] = {}
    for number in range(12):
        name = f"{number:04d}.pack"
        entries = {f"{n:016x}{number:048x}": (n * 10, 10) for n in range(number, number + 5)}
        index.added(name, number + 1, entries)
        for sha, (offset, length) in entries.items():
            expected.setdefault(sha, set()).add(Slot(name, offset, length))
    index.forget("0003.pack")
    expected = {sha: {slot for slot in slots if slot.pack != "0003.pack"} for sha, slots in expected.items()}
    for sha in expected:
        # Hashes that start alike (the first 16 hex digits) come back together: the
        # reader tells them apart by the bytes it reads.
        alike = set().union(*(s for other, s in expected.items() if other[:16] == sha[:16]))
        assert set(index.slots(sha)) == alike
    assert index.slots("f" * 64) == []
    assert "0003.pack" not in index.packs() and "0004.pack" in index.packs()


def test_a_hash_that_ends_in_zero_bytes_keeps_them(tmp_path: Path) -> None:
    data = next(blob for n in range(100_000) if _sha(blob := f"mail {n}".encode()).endswith("0000"))
    store = Store(tmp_path / "data")
    store.put_files({_sha(data): data}, {})
    assert Store(tmp_path / "data", read_only=True).stored_blobs() == {_sha(data)}
    with store.write_lock():
        assert store.delete_blobs([_sha(data)]) == 1

"""Raw mail and attachments on disk, addressed by content. Raw and outgoing mails
are kept in packs, one per batch (``raw/packs/*.pack``, adapters/blob_packs.py);
mails stored by an older version stay readable as single files ``raw/ab/<sha256>``.
Attachments are files ``attachments/ab/<generated safe name>``. Writing the same
bytes twice is a no-op, so a batch can write them before its commit and again after
a crash.

The name is the proof: a raw mail is whole when its bytes hash to its name, an
attachment when they hash to the 16 hex digits its generated name starts with. A
read that finds other bytes refuses, naming the file, instead of sending or showing
damaged mail.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from inbox_agent.adapters.blob_packs import (
    PackIndex,
    PackUnreadable,
    Slot,
    new_pack_name,
    pack,
    read_entries,
    read_slot,
    split,
)
from inbox_agent.adapters.files import fsync_dir, write_group_atomically
from inbox_agent.adapters.sealed import StoreDamaged, StoreError
from inbox_agent.adapters.tinydb_docs import atomic_write, ensure_dir
from inbox_agent.services.crash_points import crash_point, write_point


class BlobMissing(StoreDamaged):
    """A raw mail the store refers to is in no pack and no file."""


class ContentAddressedFiles:
    raw_dir: Path
    attachments_dir: Path

    @property
    def packs_dir(self) -> Path:
        return self.raw_dir / "packs"

    @cached_property
    def _packs(self) -> PackIndex:
        return PackIndex(self.packs_dir)

    def blob_path(self, sha256: str) -> Path:
        """Where an older version kept one raw mail as one file (still read)."""
        return self.raw_dir / sha256[:2] / sha256

    def attachment_path(self, safe_name: str) -> Path:
        return self.attachments_dir / safe_name[:2] / safe_name

    def put_blob(self, data: bytes) -> str:
        """Content-addressed: writing the same bytes twice is a no-op."""
        sha = hashlib.sha256(data).hexdigest()
        self.put_files({sha: data}, {})
        return sha

    def has_blob(self, sha256: str) -> bool:
        """Known to be stored (by this process's last look at the packs: a pack another
        process wrote since may hold it too, which only costs a second copy)."""
        held = any(self._slot_bytes(slot, sha256) is not None for slot in self._packs.slots(sha256))
        return held or self.blob_path(sha256).exists()

    def held_blobs(self, shas: Iterable[str]) -> set[str]:
        """Which of these raw mails are stored now: one fresh look at the packs (a CLI
        command or another daemon may have written some since), then a lookup each."""
        self._packs.refresh()
        return {sha for sha in shas if self.has_blob(sha)}

    def get_blob(self, sha256: str) -> bytes:
        """The raw mail, checked against its hash. ``BlobMissing`` when no pack or file
        holds it; ``StoreDamaged`` naming the file when its bytes are not whole."""
        slots = self._packs.slots(sha256)
        if not slots and self.blob_path(sha256).exists():
            return self._single_file(sha256)
        for refresh in (False, True):  # stale offsets: another process rewrote the pack
            slots = self._packs.slots(sha256, refresh=refresh) if refresh else slots
            for slot in slots:
                data = self._slot_bytes(slot, sha256)
                if data is not None:
                    return data
        if slots:
            slot = slots[0]
            raise StoreDamaged(
                self.packs_dir / slot.pack,
                f"the {slot.length} bytes of raw mail {sha256} at offset {slot.offset} "
                "do not hash to its name (altered or truncated)",
            )
        raise self._missing(sha256)

    def blob_heads(self, shas: Iterable[str], limit: int) -> dict[str, bytes | str]:
        """At most the first ``limit`` bytes of each raw mail, or why it cannot be read.
        NOT checked against the hash: for showing headers only (the quarantine page),
        where reading and hashing a mail of tens of megabytes per row would make the
        page as slow as the mails are large. One fresh look at the packs first, so no
        offset is stale (an erasure rewrites a pack: old offsets would show another
        mail's headers)."""
        self._packs.refresh()
        heads: dict[str, bytes | str] = {}
        for sha in shas:
            try:
                heads[sha] = self._head(sha, limit)
            except (OSError, StoreError) as exc:
                heads[sha] = str(exc)
        return heads

    def _head(self, sha256: str, limit: int) -> bytes:
        for slot in self._packs.slots(sha256):
            with contextlib.suppress(FileNotFoundError):
                return read_slot(self.packs_dir, replace(slot, length=min(limit, slot.length)))
        try:
            with self.blob_path(sha256).open("rb") as file:
                return file.read(limit)
        except FileNotFoundError:
            raise self._missing(sha256) from None

    def _slot_bytes(self, slot: Slot, sha256: str) -> bytes | None:
        """The bytes at ``slot`` when they are the blob ``sha256`` (None: gone or other bytes)."""
        try:
            data = read_slot(self.packs_dir, slot)
        except FileNotFoundError:
            return None
        return data if _sha256(data) == sha256 else None

    def _single_file(self, sha256: str) -> bytes:
        path = self.blob_path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise self._missing(sha256) from None
        if _sha256(data) != sha256:
            raise StoreDamaged(path, f"its {len(data)} bytes do not hash to its name (altered or truncated)")
        return data

    def _missing(self, sha256: str) -> BlobMissing:
        damaged = self._packs.damaged
        if damaged:  # the likely cause: name it
            name, why = next(iter(sorted(damaged.items())))
            return BlobMissing(
                self.packs_dir / name,
                f"raw mail {sha256} is in no readable pack or file, and this pack cannot be read: {why}",
            )
        return BlobMissing(self.raw_dir, f"raw mail {sha256} is in no pack and no file (missing)")

    def pack_problems(self) -> dict[str, str]:
        """Every pack that cannot be read or holds a mail whose bytes are not whole,
        referenced or not: file name -> what is wrong (``verify`` reads them all)."""
        self._packs.refresh()
        problems = dict(self._packs.damaged)
        for name in self._packs.packs():
            try:
                entries, data = read_entries(self.packs_dir / name), (self.packs_dir / name).read_bytes()
            except FileNotFoundError:
                continue
            except (OSError, PackUnreadable) as exc:
                problems[name] = str(exc)
                continue
            bad = [
                sha for sha, (start, size) in entries.items() if _sha256(data[start : start + size]) != sha
            ]
            if bad:
                problems[name] = (
                    f"{len(bad)} of its {len(entries)} mails do not hash to their names, first {bad[0]}"
                )
        return problems

    def stored_blobs(self) -> set[str]:
        """The hash of every raw mail kept, in packs or single files."""
        self._packs.refresh()
        singles = {path.name for path in self.raw_dir.glob("??/*") if len(path.name) == 64 and path.is_file()}
        for name in self._packs.packs():
            with contextlib.suppress(FileNotFoundError):
                singles.update(read_entries(self.packs_dir / name))
        return singles

    def put_attachment(self, safe_name: str, payload: bytes) -> Path:
        """Stored only under the generated safe name; the customer's name is data."""
        path = self._safe_attachment_path(safe_name)
        if not path.exists():
            atomic_write(path, payload, point="blob_write")
        return path

    def put_files(self, blobs: Mapping[str, bytes], attachments: Mapping[str, bytes]) -> None:
        """A batch's raw mails and outgoing mails as one pack, its attachments as files,
        all in one group write (``adapters.files.write_group_atomically``): one new file
        and two syncs for the batch's mails, instead of two files and about five syncs
        per mail. ``blobs`` are keyed by their SHA-256, as the unit of work hashed them
        (not hashed a second time; a read checks every blob against its name anyway).
        Every name is checked before anything is written; what is already stored is
        left alone. Returns once every file is durable, so the commit that references
        them comes after."""
        fresh = {sha: data for sha, data in blobs.items() if not self.has_blob(sha)}
        wanted: dict[Path, bytes | tuple[bytes, ...]] = {}
        for safe_name, payload in attachments.items():
            wanted.setdefault(self._safe_attachment_path(safe_name), payload)
        files = [(path, data) for path, data in wanted.items() if not path.exists()]
        packed = pack(fresh) if fresh else None
        name = new_pack_name()
        if packed is not None:
            files.insert(0, (self.packs_dir / name, packed.chunks))
        for folder in {path.parent for path, _ in files}:  # one mkdir per folder, not per file
            ensure_dir(folder)
        for _ in range(len(fresh) + len(files) - (packed is not None)):  # counted per blob, not per file
            write_point("blob_write")
        write_group_atomically(
            files,
            mid_write=lambda: crash_point("store_mid_write"),
            after_rename=lambda: crash_point("blobs_renamed"),
        )
        if packed is not None:
            self._packs.added(name, os.stat(self.packs_dir / name).st_ino, packed.entries)

    def _safe_attachment_path(self, safe_name: str) -> Path:
        if "/" in safe_name or "\\" in safe_name or safe_name.startswith(".") or not safe_name:
            raise StoreError(f"unsafe attachment name {safe_name!r}")
        path = self.attachment_path(safe_name)
        if path.resolve().parent != (self.attachments_dir / safe_name[:2]).resolve():
            raise StoreError(f"unsafe attachment name {safe_name!r}")
        return path

    def delete_blob(self, sha256: str) -> bool:
        return self.delete_blobs([sha256]) == 1

    def delete_blobs(self, shas: Iterable[str]) -> int:
        """Erase these raw mails (retention), wherever they are kept: each pack holding
        one is written again without it (atomically), or removed when nothing is left
        in it. Run under the store's write lock, like every change. Returns how many
        were found and erased."""
        doomed = set(shas)
        erased = {sha for sha in doomed if _unlink(self.blob_path(sha))}
        self._packs.refresh()
        for name in sorted({slot.pack for sha in doomed for slot in self._packs.slots(sha)}):
            erased |= self._erase_from_pack(name, doomed)
        return len(erased)

    def _erase_from_pack(self, name: str, doomed: set[str]) -> set[str]:
        path = self.packs_dir / name
        try:
            gone, kept = split(path, doomed)
        except FileNotFoundError:
            return set()
        except PackUnreadable as exc:
            raise StoreDamaged(path, str(exc)) from None
        if not gone:
            return gone
        if kept:
            packed = pack(kept)
            atomic_write(path, packed.data, point="blob_write")
            self._packs.added(name, os.stat(path).st_ino, packed.entries)
        else:
            path.unlink()
            fsync_dir(self.packs_dir)
            self._packs.forget(name)
        return gone

    def delete_attachment(self, safe_name: str) -> bool:
        return _unlink(self.attachment_path(safe_name))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _unlink(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False

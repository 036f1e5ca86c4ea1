"""Raw mail and attachments on disk, addressed by content: ``raw/ab/<sha256>`` and
``attachments/ab/<generated safe name>``. Writing the same bytes twice is a no-op,
so a batch can write them before its commit and again after a crash.

The name is the proof: a raw file is whole when its bytes hash to its name, an
attachment when they hash to the 16 hex digits its generated name starts with. A
read that finds other bytes refuses, naming the file, instead of sending or showing
damaged mail.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from pathlib import Path

from inbox_agent.adapters.files import write_group_atomically
from inbox_agent.adapters.sealed import StoreDamaged, StoreError
from inbox_agent.adapters.tinydb_docs import atomic_write, ensure_dir
from inbox_agent.services.crash_points import crash_point, write_point


class ContentAddressedFiles:
    raw_dir: Path
    attachments_dir: Path

    def blob_path(self, sha256: str) -> Path:
        return self.raw_dir / sha256[:2] / sha256

    def attachment_path(self, safe_name: str) -> Path:
        return self.attachments_dir / safe_name[:2] / safe_name

    def put_blob(self, data: bytes) -> str:
        """Content-addressed: writing the same bytes twice is a no-op."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.blob_path(sha)
        if not path.exists():
            atomic_write(path, data, point="blob_write")
        return sha

    def get_blob(self, sha256: str) -> bytes:
        path = self.blob_path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreDamaged(path, "the raw mail file is missing") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreDamaged(path, f"its {len(data)} bytes do not hash to its name (altered or truncated)")
        return data

    def put_attachment(self, safe_name: str, payload: bytes) -> Path:
        """Stored only under the generated safe name; the customer's name is data."""
        path = self._safe_attachment_path(safe_name)
        if not path.exists():
            atomic_write(path, payload, point="blob_write")
        return path

    def put_files(self, blobs: Mapping[str, bytes], attachments: Mapping[str, bytes]) -> None:
        """A batch's raw mails, outgoing mails and attachments in one group write
        (``adapters.files.write_group_atomically``): two syncs for the batch instead of
        about five per mail. ``blobs`` are keyed by their SHA-256, as the unit of work
        hashed them (not hashed a second time; a read checks every blob against its
        name anyway). Every name is checked before anything is written; files already
        there are left alone. Returns once every file is durable, so the commit that
        references them comes after."""
        wanted: dict[Path, bytes] = {}
        for sha, data in blobs.items():
            wanted.setdefault(self.blob_path(sha), data)
        for safe_name, payload in attachments.items():
            wanted.setdefault(self._safe_attachment_path(safe_name), payload)
        missing = [(path, data) for path, data in wanted.items() if not path.exists()]
        for folder in {path.parent for path, _ in missing}:  # one mkdir per folder, not per file
            ensure_dir(folder)
        write_group_atomically(
            missing,
            before_each=lambda: write_point("blob_write"),
            mid_write=lambda: crash_point("store_mid_write"),
            after_rename=lambda: crash_point("blobs_renamed"),
        )

    def _safe_attachment_path(self, safe_name: str) -> Path:
        if "/" in safe_name or "\\" in safe_name or safe_name.startswith(".") or not safe_name:
            raise StoreError(f"unsafe attachment name {safe_name!r}")
        path = self.attachment_path(safe_name)
        if path.resolve().parent != (self.attachments_dir / safe_name[:2]).resolve():
            raise StoreError(f"unsafe attachment name {safe_name!r}")
        return path

    def delete_blob(self, sha256: str) -> bool:
        return _unlink(self.blob_path(sha256))

    def delete_attachment(self, safe_name: str) -> bool:
        return _unlink(self.attachment_path(safe_name))


def _unlink(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False

"""Raw mail and attachments on disk, addressed by content: ``raw/ab/<sha256>`` and
``attachments/ab/<generated safe name>``. Writing the same bytes twice is a no-op,
so a batch can write them before its commit and again after a crash."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from inbox_agent.adapters.tinydb_docs import StoreError, atomic_write


class ContentAddressedFiles:
    raw_dir: Path
    attachments_dir: Path

    def blob_path(self, sha256: str) -> Path:
        return self.raw_dir / sha256[:2] / sha256

    def put_blob(self, data: bytes) -> str:
        """Content-addressed: writing the same bytes twice is a no-op."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.blob_path(sha)
        if not path.exists():
            atomic_write(path, data)
        return sha

    def get_blob(self, sha256: str) -> bytes:
        return self.blob_path(sha256).read_bytes()

    def put_attachment(self, safe_name: str, payload: bytes) -> Path:
        """Stored only under the generated safe name; the customer's name is data."""
        if "/" in safe_name or "\\" in safe_name or safe_name.startswith(".") or not safe_name:
            raise StoreError(f"unsafe attachment name {safe_name!r}")
        path = self.attachments_dir / safe_name[:2] / safe_name
        if path.resolve().parent != (self.attachments_dir / safe_name[:2]).resolve():
            raise StoreError(f"unsafe attachment name {safe_name!r}")
        if not path.exists():
            atomic_write(path, payload)
        return path

    def delete_blob(self, sha256: str) -> bool:
        return _unlink(self.blob_path(sha256))

    def delete_attachment(self, safe_name: str) -> bool:
        return _unlink(self.attachments_dir / safe_name[:2] / safe_name)


def _unlink(path: Path) -> bool:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False

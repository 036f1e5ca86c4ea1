"""Durable file writes shared by the store and the directory transport."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, mid_write: Callable[[], None] | None = None) -> None:
    """``path`` holds either the old or the new content, never a mix, even after a
    crash or power loss. The file is created 0600 (mkstemp); ``mid_write`` runs after
    the bytes are written and before they are synced (the store's crash point)."""
    # Dot-prefixed temp name in the same folder: os.replace stays on one file system,
    # and whoever collects the folder's files never picks up a half-written one.
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            if mid_write is not None:
                mid_write()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

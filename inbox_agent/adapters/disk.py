"""What the data directory's disk says: room left, and whether we may write there.

`status` reads this itself, because a full disk or a read-only data directory is
exactly when the daemon cannot record its own error."""

from __future__ import annotations

import errno
import os
from pathlib import Path

LOW_SPACE = 16 * 1024 * 1024  # below this a batch of mail may not fit


def storage_state(root: Path) -> str:
    """ "ok (N MB free)", "disk full: ...", "permission denied: ..." or "missing"."""
    if not root.exists():
        return "missing (nothing stored yet)"
    try:
        stat = os.statvfs(root)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    free = stat.f_bavail * stat.f_frsize
    if not os.access(root, os.W_OK | os.X_OK):
        what = "read-only file system" if stat.f_flag & os.ST_RDONLY else os.strerror(errno.EACCES)
        return f"permission denied: {root} is not writable ({what})"
    if free < LOW_SPACE:
        return f"disk full: {free // 1024} KB free on {root}"
    return f"ok ({free // (1024 * 1024)} MB free)"

"""What the data directory's disk says: room left, whether we may write there, and
whether its file system keeps a journal.

`status` reads this itself, because a full disk or a read-only data directory is
exactly when the daemon cannot record its own error."""

from __future__ import annotations

import errno
import os
from pathlib import Path

LOW_SPACE = 16 * 1024 * 1024  # below this a batch of mail may not fit
# How storage_state begins when nothing can be stored there (`check` fails on these).
UNUSABLE_STORAGE = ("cannot be read", "permission denied", "disk full")


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


# The ext family, whose journal (jbd2) shows under /proc/fs/jbd2 as "<device>-<inode>".
_EXT = ("ext2", "ext3", "ext4")
UNJOURNALED_ADVICE = (
    "a power cut can leave it for fsck, and after deletions each new file can cost "
    "0.3-0.6 ms of kernel CPU instead of ~0.02; use a journaled file system (README, Running it for real)"
)


def unjournaled_file_system(
    root: Path,
    mountinfo: Path = Path("/proc/self/mountinfo"),
    devices: Path = Path("/sys/dev/block"),
    journals: Path = Path("/proc/fs/jbd2"),
) -> str | None:
    """The file system type when ``root`` lies on ext2/3/4 with no journal running, else
    None (journaled, another file system, or nothing to read it from: not Linux).

    The crash guarantees rest on a renamed file surviving a power cut whole, which a
    journal provides; and without one ext4 will not reuse an inode freed in the last
    minutes, checking each such inode on every allocation (docs/MEASUREMENTS.md, issue 16's ninth round)."""
    try:
        lines = mountinfo.read_text(encoding="utf-8", errors="replace").splitlines()
        where = str(root.resolve())
    except OSError:
        return None
    mount = _mount_of(where, lines)
    if mount is None or mount[1] not in _EXT:
        return None
    try:
        device = Path(os.readlink(devices / mount[0])).name
        running = [entry.name for entry in journals.iterdir()] if journals.is_dir() else []
    except OSError:
        return None
    return None if any(name.startswith(f"{device}-") for name in running) else mount[1]


def _mount_of(path: str, lines: list[str]) -> tuple[str, str] | None:
    """(major:minor, file system type) of the mount holding ``path``: the longest mount
    point that contains it, from /proc/self/mountinfo (proc(5))."""
    best: tuple[int, str, str] | None = None
    for line in lines:
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), fields[2], fields[fields.index("-") + 1])
    return None if best is None else (best[1], best[2])

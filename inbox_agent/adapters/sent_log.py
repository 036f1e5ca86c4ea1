"""The accepted-mail log: outbox ids the SMTP server accepted, written the moment it
says 250, before the batch's "sent" marks are committed.

After a crash in between, delivery reads it and marks those mails sent instead of
sending them again: the only duplicate window left is between the 250 and this
append.

When is a line durable? Each line is written (``pwrite``) the moment the server
answers 250, so a process that dies after that (SIGKILL, OOM, a crash) leaves it in
the kernel and on disk: after a restart the mail is marked sent, not sent again.
``[smtp] accepted_log_sync`` says when it is also *synced* (fsync), which only
matters for a power cut or a kernel crash: ``"batch"`` (the default) syncs once per
SMTP batch, before the batch's results are committed — a power cut in the middle of
a batch can then cost the customers of that batch a second acknowledgement;
``"each"`` syncs every line before the next mail is handed to the server (one
fsync per mail: at a few milliseconds each on a busy disk, a fifth of the cycle).

A full disk must not open a second window. So before a batch is handed to the
server, ``reserve`` allocates the space its lines will take (``posix_fallocate``):
when that fails nothing is sent, and once it succeeded an append writes into space
the file already owns. An append that fails all the same (an I/O error) keeps the id
in memory: ``read`` still reports it, so delivery marks it sent and never hands it
to the server again while this process lives (services/delivery.py).

Format: a header line, then one ``<outbox id> <crc32>`` line per accepted mail, then
the reserved NUL bytes. A file without the header, or a line that fails its check,
is refused with the file's name.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import zlib
from pathlib import Path

from inbox_agent.adapters.files import write_atomically
from inbox_agent.adapters.sealed import StoreDamaged
from inbox_agent.services.crash_points import write_point

FILE_MODE = 0o600
HEADER = b"inbox-agent accepted-mail log 1\n"
LINE_ROOM = 200  # bytes reserved per mail: an outbox id is under 120 characters
ADVICE = (
    "the mails it lists were accepted by the SMTP server; delete the file to go on "
    "(those mails may then be sent once more), or restore it from a backup"
)

log = logging.getLogger("inbox_agent.adapters.sent_log")


class SentLog:
    """Append-only list of outbox ids the server accepted but not yet marked sent.

    Only the daemon's delivery writes it (under the daemon lock), so where the next
    line goes is kept in memory between ``reserve`` and ``clear``: an append is one
    ``pwrite``, not a read of the whole file.
    """

    def __init__(self, path: Path, *, sync_each: bool = False) -> None:
        self.path = path
        self.sync_each = sync_each  # fsync every line (else once per batch: ``sync``)
        self._unrecorded: set[str] = set()  # accepted, but not yet written and synced
        self._unsynced: list[str] = []  # written, waiting for the batch's sync
        self._end: int | None = None  # where the next line goes (None: read the file)

    def read(self) -> set[str]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return set(self._unrecorded)
        return parse(self.path, raw) | self._unrecorded

    def reserve(self, count: int) -> None:
        """Own the space for ``count`` more lines, or raise (OSError) and send nothing."""
        write_point("sent_log_reserve")
        if not self.path.exists():
            # Created whole (header included) by rename: never an empty file.
            write_atomically(self.path, HEADER)
            self._end = None
        fd = os.open(self.path, os.O_RDWR)
        try:
            end = _data_end(self.path, fd)
            os.posix_fallocate(fd, end, max(1, count) * LINE_ROOM)
            os.fsync(fd)
            self._end = end
        finally:
            os.close(fd)

    def append(self, outbox_id: str) -> None:
        """Record one accepted id; a failure is logged and the id kept in memory."""
        self._unrecorded.add(outbox_id)
        try:
            write_point("sent_log_append")
            self._write_line(outbox_id)
        except OSError as exc:
            self._end = None  # where the file ends is not known any more: read it again
            log.error(
                "mail %s was accepted by the SMTP server but %s could not record it (%s); "
                "it is held in memory and will not be sent again",
                outbox_id,
                self.path,
                exc.strerror or exc,
            )
            return
        if self.sync_each:
            self._unrecorded.discard(outbox_id)
        else:
            self._unsynced.append(outbox_id)

    def sync(self) -> None:
        """Make the lines written since the last sync durable (``"batch"`` mode: once per
        SMTP batch, before its results are committed). A sync that fails keeps those ids
        in memory, like a failed append."""
        if not self._unsynced:
            return
        try:
            fd = os.open(self.path, os.O_RDWR)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.error(
                "%s could not be synced (%s); the %d mails it lists are held in memory "
                "and will not be sent again",
                self.path,
                exc.strerror or exc,
                len(self._unsynced),
            )
            return
        self._unrecorded.difference_update(self._unsynced)
        self._unsynced.clear()

    @property
    def unrecorded(self) -> set[str]:
        """Accepted ids not known to be on disk yet (a failed append, or not synced)."""
        return self._unrecorded - set(self._unsynced)

    def _write_line(self, outbox_id: str) -> None:
        line = f"{outbox_id} {zlib.crc32(outbox_id.encode()):08x}\n".encode()
        if not self.path.exists():
            write_atomically(self.path, HEADER)
            self._end = None
        fd = os.open(self.path, os.O_RDWR)
        try:
            end = self._end if self._end is not None else _data_end(self.path, fd)
            # Into the reserved (NUL) space when there is some: no new block is needed.
            written = os.pwrite(fd, line, end)
            self._end = end + written if written == len(line) else None
            if written != len(line):
                raise OSError(errno.EIO, f"short write ({written} of {len(line)} bytes)")
            if self.sync_each:
                os.fsync(fd)
        finally:
            os.close(fd)

    def clear(self) -> None:
        """After the "sent" marks are committed: nothing is pending any more.

        The file is cut back to its header, not removed: the next batch's ``reserve``
        then costs one sync instead of creating the file again (temp file, sync,
        rename, folder sync) in front of every send. Like a removal this is not
        synced: if a crash undoes it, the lines are ids already marked sent, which
        are in no outbox entry any more and are ignored."""
        with contextlib.suppress(FileNotFoundError):
            os.truncate(self.path, len(HEADER))
        self._end = None
        self._unrecorded.clear()
        self._unsynced.clear()


def _data_end(path: Path, fd: int) -> int:
    """Where the next line goes: after the last line, before the reserved NULs."""
    data = os.pread(fd, os.fstat(fd).st_size, 0)
    parse(path, data)
    return len(data.rstrip(b"\0"))


def parse(path: Path, raw: bytes) -> set[str]:
    """The ids of a whole log; StoreDamaged naming the file otherwise."""
    if not raw.startswith(HEADER):
        what = "the file is empty (0 bytes)" if not raw else "no accepted-mail log header"
        raise StoreDamaged(path, what, ADVICE)
    body = raw[len(HEADER) :].rstrip(b"\0")
    if body and not body.endswith(b"\n"):
        raise StoreDamaged(path, "its last line is cut short (a torn write)", ADVICE)
    ids: set[str] = set()
    for number, line in enumerate(body.split(b"\n")[:-1], start=2):
        outbox_id, _, crc = line.decode("utf-8", "replace").rpartition(" ")
        if not outbox_id or f"{zlib.crc32(outbox_id.encode()):08x}" != crc:
            raise StoreDamaged(path, f"line {number} fails its check (altered or bit-flipped)", ADVICE)
        ids.add(outbox_id)
    return ids

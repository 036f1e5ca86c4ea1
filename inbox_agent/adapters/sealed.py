"""Sealed store files: every JSON file the store writes proves it is whole.

A sealed file is one header line and the JSON body::

    {"inbox_agent_store": 2, "file": "cases/000000.json", "generation": 17,
     "length": 48213, "sha256": "…"}\\n
    {"cases": {…}, "messages": {…}}

The checksum covers the file's own name, its generation and the body, so an empty
file, ``{}``, a truncated copy, a flipped bit, a shard copied over another one, or a
file of another program is refused with its name — never read as an empty store.
The generation is the commit that wrote the file; ``state.json`` lists the
generation of every shard (``adapters.tinydb_store``), so a stale copy is refused too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMAT = "inbox_agent_store"
FORMAT_VERSION = 2
_MAX_HEADER = 4096

RESTORE_ADVICE = (
    "stop the daemon, run `inbox-agent verify`, then restore the data directory from a backup "
    "(`inbox-agent restore BACKUP`, README 'Backup and restore')"
)


class StoreError(Exception):
    """The store cannot do what was asked (locked, unsafe name, clash)."""


class StoreDamaged(StoreError):
    """A store file is missing, empty, truncated, altered or foreign: refuse, never guess."""

    def __init__(self, path: Path | str, what: str, advice: str = RESTORE_ADVICE) -> None:
        self.path = str(path)
        self.what = what
        super().__init__(f"store file {path} is damaged: {what}; {advice}")


def _digest(relative: str, generation: int, body: bytes) -> str:
    sha = hashlib.sha256(f"{relative}\n{generation}\n".encode())
    sha.update(body)
    return sha.hexdigest()


def seal(relative: str, generation: int, data: Any, encode: Callable[[Any], bytes] | None = None) -> bytes:
    """The bytes of a sealed file holding ``data`` (JSON) as ``relative`` at ``generation``.
    ``encode`` gives the same body faster where it can (``adapters.table_encoding``)."""
    body = encode(data) if encode else json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    header = {
        FORMAT: FORMAT_VERSION,
        "file": relative,
        "generation": generation,
        "length": len(body),
        "sha256": _digest(relative, generation, body),
    }
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + body


def unseal(path: Path, relative: str, raw: bytes) -> tuple[int, Any]:
    """(generation, data) of a sealed file's bytes; StoreDamaged naming ``path`` otherwise."""
    if not raw:
        raise StoreDamaged(path, "the file is empty (0 bytes)")
    line, newline, body = raw.partition(b"\n")
    if not newline and _is_unsealed_store_file(raw):
        raise StoreDamaged(
            path,
            "it has no integrity header: written by inbox-agent 0.1 (store schema 1)",
            "this version reads only sealed stores; run it on a new storage.data_dir, or keep 0.1 for this one",
        )
    header = _header(path, line if newline and len(line) <= _MAX_HEADER else b"")
    if header.get("file") != relative:
        raise StoreDamaged(path, f"it is the store file {header.get('file')!r}, not {relative!r}")
    generation = header.get("generation")
    if not isinstance(generation, int) or generation < 0:
        raise StoreDamaged(path, "its header has no valid generation")
    if header.get("length") != len(body):
        raise StoreDamaged(
            path, f"truncated or extended: {len(body)} bytes, the header says {header.get('length')}"
        )
    if header.get("sha256") != _digest(relative, generation, body):
        raise StoreDamaged(path, "its checksum does not match its content (altered or bit-flipped)")
    try:
        return generation, json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # checksum right, content not JSON
        raise StoreDamaged(path, f"not readable JSON ({exc})") from exc


def _is_unsealed_store_file(raw: bytes) -> bool:
    """A whole TinyDB file of the 0.1 store: {"meta": ...} or {"cases": ..., "messages": ...}."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return (
        isinstance(data, dict)
        and bool(data)
        and set(data)
        <= {"meta", "cases", "messages", "outbox", "quarantine", "checkpoints", "counters", "status"}
    )


def _header(path: Path, line: bytes) -> dict[str, Any]:
    try:
        header = json.loads(line) if line else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or FORMAT not in header:
        raise StoreDamaged(path, "no store header (not a file this store wrote, or its start is damaged)")
    if header[FORMAT] != FORMAT_VERSION:
        raise StoreDamaged(
            path,
            f"store format {header[FORMAT]!r}, this version reads {FORMAT_VERSION}",
            "use the inbox-agent version that wrote it",
        )
    return header


def read_sealed(path: Path, relative: str) -> tuple[int, Any]:
    """Read and check one sealed file; a missing file is damage too (the caller knows it exists)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StoreDamaged(path, "the file is missing") from None
    return unseal(path, relative, raw)

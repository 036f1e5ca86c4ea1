"""The store as the long-lived web process reads it, beside a running daemon.

``Store`` already re-reads a shard whose file changed (its cache is keyed by inode,
mtime and size) and rebuilds its index when a writer's lock sees another commit. The
web app also needs every case at once for its queue, many times a second: this
subclass keeps each shard's cases (and the text the search looks in) keyed by the
generation ``state.json`` lists for the shard and by the file's stamp, so a request
re-reads only the shards the daemon rewrote since the last one, and a shard damaged,
replaced or lost since (with no commit) is read again and refused at once, not shown
from memory. It changes nothing: every write still goes through the unit of work.
"""

from __future__ import annotations

from pathlib import Path

from inbox_agent.adapters.store_reads import Stamp
from inbox_agent.adapters.tinydb_docs import case_from_doc
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.services.web_ports import SearchableCase


class FreshStore(Store):
    # Staff open cases anywhere in the store: with the daemon's 4 parsed shards, a case
    # page picked at random among 10,000 cases had p95 158 ms (27.7 ms with 16), each
    # miss parsing a shard of 500 cases. The web process can spend the memory.
    shard_cache_size = 16
    _snapshots: dict[str, tuple[tuple[int, Stamp | None], list[SearchableCase]]]

    def generation(self) -> int:
        """The last committed generation on disk (a cheap read: state.json is cached by stamp)."""
        return self._generation_on_disk()

    def searchable_shards(self) -> list[tuple[str, int, list[SearchableCase]]]:
        """(shard name, generation, its cases) for every case shard, re-read only when
        the generation state.json lists for it moved or the file changed (a stat each)."""
        snapshots = self.__dict__.setdefault("_snapshots", {})
        manifest = self.manifest()
        found = []
        for path in self.shard_files("[0-9]*.json"):
            name = self.relative(path)
            key = (manifest.get(name, -1), _stamp(path))
            cached = snapshots.get(name)
            if cached is None or cached[0] != key:
                cached = (key, self._shard_snapshot(path))
                snapshots[name] = cached
            found.append((name, key[0], cached[1]))
        return found

    def _shard_snapshot(self, path: Path) -> list[SearchableCase]:
        data = self._read_json(path, cache=False)
        texts: dict[str, list[str]] = {}
        for doc in data.get("messages", {}).values():
            texts.setdefault(doc["case_id"], []).append(doc.get("text", ""))
        result = []
        for doc in data.get("cases", {}).values():
            case = case_from_doc(doc)
            evidence = " ".join(value for _key, value in case.evidence)
            words = " ".join(
                (
                    case.case_id,
                    case.customer,
                    case.customer_name,
                    case.subject,
                    evidence,
                    *texts.get(case.case_id, ()),
                )
            )
            result.append(SearchableCase(case=case, text=words.lower()))
        return result

    def attachment_bytes(self, safe_name: str) -> bytes:
        return self.attachment_path(safe_name).read_bytes()


def _stamp(path: Path) -> Stamp | None:
    """(inode, mtime, size) of a file, None when it is gone: files are only ever
    replaced by rename, so any write or damage changes it."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

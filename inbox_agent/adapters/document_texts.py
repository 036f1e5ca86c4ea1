"""The JSON text of a store file, reusing the text of the documents it wrote before.

A commit rewrites a shard whole but changes only a few of its documents: a batch of
100 mails rewrote shards of up to 500 cases, so encoding unchanged documents again was
the largest single item of a commit (0.5 ms per mail on the project's benchmark).

Store documents are only ever replaced, never edited in place
(``StoreReads._read_for_commit``), so a document object encoded before still has the
same text. Texts are found by the object's identity; each entry keeps its object
alive, so an identity is never reused by another object while its text is kept. The
text written is byte for byte what ``json.dumps(data, ensure_ascii=False,
separators=(",", ":"))`` writes (a property test holds it to that).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class DocumentTexts:
    """The text of each document of one file as last written."""

    def __init__(self) -> None:
        # id(document) -> (document, its id in its table, '"id":{...}')
        self._texts: dict[int, tuple[object, str, str]] = {}

    def encode(self, data: dict[str, Any]) -> str:
        """``data`` ({table: {doc_id: document}}) as JSON; remembers only the documents
        written now, so texts of replaced or removed documents are let go."""
        known = self._texts
        kept: dict[int, tuple[object, str, str]] = {}
        tables = []
        for table, rows in data.items():
            if not isinstance(rows, dict):
                return self._whole(data)
            documents = []
            for doc_id, document in rows.items():
                entry = known.get(id(document))
                if entry is None or entry[0] is not document or entry[1] != doc_id:
                    if type(doc_id) is not str:
                        return self._whole(data)
                    entry = (document, doc_id, f"{encode_json(doc_id)}:{encode_json(document)}")
                kept[id(document)] = entry
                documents.append(entry[2])
            tables.append(f"{encode_json(table)}:{{{','.join(documents)}}}")
        self._texts = kept
        return f"{{{','.join(tables)}}}"

    def _whole(self, data: dict[str, Any]) -> str:
        """Not the store's shape (a table that is not a map, a key that is not text):
        encoded whole, the same text ``json.dumps`` writes, and nothing kept."""
        self._texts = {}
        return encode_json(data)


class RecentFileTexts:
    """``DocumentTexts`` for the few files written most recently (the shards in use and
    ``state.json``), least recently written dropped first: memory stays bounded by
    about the size of those files."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._files: OrderedDict[str, DocumentTexts] = OrderedDict()

    def of(self, relative: str) -> DocumentTexts:
        texts = self._files.pop(relative, None) or DocumentTexts()
        self._files[relative] = texts
        while len(self._files) > self.size:
            self._files.popitem(last=False)
        return texts

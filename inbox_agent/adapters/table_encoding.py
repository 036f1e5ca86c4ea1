"""The JSON of the store's files, encoding each document once.

A commit writes its journal, then rewrites every shard it touches whole
(``adapters.store_journal``). Encoding was the largest single cost of a commit: a
batch of 100 new cases re-encoded the few hundred cases already in the newest shard,
twice per batch (the intake, then the send results), and encoded its own documents
twice (journal, shard). Documents are only ever replaced in a table, never edited in
place (the store's rule, ``StoreReads._read_for_commit``), so a document object
encoded once keeps its encoding: it is reused, found by identity.

- ``DocumentTexts``: one commit's encodings, shared by its journal and its files;
- ``encode_journal``: the journal record, each document through ``DocumentTexts``;
- ``TablesEncoder``: one file's ``{table: {doc_id: doc}}``, remembering the text of
  each document from one commit to the next.

The bytes are exactly ``json.dumps(data, ensure_ascii=False, separators=(",", ":"))``
(``tests/test_table_encoding.py`` checks them after every commit), so the file
format, its checksum and every reader are unchanged.
"""

from __future__ import annotations

import json
from typing import Any

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class DocumentTexts:
    """The encoding of each document of one commit, by identity. The documents are
    held, so no other object can take an identity while its text is remembered."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[object, bytes]] = {}

    def text(self, doc: Any) -> bytes:
        known = self._texts.get(id(doc))
        if known is not None and known[0] is doc:
            return known[1]
        text = _encode(doc).encode()
        if isinstance(doc, dict):  # only documents are shared: scalars are cheap
            self._texts[id(doc)] = (doc, text)
        return text


def encode_journal(record: dict[str, Any], texts: DocumentTexts) -> bytes:
    """``{"generation": …, "operations": [{…, "doc": …}, …]}`` with each operation's
    document encoded through ``texts``, for the files written next to reuse."""
    if set(record) != {"generation", "operations"} or not isinstance(record["operations"], list):
        return _encode(record).encode()
    operations = []
    for op in record["operations"]:
        if not isinstance(op, dict) or len(op) < 2 or list(op)[-1] != "doc":
            return _encode(record).encode()
        head = _encode({key: value for key, value in op.items() if key != "doc"}).encode()
        # head is '{…}' with at least the file and table: the document goes before '}'.
        operations.append(head[:-1] + b',"doc":' + texts.text(op["doc"]) + b"}")
    return b'{"generation":%s,"operations":[%s]}' % (
        _encode(record["generation"]).encode(),
        b",".join(operations),
    )


class TablesEncoder:
    """Encodes one file's ``{table: {doc_id: doc}}``, remembering each document's text
    until the next call: the memory held is one encoding of the file."""

    def __init__(self) -> None:
        # (table, doc_id) -> (the document, b'"doc_id":{…}'). The document is held so
        # its identity cannot be taken by another object while it is remembered.
        self._texts: dict[tuple[str, str], tuple[object, bytes]] = {}

    def encode(self, data: dict[str, Any], texts: DocumentTexts | None = None) -> bytes:
        """``texts``: documents this commit has encoded already (its journal)."""
        remembered = self._texts
        kept: dict[tuple[str, str], tuple[object, bytes]] = {}
        tables: list[bytes] = []
        for table, rows in data.items():
            if not isinstance(table, str) or not _is_string_keyed(rows):
                return _encode(data).encode()  # not a table map: no shortcut
            parts: list[bytes] = []
            for doc_id, doc in rows.items():
                slot = (table, doc_id)
                known = remembered.get(slot)
                if known is not None and known[0] is doc:
                    text = known[1]
                else:
                    doc_text = texts.text(doc) if texts is not None else _encode(doc).encode()
                    text = _encode(doc_id).encode() + b":" + doc_text
                kept[slot] = (doc, text)
                parts.append(text)
            tables.append(b"%s:{%s}" % (_encode(table).encode(), b",".join(parts)))
        self._texts = kept
        return b"{%s}" % b",".join(tables)


def _is_string_keyed(rows: object) -> bool:
    return isinstance(rows, dict) and all(isinstance(key, str) for key in rows)

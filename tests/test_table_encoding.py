"""The store's JSON, each document encoded once (adapters/table_encoding.py): the bytes
must be exactly what ``json.dumps`` gives, commit after commit, or the checksums and
every reader of the files would see something else."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.adapters.sealed import unseal
from inbox_agent.adapters.table_encoding import DocumentTexts, TablesEncoder, encode_journal
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.domain.lifecycle import case_id_for
from inbox_agent.domain.model import MessageRecord
from inbox_agent.services.ports import Changes
from tests.test_store import _case, _commit_cases, _message


def _reply(seq: int, round_: int) -> MessageRecord:
    return replace(_message(seq), key=f"<r{seq}.{round_}@example.com>|{round_:064x}", text=f"reply {round_}")


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_docs = st.dictionaries(st.text(max_size=6), _values, max_size=4)
# One step on a table map: put a new document object at (table, doc_id), or remove one.
_steps = st.lists(
    st.tuples(
        st.sampled_from(["cases", "messages", "表"]),
        st.sampled_from(["1", "2", "3", "键"]),
        _docs | st.none(),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(_steps)
def test_a_file_is_encoded_as_json_dumps_encodes_it_after_every_change(steps: list) -> None:
    encoder = TablesEncoder()
    data: dict[str, dict[str, Any]] = {}
    for table, doc_id, doc in steps:
        rows = data.setdefault(table, {})
        if doc is None:
            rows.pop(doc_id, None)
        else:
            rows[doc_id] = dict(doc)  # always a new object, as the store replaces documents
        assert encoder.encode(data) == _dumps(data)


def test_a_document_replaced_by_an_equal_looking_one_is_encoded_anew() -> None:
    """The text is remembered by the document's identity, never by its place."""
    encoder = TablesEncoder()
    data = {"cases": {"1": {"status": "open"}}}
    encoder.encode(data)
    data["cases"]["1"] = {"status": "resolved"}
    assert json.loads(encoder.encode(data))["cases"]["1"]["status"] == "resolved"


def test_what_is_not_a_table_map_is_encoded_whole() -> None:
    for data in ({"meta": [1, 2]}, {"meta": {1: {"a": 1}}}, {}):
        assert TablesEncoder().encode(data) == _dumps(data)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=8), _docs | st.none()), max_size=6))
def test_a_journal_is_json_dumps_of_its_record_and_shares_its_documents(ops: list) -> None:
    operations = [{"file": "cases/000000.json", "table": "cases", "key": key, "doc": doc} for key, doc in ops]
    record = {"generation": 7, "operations": operations}
    texts = DocumentTexts()
    assert encode_journal(record, texts) == _dumps(record)
    encoder = TablesEncoder()
    table = {str(number): op["doc"] for number, op in enumerate(operations) if op["doc"] is not None}
    assert encoder.encode({"cases": table}, texts) == _dumps({"cases": table})


def test_every_file_a_store_writes_holds_the_json_of_what_it_read_back(tmp_path: Path) -> None:
    """Commits that add cases, change them and add messages to them: every file's
    body is byte for byte the encoding of its content, and a fresh store reads it."""
    data_dir = tmp_path / "data"
    store = Store(data_dir, shard_size=4)
    _commit_cases(store, range(1, 7))
    for round_ in range(3):
        changes = Changes()
        for seq in (2, 5):
            changes.put_case(replace(_case(seq), subject=f"changed {round_}"))
            changes.messages.append(_reply(seq, round_))
        changes.outbox[f"o{round_}"] = {"to": "a@example", "round": round_}
        store.commit(changes)
        for path in [data_dir / "state.json", *sorted((data_dir / "cases").glob("*.json"))]:
            relative = path.relative_to(data_dir).as_posix()
            raw = path.read_bytes()
            _, content = unseal(path, relative, raw)
            assert raw.partition(b"\n")[2] == _dumps(content), relative
    reopened = Store(data_dir, shard_size=4, read_only=True)
    assert reopened.get_case(case_id_for(5, 2026)).subject == "changed 2"
    assert len(reopened.case_messages(case_id_for(2, 2026))) == 4

"""A commit encodes only the documents it changed, and writes the same bytes as a
plain ``json.dumps`` of the file would (adapters/document_texts.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.adapters.document_texts import DocumentTexts, RecentFileTexts
from inbox_agent.adapters.sealed import unseal
from inbox_agent.adapters.tinydb_store import Store
from inbox_agent.services.ports import Changes
from tests.test_store import _case, _message

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_documents = st.dictionaries(st.text(max_size=6), _values, max_size=4)
_files = st.dictionaries(
    st.text(max_size=6), st.dictionaries(st.text(max_size=6), _documents, max_size=5), max_size=3
)


def _plain(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=300)
@given(first=_files, second=_files, kept=st.lists(st.booleans(), max_size=20))
def test_the_text_is_json_dumps_of_the_file_through_replacements(
    first: dict[str, Any], second: dict[str, Any], kept: list[bool]
) -> None:
    texts = DocumentTexts()
    assert texts.encode(first) == _plain(first)
    # The next version keeps some document objects of the first (unchanged documents),
    # replaces the rest by the second's, and adds or drops tables: as a commit does.
    flags = iter(kept)
    mixed = {
        table: {
            doc_id: (doc if next(flags, True) else second.get(table, {}).get(doc_id, {"new": doc_id}))
            for doc_id, doc in rows.items()
        }
        for table, rows in first.items()
    }
    mixed.update({table: rows for table, rows in second.items() if table not in mixed})
    assert texts.encode(mixed) == _plain(mixed)
    assert texts.encode(mixed) == _plain(mixed)  # from the texts alone


def test_a_file_not_in_the_store_shape_is_encoded_whole() -> None:
    texts = DocumentTexts()
    for odd in ({"meta": [1, 2]}, {"meta": {1: {"a": 1}}}, {}):
        assert texts.encode(odd) == _plain(odd)


def test_a_document_is_encoded_again_only_when_it_is_replaced(monkeypatch: Any) -> None:
    from inbox_agent.adapters import document_texts

    encoded: list[Any] = []
    real = document_texts.encode_json
    monkeypatch.setattr(document_texts, "encode_json", lambda value: (encoded.append(value), real(value))[1])
    texts = DocumentTexts()
    one, two = {"case_id": "1", "n": 1}, {"case_id": "2", "n": 2}
    texts.encode({"cases": {"1": one, "2": two}})
    encoded.clear()
    three = {"case_id": "2", "n": 3}
    assert texts.encode({"cases": {"1": one, "2": three}}) == _plain({"cases": {"1": one, "2": three}})
    assert [value for value in encoded if isinstance(value, dict)] == [three]


def test_only_the_most_recently_written_files_keep_their_texts() -> None:
    recent = RecentFileTexts(2)
    a = recent.of("a.json")
    recent.of("b.json")
    assert recent.of("a.json") is a
    recent.of("c.json")  # b.json, written least recently, is let go
    assert recent.of("a.json") is a
    assert recent.of("b.json") is not recent.of("c.json")


def test_every_file_a_run_of_commits_writes_is_the_plain_json_of_its_tables(tmp_path: Path) -> None:
    store = Store(tmp_path / "data", shard_size=3)
    cases = {}
    for seq in range(1, 9):  # three shards; each commit adds one case and changes an earlier one
        cases[seq] = _case(seq)
        if seq > 1:
            cases[seq - 1] = replace(cases[seq - 1], subject=f"changed {seq}")
        changes = Changes(next_case_seq=seq + 1)
        for case in {cases[seq], cases.get(seq - 1, cases[seq])}:
            changes.put_case(case)
        changes.messages.append(_message(seq))
        changes.counters[f"sender{seq % 2}"] = {"times": [str(seq)]}
        store.commit(changes)
        for path in [store.state_path, *sorted(store.cases_dir.glob("*.json"))]:
            raw = path.read_bytes()
            _, data = unseal(path, store.relative(path), raw)
            assert raw.partition(b"\n")[2] == _plain(data).encode(), path
    reopened = Store(tmp_path / "data", shard_size=3)
    assert [reopened.get_case(c.case_id) for c in cases.values()] == list(cases.values())

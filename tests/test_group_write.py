"""A batch's blobs are written as a group (adapters/files.py): every file whole under
its name or absent, and nothing else left in the folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from inbox_agent.adapters.files import write_group_atomically


def test_every_file_is_whole_private_and_alone(tmp_path: Path) -> None:
    items = [(tmp_path / f"{n:03d}", os.urandom(n * 97)) for n in range(300)]  # more than one group
    write_group_atomically(items)
    assert sorted(os.listdir(tmp_path)) == [path.name for path, _ in items]
    for path, data in items:
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_name_already_taken_is_left_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "same").write_bytes(b"stored before")
    write_group_atomically([(tmp_path / "same", b"stored before"), (tmp_path / "new", b"n")])
    assert (tmp_path / "same").read_bytes() == b"stored before"
    assert (tmp_path / "new").read_bytes() == b"n"


def test_a_failure_while_writing_leaves_no_file_and_no_temp_file(tmp_path: Path) -> None:
    written = 0

    def disk_full() -> None:
        nonlocal written
        written += 1
        if written == 3:
            raise OSError(28, "No space left on device")

    items = [(tmp_path / f"f{n}", b"x" * 1000) for n in range(5)]
    with pytest.raises(OSError):
        write_group_atomically(items, mid_write=disk_full)
    assert os.listdir(tmp_path) == []
